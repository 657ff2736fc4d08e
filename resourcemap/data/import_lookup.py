"""What the registry holds now for the rows of an import (exchange/lookup.py): entries matched by external id (or
by the id an export wrote for them), their row locks, and their stored values to compare with the file. Each
question is one set-based query over an array of keys or ids, sent as an array literal (data/arrays.py)."""
from __future__ import annotations

from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.orm import Session

from .arrays import int_array, records, text_array
from .documents import StoredServiceFields
from .writes import FIRST_PLACE, LocationFields, OrganizationFields

EXPORT_PREFIX = {"organization": "rm-o", "location": "rm-l", "service": "rm-s"}


class MatchRow(TypedDict, total=False):
    """An entry matched by `key`: `own` when the key is its own external id (else an export's rm-<letter><id>);
    services also carry organization_id, region_code (their organization's) and location_id, locations
    organization_id."""

    key: str
    own: bool
    id: int
    organization_id: int
    region_code: str
    location_id: int | None


class OrganizationState(OrganizationFields):
    """An organization as stored; `phones` its own phones as [number, kind, extension, id] text arrays."""

    id: int
    region_code: str
    phones: list[list[str]]


class LocationState(LocationFields):
    """A location as stored, with its settlement's name and its own phones (as OrganizationState's)."""

    id: int
    organization_id: int
    settlement_id: int | None
    settlement: str | None
    region_code: str
    phones: list[list[str]]


class ServiceState(StoredServiceFields):
    """A service as stored, with what its areas are."""

    organization_id: int
    radius_km: float | None
    drawn_area: bool
    region_area: bool


class RegionRow(TypedDict):
    code: str
    name_ru: str
    country: str
    timezone: str


def _match_sql(table: str, columns: str, joins: str = "") -> str:
    prefix = EXPORT_PREFIX[table]
    return f"""
WITH k AS (SELECT DISTINCT key FROM unnest(CAST(:keys AS text[])) AS k(key))
SELECT k.key, true AS own, {columns} FROM k JOIN {table} t ON t.external_id = k.key {joins}
UNION ALL
SELECT k.key, false AS own, {columns} FROM k JOIN {table} t
  ON k.key ~ '^{prefix}[0-9]{{1,9}}$' AND t.id = CAST(substr(k.key, {len(prefix) + 1}) AS int) {joins}
WHERE t.external_id IS NULL
"""


# By the unique index on external_id, or by the primary key for an export's id.
_MATCH = {
    "service": text(_match_sql(
        "service", f"t.id, t.organization_id, o.region_code, {FIRST_PLACE.format(service='t.id')} AS location_id",
        "JOIN organization o ON o.id = t.organization_id")),
    "organization": text(_match_sql("organization", "t.id, t.region_code")),
    "location": text(_match_sql("location", "t.id, t.organization_id, t.region_code")),
}
_LOCK_ORGANIZATIONS = text("SELECT id FROM organization WHERE id = ANY(CAST(:ids AS int[])) ORDER BY id FOR UPDATE")
_ORGANIZATIONS = text("""
SELECT o.id, o.external_id, o.name, o.legal_form, o.description, o.website, o.email, o.status, o.verified_at,
       o.region_code,
       coalesce((SELECT array_agg(array[p.number, p.kind, p.extension, p.id::text] ORDER BY p.id) FROM phone p
                 WHERE p.organization_id = o.id AND p.location_id IS NULL AND p.service_id IS NULL),
                '{}') AS phones
FROM organization o WHERE o.id = ANY(CAST(:ids AS int[]))
""")
# Phones are found through their organization (phone has no index on location_id).
_LOCATIONS = text("""
WITH wanted AS (SELECT l.* FROM location l WHERE l.id = ANY(CAST(:ids AS int[]))),
     phones AS (SELECT p.location_id, array_agg(array[p.number, p.kind, p.extension, p.id::text] ORDER BY p.id) AS list
                FROM phone p
                WHERE p.organization_id IN (SELECT organization_id FROM wanted) AND p.location_id IS NOT NULL
                  AND p.service_id IS NULL
                GROUP BY p.location_id)
SELECT l.id, l.organization_id, l.external_id, l.name, l.address, l.settlement_id, st.name_ru AS settlement,
       l.timezone, ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon, l.confidential, l.accessibility,
       l.active, l.region_code, coalesce(phones.list, '{}') AS phones
FROM wanted l LEFT JOIN settlement st ON st.id = l.settlement_id LEFT JOIN phones ON phones.location_id = l.id
""")
_SERVICES = text(f"""
SELECT s.id, s.organization_id, s.external_id, s.type_code AS type, s.name, s.description, s.eligibility,
       s.age_min_months, s.age_max_months, s.delivery, s.capacity_total, s.capacity_free, s.active,
       s.conditions, s.cost, s.cost_basis,
       {FIRST_PLACE.format(service="s.id")} AS location_id,
       s.hours::text AS hours,
       (SELECT min(a.radius_km) FROM service_area a WHERE a.service_id = s.id AND a.radius_km IS NOT NULL)
         AS radius_km,
       EXISTS (SELECT 1 FROM service_area a WHERE a.service_id = s.id AND a.radius_km IS NULL
               AND a.area IS NOT NULL) AS drawn_area,
       EXISTS (SELECT 1 FROM service_area a WHERE a.service_id = s.id AND a.region_code IS NOT NULL)
         AS region_area
FROM service s WHERE s.id = ANY(CAST(:ids AS int[]))
""")
_TAXONOMY = text("SELECT code, name_ru, name_en FROM taxonomy_term ORDER BY position")
_REGION = text("SELECT code, name_ru, country, timezone FROM region WHERE code = :c")
_REGION_NAMES = text("SELECT code, name_ru FROM region")


def matches(session: Session, entity: str, keys) -> list[MatchRow]:
    """The entries (service, organization or location) whose external id, or export id, is one of `keys`; a key
    may match twice (its own external id and an export id)."""
    return list(records(session.execute(_MATCH[entity], {"keys": text_array(sorted(set(keys)))})))


def lock_organizations(session: Session, ids) -> None:
    """Row locks on these organizations, taken in id order (so that two imports cannot deadlock)."""
    session.execute(_LOCK_ORGANIZATIONS, {"ids": int_array(sorted(ids))})


def organization_states(session: Session, ids) -> list[OrganizationState]:
    """These organizations as stored, with their own phones."""
    return list(records(session.execute(_ORGANIZATIONS, {"ids": int_array(sorted(ids))})))


def location_states(session: Session, ids) -> list[LocationState]:
    """These locations as stored, with their point, settlement's name and own phones."""
    return list(records(session.execute(_LOCATIONS, {"ids": int_array(sorted(ids))})))


def service_states(session: Session, ids) -> list[ServiceState]:
    """These services as stored, with their first location, hours and areas."""
    return list(records(session.execute(_SERVICES, {"ids": int_array(sorted(ids))})))


def taxonomy(session: Session) -> list[tuple[str, str, str]]:
    """The kinds of help (code, Russian name, English name) in their order."""
    return [tuple(r) for r in session.execute(_TAXONOMY)]


def region(session: Session, code: str) -> RegionRow | None:
    """One region's code, name, country and timezone; None when there is none."""
    row = session.execute(_REGION, {"c": code}).mappings().first()
    return RegionRow(**row) if row else None


def region_names(session: Session) -> dict[str, str]:
    """Every region's Russian name by code."""
    return dict(session.execute(_REGION_NAMES).all())
