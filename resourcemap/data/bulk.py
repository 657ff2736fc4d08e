"""The bulk path of the registry's one writer, shared by the spreadsheet import (exchange/applying.py) and the
synthetic generator (registry/demo.py): rows are staged in temporary tables (a binary COPY of Python values, or
filled by a query) and each kind of row is written with one INSERT ... SELECT or UPDATE ... FROM; new rows take
their ids from the sequences in one call. The single-edit path is data/writes.py; organizations' versions move
there (`bump_versions`), for both.

The staging tables are dropped at commit. service_at_location rows are written with their nearest-help copies
computed here by one join (migration 0010 skips the row trigger when `searchable` is given). The change history
is recorded by the triggers of migration 0008 unless `filler_transaction` was called."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .writes import FIRST_PLACE, bump_versions, delete_phones, redraw_radius_areas  # noqa: F401  (the bulk path's too)

# The staging tables, one per kind of row written (columns as the registry's, a point as lat and lon).
STAGING = {
    "staged_organization": "id integer, external_id text, name text, legal_form text, description text, "
                           "website text, email text, status text, verified_at date, source text, region_code text, "
                           "is_synthetic boolean",
    "staged_location": "id integer, organization_id integer, external_id text, name text, address text, "
                       "settlement_id integer, lat float8, lon float8, confidential boolean, approximate boolean, "
                       "accessibility text, timezone text, region_code text, active boolean",
    "staged_move": "id integer, lat float8, lon float8",
    "staged_service": "id integer, organization_id integer, location_id integer, external_id text, type_code text, "
                      "name text, description text, age_min_months smallint, age_max_months smallint, "
                      "eligibility text, delivery text, capacity_total integer, capacity_free integer, "
                      "capacity_updated_at timestamptz, active boolean, conditions text[], cost text, "
                      "cost_basis text[], hours text",
    "staged_relocation": "service_id integer, location_id integer",
    "staged_area": "service_id integer, location_id integer, delivery text, radius_km float8, region_code text, "
                   "new boolean",
    "staged_phone": "id integer, organization_id integer, location_id integer, number text, kind text, "
                    "extension text",
}

_ORG_COLUMNS = ("external_id", "name", "legal_form", "description", "website", "email", "status", "verified_at")
_INSERT_ORGANIZATIONS = text(f"""
INSERT INTO organization (id, {', '.join(_ORG_COLUMNS)}, source, region_code, is_synthetic)
SELECT id, {', '.join(_ORG_COLUMNS)}, source, region_code, is_synthetic FROM staged_organization
""")
_UPDATE_ORGANIZATIONS = text(f"""
UPDATE organization o SET {', '.join(f'{c} = u.{c}' for c in _ORG_COLUMNS)}
FROM staged_organization u WHERE o.id = u.id
""")
_INSERT_LOCATIONS = text("""
INSERT INTO location (id, organization_id, external_id, name, address, settlement_id, geog, confidential,
                      approximate, accessibility, timezone, region_code, active)
SELECT id, organization_id, external_id, name, address, settlement_id,
       CAST(ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geography), confidential, approximate, accessibility,
       timezone, region_code, active
FROM staged_location
""")
_UPDATE_LOCATIONS = text("""
UPDATE location l SET name = u.name, address = u.address, settlement_id = u.settlement_id,
       confidential = u.confidential, accessibility = u.accessibility, timezone = u.timezone, active = u.active
FROM staged_location u WHERE l.id = u.id
""")
_MOVE_LOCATIONS = text("""
UPDATE location l SET geog = CAST(ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326) AS geography)
FROM staged_move m WHERE l.id = m.id
""")
_SVC_COLUMNS = ("external_id", "type_code", "name", "description", "age_min_months", "age_max_months", "eligibility",
                "delivery", "capacity_total", "capacity_free", "active", "conditions", "cost", "cost_basis")
# capacity_updated_at: as staged, else now when the free places are given.
_INSERT_SERVICES = text(f"""
INSERT INTO service (id, organization_id, {', '.join(_SVC_COLUMNS)}, capacity_updated_at, hours)
SELECT id, organization_id, {', '.join(_SVC_COLUMNS)},
       coalesce(capacity_updated_at, CASE WHEN capacity_free IS NOT NULL THEN now() END),
       CAST(hours AS int4multirange)
FROM staged_service
""")
# service_at_location rows for the staged services at their locations, with the nearest-help copies computed here
# by one join, as rm_sal_fill would compute them row by row.
_INSERT_SERVICE_AT_LOCATION = text("""
INSERT INTO service_at_location (service_id, location_id, geog, timezone, confidential, type_code, delivery,
                                 age_min_months, age_max_months, conditions, cost, searchable)
SELECT s.id, l.id, l.geog, l.timezone, l.confidential, s.type_code, s.delivery, s.age_min_months, s.age_max_months,
       s.conditions, s.cost, s.active AND o.status = 'published' AND l.active
FROM staged_service p JOIN service s ON s.id = p.id JOIN location l ON l.id = p.location_id
     JOIN organization o ON o.id = s.organization_id
