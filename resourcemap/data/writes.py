"""The single-edit path of the registry's one writer: one organization, location, service, area, phone or problem
report at a time (the curators' editor, the demo loader, families' reports, tests). The bulk path (the spreadsheet
import, the synthetic generator) is data/bulk.py; both move an organization's version here (`bump_versions`).

The nearest-help copies in service_at_location and the change history are kept by database triggers (migrations
0001, 0008). Nothing here commits."""
from __future__ import annotations

import datetime as dt
from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.orm import Session

from .arrays import int_array

_POINT = "CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)"


class OrganizationFields(TypedDict):
    """The columns of an organization a curator or a file gives."""

    name: str
    legal_form: str
    description: str
    website: str
    email: str
    status: str
    verified_at: dt.date | None
    external_id: str | None


class OrganizationValues(OrganizationFields):
    """An organization row to insert (version 1); `region` is its first location's region."""

    source: str
    region: str
    synthetic: bool


class LocationFields(TypedDict):
    """The columns of a location a curator or a file gives, its point as lat and lon."""

    name: str
    address: str
    lat: float
    lon: float
    confidential: bool
    accessibility: str
    timezone: str
    active: bool
    external_id: str | None


class LocationValues(LocationFields):
    """A location row to insert, its point, region and timezone already resolved."""

    org: int
    settlement: int | None
    approximate: bool
    region: str


class ServiceFields(TypedDict):
    """The columns of a service a curator or a file gives, under the same names everywhere."""

    name: str
    description: str
    eligibility: str
    delivery: str
    active: bool
    external_id: str | None
    conditions: list[str]
    cost: str | None
    cost_basis: list[str]


class ServiceValues(ServiceFields):
    """A service row to insert; `hours` as int4multirange text."""

    org: int
    type: str
    age_min: int | None
    age_max: int | None
    cap_total: int | None
    cap_free: int | None
    hours: str | None


class PhoneValues(TypedDict):
    """A phone row to insert; `number` in E.164."""

    org: int
    loc: int | None
    svc: int | None
    number: str
    extension: str
    kind: str
    note: str


_INSERT_ORGANIZATION = text("""
INSERT INTO organization (name, legal_form, description, website, email, status, verified_at, source,
                          external_id, region_code, is_synthetic)
VALUES (:name, :legal_form, :description, :website, :email, :status, :verified_at, :source,
        :external_id, :region, :synthetic) RETURNING id
""")
_INSERT_LOCATION = text(f"""
INSERT INTO location (organization_id, name, address, settlement_id, geog, confidential, approximate,
                      accessibility, timezone, region_code, active, external_id)
VALUES (:org, :name, :address, :settlement, {_POINT}, :confidential, :approximate,
        :accessibility, :timezone, :region, :active, :external_id) RETURNING id
""")
_MOVE_LOCATION = text(f"UPDATE location SET geog = {_POINT} WHERE id = :id")
_INSERT_SERVICE = text("""
INSERT INTO service (organization_id, type_code, name, description, age_min_months, age_max_months,
                     eligibility, delivery, capacity_total, capacity_free, capacity_updated_at, active,
                     external_id, hours, conditions, cost, cost_basis)
VALUES (:org, :type, :name, :description, :age_min, :age_max, :eligibility, :delivery, :cap_total,
        :cap_free, CASE WHEN CAST(:cap_free AS int) IS NULL THEN NULL ELSE now() END, :active, :external_id,
        CAST(:hours AS int4multirange), CAST(:conditions AS text[]), :cost, CAST(:cost_basis AS text[]))
RETURNING id
""")
# The trigger of migration 0001 (rm_sal_fill) fills the nearest-help copies of the new row.
_PLACE_SERVICE = text("INSERT INTO service_at_location (service_id, location_id) VALUES (:s, :l)")
_RELOCATE_SERVICE = text("""
UPDATE service_at_location SET location_id = :l
WHERE id = (SELECT min(id) FROM service_at_location WHERE service_id = :s)
""")
_INSERT_AREA = {
    "drawn": "CAST(ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326) AS geography)",
    "radius": "ST_Buffer((SELECT geog FROM location WHERE id = :loc), :radius_km * 1000.0, 'quad_segs=16')",
    "none": "NULL",
}
_INSERT_AREA = {shape: text(f"INSERT INTO service_area (service_id, radius_km, region_code, area)"
                            f" VALUES (:s, :radius_km, :region, {area})") for shape, area in _INSERT_AREA.items()}
