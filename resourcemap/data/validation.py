"""The questions checking an organization document asks of the database: the codes it may name, where a point
lies, which settlement is near it, whether a drawn area is valid (registry/validate.py, registry/write.py)."""
from __future__ import annotations

from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class SettlementRow(TypedDict):
    """A settlement as a location needs it: its id, region and timezone."""

    id: int
    region_code: str
    timezone: str


_TAXONOMY_CODES = text("SELECT code FROM taxonomy_term")
_REGION_CODES = text("SELECT code FROM region")
_REGION_NAME = text("SELECT name_ru FROM region WHERE code = :c")
_REGION_TIMEZONE = text("SELECT timezone FROM region WHERE code = :c")
_SETTLEMENT = text("SELECT id, region_code, timezone FROM settlement WHERE id = :id")
# rm_region_at (migration 0003): the region_part holding the point, else the nearest within the tolerance.
_REGION_OF_POINT = text("SELECT rm_region_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 20000)")
# The settlement's KNN index on geog (<->) orders the candidates within the radius.
_SETTLEMENT_NEAR = text("""
SELECT s.id, s.region_code, s.timezone FROM settlement s
WHERE ST_DWithin(s.geog, CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography), :radius_m)
ORDER BY (CAST(:name AS text) IS NOT NULL AND rm_name_norm(s.name_ru) = rm_name_norm(CAST(:name AS text))) DESC,
         s.geog <-> CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)
LIMIT 1
""")
_AREA_IS_VALID = text("SELECT ST_IsValid(ST_GeomFromGeoJSON(:g))")
_AREA_AS_STORED = text("SELECT ST_AsGeoJSON(CAST(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) AS geography))")


def taxonomy_codes(session: Session) -> set[str]:
    """The codes of the kinds of help."""
    return set(session.execute(_TAXONOMY_CODES).scalars())


def region_codes(session: Session) -> set[str]:
    """The codes of the regions."""
    return set(session.execute(_REGION_CODES).scalars())


def region_name(session: Session, code: str) -> str | None:
    """A region's Russian name."""
    return session.execute(_REGION_NAME, {"c": code}).scalar()


def region_timezone(session: Session, code: str) -> str | None:
    """A region's timezone."""
    return session.execute(_REGION_TIMEZONE, {"c": code}).scalar()


def settlement(session: Session, settlement_id: int) -> SettlementRow | None:
    """One settlement by id, None when there is none."""
    row = session.execute(_SETTLEMENT, {"id": settlement_id}).mappings().first()
    return SettlementRow(**row) if row else None


def region_of_point(session: Session, lat: float, lon: float) -> str | None:
    """The region holding the point (or within 20 km of it, for simplified coasts and borders), else None."""
    return session.execute(_REGION_OF_POINT, {"lat": lat, "lon": lon}).scalar()


def settlement_near(session: Session, lat: float, lon: float, name: str | None = None,
                    radius_m: float = 30000) -> SettlementRow | None:
    """The settlement called `name` nearest the point, else the nearest settlement, within radius_m."""
    row = session.execute(_SETTLEMENT_NEAR, {"lat": lat, "lon": lon, "name": name, "radius_m": radius_m}
                          ).mappings().first()
    return SettlementRow(**row) if row else None


def area_is_valid(session: Session, geojson: str) -> bool:
    """Whether PostGIS reads the GeoJSON as a valid geometry (False when it cannot read it at all)."""
    try:
        with session.begin_nested():
            return bool(session.execute(_AREA_IS_VALID, {"g": geojson}).scalar())
    except DBAPIError:
        return False


def area_as_stored(session: Session, geojson: str) -> str:
    """A drawn area's GeoJSON as PostGIS writes it back once stored (to compare with what is stored)."""
    return session.execute(_AREA_AS_STORED, {"g": geojson}).scalar()