ORDER BY p.id
""")
_UPDATE_SERVICES = text(f"""
UPDATE service s SET {', '.join(f'{c} = u.{c}' for c in _SVC_COLUMNS[1:])},
       hours = CAST(u.hours AS int4multirange),
       capacity_updated_at = CASE WHEN u.capacity_free IS DISTINCT FROM s.capacity_free THEN now()
                                  ELSE s.capacity_updated_at END
FROM staged_service u WHERE s.id = u.id
""")
_RELOCATE_SERVICES = text("""
UPDATE service_at_location sal SET location_id = r.location_id
FROM staged_relocation r
WHERE sal.id = (SELECT (array_agg(s2.id ORDER BY s2.id))[1] FROM service_at_location s2
                WHERE s2.service_id = r.service_id)
""")
_LOCATE_SERVICES = text("""
INSERT INTO service_at_location (service_id, location_id)
SELECT r.service_id, r.location_id FROM staged_relocation r
WHERE NOT EXISTS (SELECT 1 FROM service_at_location sal WHERE sal.service_id = r.service_id)
""")
# Areas made to match the delivery: a radius (outreach), the region (online), none (on site). A drawn outreach
# area is kept while no radius is given.
_DELETE_AREAS = text("""
DELETE FROM service_area a USING staged_area t
WHERE a.service_id = t.service_id AND NOT t.new
  AND NOT (t.delivery = 'outreach' AND t.radius_km IS NOT NULL AND a.radius_km = t.radius_km)
  AND NOT (t.delivery = 'outreach' AND t.radius_km IS NULL AND a.radius_km IS NULL AND a.region_code IS NULL)
  AND NOT (t.delivery = 'online' AND a.region_code IS NOT NULL)
""")
_INSERT_RADIUS_AREAS = text("""
INSERT INTO service_area (service_id, radius_km, area)
SELECT t.service_id, t.radius_km, ST_Buffer(l.geog, t.radius_km * 1000.0, 'quad_segs=' || CAST(:quad_segs AS int))
FROM staged_area t JOIN location l ON l.id = t.location_id
WHERE t.delivery = 'outreach' AND t.radius_km IS NOT NULL
  AND (t.new OR NOT EXISTS (SELECT 1 FROM service_area a
                            WHERE a.service_id = t.service_id AND a.radius_km = t.radius_km))
""")
_INSERT_REGION_AREAS = text("""
INSERT INTO service_area (service_id, region_code)
SELECT t.service_id, t.region_code FROM staged_area t
WHERE t.delivery = 'online'
  AND (t.new OR NOT EXISTS (SELECT 1 FROM service_area a
                            WHERE a.service_id = t.service_id AND a.region_code IS NOT NULL))
""")
_INSERT_PHONES = text("""
INSERT INTO phone (organization_id, location_id, number, kind, extension)
SELECT organization_id, location_id, number, kind, extension FROM staged_phone ORDER BY id
""")
_UPDATE_PHONES = text("UPDATE phone p SET kind = u.kind, extension = u.extension FROM staged_phone u WHERE p.id = u.id")

_SHOW_STATEMENT_TIMEOUT = text("SHOW statement_timeout")
_SET_STATEMENT_TIMEOUT = text("SELECT set_config('statement_timeout', :t, true)")
# Generated filler (the synthetic registry): no statement timeout, no change history (migration 0008), and a commit
# that does not wait for the WAL flush when asked (it can be made again).
_FILLER = text("SELECT set_config('statement_timeout', '0', true), set_config('resourcemap.history', 'off', true),"
               " CASE WHEN :asynchronous THEN set_config('synchronous_commit', 'off', true) END")
# Only the columns the queries after an import (the map, nearest help, the next import) filter and join on: the text
# columns' statistics cost most of an ANALYZE and steer no plan.
_ANALYZE_AFTER_IMPORT = text("""
ANALYZE organization (id, external_id, region_code, status),
        location (id, organization_id, settlement_id, region_code, external_id, active),
        service (id, organization_id, external_id, type_code, active, delivery),
        service_at_location (id, service_id, location_id, type_code, searchable, delivery),
        phone, service_area (id, service_id, radius_km, region_code)
