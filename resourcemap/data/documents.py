"""An organization read as the editor's document (organization, locations, services with their areas, phones),
and the lists of organizations the curators work through (registry/edit.py)."""
from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from sqlalchemy import text
from sqlalchemy.orm import Session

from .writes import LocationFields, OrganizationFields, ServiceFields


class OrganizationRow(OrganizationFields):
    id: int
    version: int
    source: str
    region_code: str
    is_synthetic: bool
    updated_at: dt.datetime | None
    recheck_since: dt.datetime | None


class LocationRow(LocationFields):
    id: int
    settlement_id: int | None
    settlement_name: str | None
    approximate: bool
    region_code: str


class StoredServiceFields(ServiceFields):
    """A service as stored, with its (first) location and its hours as int4multirange text."""

    id: int
    type: str
    age_min_months: int | None
    age_max_months: int | None
    capacity_total: int | None
    capacity_free: int | None
    location_id: int | None
    hours: str | None


class ServiceRow(StoredServiceFields):
    """A service of the document, with its areas (a JSON list)."""

    areas: list[dict[str, Any]]


class PhoneRow(TypedDict):
    id: int
    number: str
    extension: str
    kind: str
    note: str
    location_id: int | None
    service_id: int | None


class AreaRow(TypedDict):
    """A service area; `area` is the GeoJSON of a drawn one (None for radius and region areas)."""

    id: int
    radius_km: float | None
    region_code: str | None
    area: str | None


class StaleRow(TypedDict):
    id: int
    name: str
    region_code: str
    status: str
    verified_at: dt.date | None
    version: int
    days_since_check: int | None
    recheck_since: dt.datetime | None


_ORGANIZATION = text("""
SELECT id, version, status, name, legal_form, description, website, email, source, external_id, verified_at,
       region_code, is_synthetic, updated_at, recheck_since
FROM organization WHERE id = :id
""")
_LOCATIONS = text("""
SELECT l.id, l.external_id, l.name, l.address, l.settlement_id, st.name_ru AS settlement_name,
       ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon, l.confidential, l.approximate,
       l.accessibility, l.timezone, l.active, l.region_code
FROM location l LEFT JOIN settlement st ON st.id = l.settlement_id
WHERE l.organization_id = :id ORDER BY l.id
""")
_SERVICES = text("""
SELECT s.id, s.external_id, s.type_code AS type, s.name, s.description, s.age_min_months, s.age_max_months,
       s.eligibility, s.delivery, s.capacity_total, s.capacity_free, s.active, s.conditions, s.cost, s.cost_basis,
       (SELECT sal.location_id FROM service_at_location sal WHERE sal.service_id = s.id
         ORDER BY sal.id LIMIT 1) AS location_id,
       s.hours::text AS hours,
       (SELECT coalesce(json_agg(json_build_object('id', a.id, 'radius_km', a.radius_km, 'region_code', a.region_code,
                                                   'area', CASE WHEN a.radius_km IS NULL AND a.area IS NOT NULL
                                                                THEN ST_AsGeoJSON(a.area)::json END) ORDER BY a.id),
                        '[]') FROM service_area a WHERE a.service_id = s.id) AS areas
FROM service s WHERE s.organization_id = :id ORDER BY s.id
""")
_PHONES = text("""
SELECT id, number, extension, kind, note, location_id, service_id FROM phone WHERE organization_id = :id ORDER BY id
""")
_SERVICE_AREAS = text("""
SELECT id, radius_km, region_code, CASE WHEN radius_km IS NULL AND area IS NOT NULL THEN ST_AsGeoJSON(area) END AS area
FROM service_area WHERE service_id = :s ORDER BY id
""")
# Not checked for `days` days, or marked for re-checking (ix_organization_region_verified, migration 0008).
_STALE = text("""
SELECT id, name, region_code, status, verified_at, version,
       current_date - verified_at AS days_since_check, recheck_since
FROM organization
WHERE status <> 'inactive'
  AND (CAST(:regions AS text[]) IS NULL OR region_code = ANY(CAST(:regions AS text[])))
  AND (verified_at IS NULL OR verified_at < current_date - CAST(:days AS int) OR recheck_since IS NOT NULL)
ORDER BY recheck_since NULLS LAST, verified_at NULLS FIRST, id
""")


def organization(session: Session, org_id: int) -> OrganizationRow | None:
    """The organization row, None when there is none."""
    row = session.execute(_ORGANIZATION, {"id": org_id}).mappings().first()
    return OrganizationRow(**row) if row else None


def organization_locations(session: Session, org_id: int) -> list[LocationRow]:
    """Its locations (active or not) with their point and settlement's name, in id order."""
    return [LocationRow(**r) for r in session.execute(_LOCATIONS, {"id": org_id}).mappings()]


def organization_services(session: Session, org_id: int) -> list[ServiceRow]:
    """Its services (active or not) with their first location, hours and areas, in id order."""
    return [ServiceRow(**r) for r in session.execute(_SERVICES, {"id": org_id}).mappings()]


def organization_phones(session: Session, org_id: int) -> list[PhoneRow]:
    """Its phones, in id order."""
    return [PhoneRow(**r) for r in session.execute(_PHONES, {"id": org_id}).mappings()]


def service_areas(session: Session, service_id: int) -> list[AreaRow]:
    """A service's areas in id order, drawn ones as GeoJSON."""
    return [AreaRow(**r) for r in session.execute(_SERVICE_AREAS, {"s": service_id}).mappings()]


def stale_organizations(session: Session, region_codes: list[str] | None, days: int) -> list[StaleRow]:
    """Organizations (not inactive) of these regions (all when None) not checked for `days` days or never, or
    marked for re-checking: those first, then the longest unchecked."""
    rows = session.execute(_STALE, {"regions": region_codes, "days": days}).mappings()
    return [StaleRow(**r) for r in rows]