_DELETE_AREAS = text("DELETE FROM service_area WHERE id = ANY(CAST(:ids AS int[]))")
# A service's (first) location. Written as an aggregate so that the planner uses the index on service_id: with
# "ORDER BY sal.id LIMIT 1" (or min(sal.id)) it may walk the primary key instead, which right after a bulk insert
# (no statistics yet) reads the whole table for every service.
FIRST_PLACE = ("(SELECT (array_agg(sal.location_id ORDER BY sal.id))[1] FROM service_at_location sal"
               " WHERE sal.service_id = {service})")
# Radius areas follow their location when it moves, or their service when it moves to another location.
_REDRAW_RADIUS_AREAS = text(f"""
WITH affected AS (
  SELECT sal.service_id FROM service_at_location sal
  WHERE sal.location_id IN (SELECT unnest(CAST(:moved AS int[])))
  UNION SELECT unnest(CAST(:relocated AS int[])))
UPDATE service_area a SET area = ST_Buffer(l.geog, a.radius_km * 1000.0, 'quad_segs=16')
FROM affected JOIN location l ON l.id = {FIRST_PLACE.format(service="affected.service_id")}
WHERE a.service_id = affected.service_id AND a.radius_km IS NOT NULL
""")
_INSERT_PHONE = text("""
INSERT INTO phone (organization_id, location_id, service_id, number, extension, kind, note)
VALUES (:org, :loc, :svc, :number, :extension, :kind, :note) RETURNING id
""")
_DELETE_PHONES = text("DELETE FROM phone WHERE id = ANY(CAST(:ids AS int[]))")
_REFRESH_ORGANIZATION_REGION = text("""
UPDATE organization o SET region_code = first.region_code
FROM (SELECT region_code FROM location WHERE organization_id = :id AND active ORDER BY id LIMIT 1) first
WHERE o.id = :id AND o.region_code IS DISTINCT FROM first.region_code
""")
# The one statement that moves organizations' versions on (an editor's save, an import); with an expected version
# it is the optimistic lock: the row lock is taken, and a version moved meanwhile matches no row.
_BUMP_VERSIONS = text("""
UPDATE organization SET version = version + 1, updated_at = now()
WHERE id = ANY(CAST(:ids AS int[])) AND (CAST(:expected AS int) IS NULL OR version = CAST(:expected AS int))
RETURNING version
""")
_MARK_VERIFIED = text("""
UPDATE organization SET verified_at = current_date, recheck_since = NULL
WHERE id = :id AND (verified_at IS DISTINCT FROM current_date OR recheck_since IS NOT NULL)
""")
_MARK_FOR_RECHECK = text("UPDATE organization SET recheck_since = now() WHERE id = :id AND recheck_since IS NULL")
_FILE_REPORT = text("""
INSERT INTO problem_report (organization_id, kind, body)
SELECT o.id, :kind, :body FROM organization o WHERE o.id = :org AND o.status = 'published'
RETURNING id
""")
_RESOLVE_REPORT = text("""
UPDATE problem_report SET resolution = :r, resolution_note = :note, resolved_at = now(), resolved_by = :by
WHERE id = :id
""")

# The columns the editor may set, per table (update_row builds its SET clause from these names only).
EDITABLE_COLUMNS = {
    "organization": {"name", "legal_form", "description", "website", "email", "status", "verified_at", "source",
                     "external_id", "region_code"},
    "location": {"name", "address", "settlement_id", "confidential", "approximate", "accessibility", "timezone",
                 "region_code", "active", "external_id"},
    "service": {"type_code", "name", "description", "age_min_months", "age_max_months", "eligibility", "delivery",
                "capacity_total", "capacity_free", "active", "external_id", "hours", "conditions", "cost", "cost_basis"},
    "phone": {"number", "extension", "kind", "note", "location_id", "service_id"},
}
# Columns whose value is given as text: the weekly hours (registry/hours.py) and the lists of codes.
_CAST = {"hours": "int4multirange", "conditions": "text[]", "cost_basis": "text[]"}


def insert_organization(session: Session, values: OrganizationValues) -> int:
    """One organization row (version 1); its id."""
    return session.execute(_INSERT_ORGANIZATION, values).scalar_one()


def insert_location(session: Session, values: LocationValues) -> int:
    """One location row; its id."""
    return session.execute(_INSERT_LOCATION, values).scalar_one()