""")
_ANALYZE_REGISTRY = text("ANALYZE organization; ANALYZE location; ANALYZE service; ANALYZE service_at_location;"
                         " ANALYZE service_area; ANALYZE phone")
# Everything of the organizations of one source, children first (the foreign keys are not all cascading).
_DELETE_OF_SOURCE = [text(sql) for sql in (
    "DELETE FROM service_at_location WHERE location_id IN (SELECT id FROM location WHERE organization_id IN"
    " (SELECT id FROM organization WHERE source = :source))",
    "DELETE FROM service WHERE organization_id IN (SELECT id FROM organization WHERE source = :source)",
    "DELETE FROM phone WHERE organization_id IN (SELECT id FROM organization WHERE source = :source)",
    "DELETE FROM location WHERE organization_id IN (SELECT id FROM organization WHERE source = :source)",
)]
_DELETE_ORGANIZATIONS_OF_SOURCE = text("DELETE FROM organization WHERE source = :source")


def _create_staging(session: Session, table: str) -> None:
    session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    session.execute(text(f"CREATE TEMP TABLE {table} ({STAGING[table]}) ON COMMIT DROP"))


def stage(session: Session, table: str, rows: list[tuple]) -> bool:
    """The staging table `table` (of STAGING) made anew and filled by a binary COPY of Python values (lists for
    arrays), in its columns' order; False, and nothing made, when there are no rows."""
    if not rows:
        return False
    _create_staging(session, table)
    names, types = zip(*(c.split(None, 1) for c in STAGING[table].split(", ")))
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    session.execute(text(f"ANALYZE {table}"))
    return True


def stage_query(session: Session, table: str, select_sql: str, params: dict) -> None:
    """The staging table `table` (of STAGING) made anew and filled by a query (SQL text) giving its columns in
    order."""
    _create_staging(session, table)
    session.execute(text(f"INSERT INTO {table} {select_sql}"), params)
    session.execute(text(f"ANALYZE {table}"))


def new_ids(session: Session, sequence: str, n: int) -> list[int]:
    """n new ids drawn from the sequence in one call."""
    if not n:
        return []
    return list(session.execute(text(f"SELECT nextval('{sequence}') FROM generate_series(1, :n)"), {"n": n}).scalars())


# What each staged kind of row does to the registry: inserted (ids as staged), or the stored rows set to it.
_INSERT = {"organization": (_INSERT_ORGANIZATIONS,), "location": (_INSERT_LOCATIONS,),
           "service": (_INSERT_SERVICES, _INSERT_SERVICE_AT_LOCATION), "phone": (_INSERT_PHONES,)}
_UPDATE = {"organization": (_UPDATE_ORGANIZATIONS,), "location": (_UPDATE_LOCATIONS,), "move": (_MOVE_LOCATIONS,),
           "service": (_UPDATE_SERVICES,), "relocation": (_RELOCATE_SERVICES, _LOCATE_SERVICES),
           "phone": (_UPDATE_PHONES,)}


def insert_staged(session: Session, kind: str) -> None:
    """The staged rows of this kind inserted with their staged ids: organizations; locations (their points made of
    lat and lon); services, each offered at its staged location with the nearest-help copies computed in the same
    statement's join; phones, in their staged order."""
    for statement in _INSERT[kind]:
        session.execute(statement)


def update_staged(session: Session, kind: str) -> None:
    """The stored rows set to the staged ones of this kind: organizations (not their source, region or synthetic
    mark); locations (not their point, region or external id); `move`: locations' points; services
    (capacity_updated_at moves when the free places change); `relocation`: services' (first) places moved to the
    staged locations, or made where they have none; phones' kind and extension."""
    for statement in _UPDATE[kind]:
        session.execute(statement)


def insert_areas(session: Session, *, quad_segs: int = 16) -> None:
    """The staged areas written: a radius around the location for outreach (a buffer of quad_segs segments a
    quarter circle), the staged region for online; an existing service's equal area is not written again."""
    session.execute(_INSERT_RADIUS_AREAS, {"quad_segs": quad_segs})
    session.execute(_INSERT_REGION_AREAS)


def replace_areas(session: Session) -> None:
    """The areas of the staged existing services made to match their delivery: those that no longer fit removed
    (a drawn outreach area kept while no radius is given), the missing ones written."""
    session.execute(_DELETE_AREAS)
    insert_areas(session)


def statement_timeout(session: Session) -> str:
    """The transaction's statement timeout now."""
    return session.execute(_SHOW_STATEMENT_TIMEOUT).scalar()


def set_statement_timeout(session: Session, timeout: str) -> None:
    """The statement timeout for the rest of the transaction ('0': none)."""
    session.execute(_SET_STATEMENT_TIMEOUT, {"t": timeout})


def filler_transaction(session: Session, *, asynchronous_commit: bool = False) -> None:
    """This transaction writes generated filler: no statement timeout, its writes not recorded in the change
    history, and (asynchronous_commit) its commit not waiting for the WAL flush."""
    session.execute(_FILLER, {"asynchronous": asynchronous_commit})


def analyze_after_import(session: Session) -> None:
    """Fresh statistics of the registry's join and filter columns (ANALYZE counts this transaction's own rows)."""
    session.execute(_ANALYZE_AFTER_IMPORT)


def analyze_registry(session: Session) -> None:
    """Fresh statistics of every registry table."""
    session.execute(_ANALYZE_REGISTRY)


def delete_organizations_of_source(session: Session, source: str) -> int:
    """Every organization of this source with its locations, services and phones removed; how many."""
    for statement in _DELETE_OF_SOURCE:
        session.execute(statement, {"source": source})
    return session.execute(_DELETE_ORGANIZATIONS_OF_SOURCE, {"source": source}).rowcount