def move_location(session: Session, location_id: int, lat: float, lon: float) -> None:
    """A location's point (its region_code is set apart, by the caller)."""
    session.execute(_MOVE_LOCATION, {"id": location_id, "lat": lat, "lon": lon})


def insert_service(session: Session, values: ServiceValues) -> int:
    """One service row (capacity_updated_at now when the free places are given); its id."""
    return session.execute(_INSERT_SERVICE, values).scalar_one()


def place_service(session: Session, service_id: int, location_id: int) -> None:
    """The service offered at the location (a service_at_location row; the trigger fills its copies)."""
    session.execute(_PLACE_SERVICE, {"s": service_id, "l": location_id})


def relocate_service(session: Session, service_id: int, location_id: int) -> None:
    """The service's (first) place moved to another location."""
    session.execute(_RELOCATE_SERVICE, {"s": service_id, "l": location_id})


def insert_service_area(session: Session, service_id: int, location_id: int, *, radius_km: float | None,
                        region_code: str | None, area_geojson: str | None) -> None:
    """One area: drawn (GeoJSON text), else a radius around the location's point, else no shape (a region)."""
    shape = "drawn" if area_geojson else "radius" if radius_km else "none"
    session.execute(_INSERT_AREA[shape], {"s": service_id, "loc": location_id, "radius_km": radius_km,
                                          "region": region_code, "area": area_geojson})


def delete_service_areas(session: Session, area_ids) -> None:
    """Remove these service_area rows."""
    session.execute(_DELETE_AREAS, {"ids": int_array(area_ids)})


def redraw_radius_areas(session: Session, *, moved_locations=(), services=()) -> None:
    """Radius areas redrawn around their service's (first) location: the services at these moved locations, and
    these services (moved to another location)."""
    session.execute(_REDRAW_RADIUS_AREAS, {"moved": int_array(moved_locations), "relocated": int_array(services)})


def insert_phone(session: Session, values: PhoneValues) -> int:
    """One phone row; its id."""
    return session.execute(_INSERT_PHONE, values).scalar_one()


def delete_phones(session: Session, phone_ids) -> None:
    """Remove these phones (the history keeps them)."""
    session.execute(_DELETE_PHONES, {"ids": int_array(phone_ids)})


def update_row(session: Session, table: str, row_id: int, changes: dict) -> None:
    """Set these columns of one registry row (names checked against EDITABLE_COLUMNS); a service's free places
    also stamp capacity_updated_at."""
    if not changes:
        return
    unknown = set(changes) - EDITABLE_COLUMNS[table]
    if unknown:
        raise ValueError(f"not an editable column of {table}: {sorted(unknown)}")
    sets = ", ".join(f"{column} = CAST(:{column} AS {_CAST[column]})" if column in _CAST else f"{column} = :{column}"
                     for column in changes)
    extra = ", capacity_updated_at = now()" if table == "service" and "capacity_free" in changes else ""
    session.execute(text(f"UPDATE {table} SET {sets}{extra} WHERE id = :_id"), {**changes, "_id": row_id})


def refresh_organization_region(session: Session, org_id: int) -> None:
    """An organization's region follows its first active location (kept when it has none active)."""
    session.execute(_REFRESH_ORGANIZATION_REGION, {"id": org_id})


def bump_versions(session: Session, org_ids, expected: int | None = None) -> list[int]:
    """Move these organizations' versions on (taking their row locks), only where the version is `expected` when
    given; the new versions of the rows moved."""
    return list(session.execute(_BUMP_VERSIONS, {"ids": int_array(org_ids), "expected": expected}).scalars())


def mark_verified(session: Session, org_id: int) -> None:
    """"Checked today": the verification date becomes today and a mark for re-checking is cleared."""
    session.execute(_MARK_VERIFIED, {"id": org_id})


def mark_for_recheck(session: Session, org_id: int) -> None:
    """The organization marked for re-checking (a confirmed problem report), unless it already is."""
    session.execute(_MARK_FOR_RECHECK, {"id": org_id})


def file_problem_report(session: Session, org_id: int, kind: str, body: str) -> int | None:
    """A family's report about a published organization; its id, None when there is no such organization."""
    return session.execute(_FILE_REPORT, {"org": org_id, "kind": kind, "body": body}).scalar()


def resolve_problem_report(session: Session, report_id: int, resolution: str, note: str,
                           account_id: int | None) -> None:
    """A report resolved (confirmed or rejected) with a note, by this account, now."""
    session.execute(_RESOLVE_REPORT, {"r": resolution, "note": note, "by": account_id, "id": report_id})
