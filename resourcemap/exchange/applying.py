"""Applying an import: the dry run again (under row locks on the organizations it touches), then its writes, all
in one savepoint of the caller's transaction — any error row and nothing is written.

The writes are set-based: new rows get their ids from the sequences in one call, each kind of row is COPYed into
a temporary staging table and written with one INSERT ... SELECT or UPDATE ... FROM; nothing goes through one ORM
object per row. The database triggers (migration 0008) record every change in the history, with the actor and the
note set by registry/history.py `as_actor`; a file that changes nothing writes nothing, not even history."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..registry.history import as_actor
from ..registry.write import SAL_WITH_COPIES
from .planning import LocGroup, OrgGroup, Planner, ServicePlan, Writes, bulk_statements, collector_paused
from .lookup import FIRST_PLACE, int_array
from .reading import Table
from .results import ImportPlan
from .rows import Problem


ANALYZE_AFTER = 5000  # new services from which an import refreshes the tables' statistics


class ImportRejected(Exception):
    """The import was not applied (rows with errors, or a concurrent change); `plan` says why."""

    def __init__(self, plan: ImportPlan):
        super().__init__(f"{len(plan.errors)} problem(s)")
        self.plan = plan


def apply_import(session: Session, table: Table, region_code: str, actor) -> ImportPlan:
    """Write the file into the region's registry, all or nothing, recorded in the history with the note
    "import <filename>". Raises edit.Forbidden, ImportRejected(plan) when any row has an error. Importing the same
    file again finds every row unchanged and writes nothing. Does not commit."""
    planner = Planner(session, table, region_code, actor)
    # The collector paused for the writes too: building the staging rows while the plan's objects are alive made
    # it scan them again and again (~8 s of a 100,000-row apply).
    with collector_paused(), session.begin_nested(), bulk_statements(session):
        plan = planner.plan(lock=True)
        if not plan.ok:
            raise ImportRejected(plan)
        writes: Writes = plan.writes
        if not writes.empty:
            plan.change_set = as_actor(session, actor, f"import {table.filename}")
            try:
                with session.begin_nested():
                    _write(session, writes, region_code, planner.region["timezone"])
            except Exception as exc:  # a unique external id taken meanwhile by another import, say
                from sqlalchemy.exc import IntegrityError

                if not isinstance(exc, IntegrityError):
                    raise
                plan.problems.append(Problem(None, None, "concurrent_change",
                                             "Пока шла загрузка, реестр изменили (например, тот же код записи "
                                             "добавлен другой загрузкой). Повторите загрузку."))
                raise ImportRejected(plan) from None
    return plan


# --- staging ------------------------------------------------------------------------------------------------------
_STAGING = {
    "import_org": "id integer, external_id text, name text, legal_form text, description text, website text, "
                  "email text, status text, verified_at date",
    "import_loc": "id integer, organization_id integer, external_id text, name text, address text, "
                  "settlement_id integer, lat float8, lon float8, confidential boolean, accessibility text, "
                  "timezone text, active boolean",
    "import_move": "id integer, lat float8, lon float8",
    "import_svc": "id integer, organization_id integer, location_id integer, external_id text, type_code text, "
                  "name text, description text, age_min_months smallint, age_max_months smallint, eligibility text, "
                  "delivery text, capacity_total integer, capacity_free integer, active boolean, conditions text[], "
                  "cost text, cost_basis text[], hours text",
    "import_relocate": "service_id integer, location_id integer",
    "import_area": "service_id integer, location_id integer, delivery text, radius_km float8, new boolean",
    "import_phone": "id integer, organization_id integer, location_id integer, number text, kind text, "
                    "extension text",
}


def _stage(session: Session, table: str, rows: list[tuple]) -> bool:
    """A temporary table `table` (dropped at commit) filled by a binary COPY of Python values (lists for arrays);
    False when there is nothing to stage."""
    if not rows:
        return False
    session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    session.execute(text(f"CREATE TEMP TABLE {table} ({_STAGING[table]}) ON COMMIT DROP"))
    names, types = zip(*(c.split(None, 1) for c in _STAGING[table].split(", ")))
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    session.execute(text(f"ANALYZE {table}"))
    return True


def _new_ids(session: Session, sequence: str, n: int) -> list[int]:
    if not n:
        return []
    return list(session.execute(text(f"SELECT nextval('{sequence}') FROM generate_series(1, :n)"), {"n": n}).scalars())


# --- the writes ---------------------------------------------------------------------------------------------------
_ORG_COLUMNS = ("external_id", "name", "legal_form", "description", "website", "email", "status", "verified_at")

_INSERT_ORGANIZATIONS = f"""
INSERT INTO organization (id, {', '.join(_ORG_COLUMNS)}, source, region_code)
SELECT id, {', '.join(_ORG_COLUMNS)}, 'import', :region FROM import_org
"""
_UPDATE_ORGANIZATIONS = f"""
UPDATE organization o SET {', '.join(f'{c} = u.{c}' for c in _ORG_COLUMNS)}
FROM import_org u WHERE o.id = u.id
"""
_INSERT_LOCATIONS = """
INSERT INTO location (id, organization_id, external_id, name, address, settlement_id, geog, confidential,
                      approximate, accessibility, timezone, region_code, active)
SELECT id, organization_id, external_id, name, address, settlement_id,
       CAST(ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geography), confidential, false, accessibility, timezone,
       :region, active
FROM import_loc
"""
_UPDATE_LOCATIONS = """
UPDATE location l SET name = u.name, address = u.address, settlement_id = u.settlement_id,
       confidential = u.confidential, accessibility = u.accessibility, timezone = u.timezone, active = u.active
FROM import_loc u WHERE l.id = u.id
"""
_MOVE_LOCATIONS = """
UPDATE location l SET geog = CAST(ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326) AS geography)
FROM import_move m WHERE l.id = m.id
"""
_SVC_COLUMNS = ("external_id", "type_code", "name", "description", "age_min_months", "age_max_months", "eligibility",
                "delivery", "capacity_total", "capacity_free", "active", "conditions", "cost", "cost_basis")
_INSERT_SERVICES = f"""
INSERT INTO service (id, organization_id, {', '.join(_SVC_COLUMNS)}, capacity_updated_at, hours)
SELECT id, organization_id, {', '.join(_SVC_COLUMNS)}, CASE WHEN capacity_free IS NOT NULL THEN now() END,
       CAST(hours AS int4multirange)
FROM import_svc
"""
_INSERT_SERVICE_AT_LOCATION = SAL_WITH_COPIES.format(pairs="(SELECT id AS service_id, location_id FROM import_svc)")
_UPDATE_SERVICES = f"""
UPDATE service s SET {', '.join(f'{c} = u.{c}' for c in _SVC_COLUMNS[1:])},
       hours = CAST(u.hours AS int4multirange),
       capacity_updated_at = CASE WHEN u.capacity_free IS DISTINCT FROM s.capacity_free THEN now()
                                  ELSE s.capacity_updated_at END
FROM import_svc u WHERE s.id = u.id
"""
_RELOCATE_SERVICES = """
UPDATE service_at_location sal SET location_id = r.location_id
FROM import_relocate r
WHERE sal.id = (SELECT (array_agg(s2.id ORDER BY s2.id))[1] FROM service_at_location s2
                WHERE s2.service_id = r.service_id)
"""
_LOCATE_SERVICES = """
INSERT INTO service_at_location (service_id, location_id)
SELECT r.service_id, r.location_id FROM import_relocate r
WHERE NOT EXISTS (SELECT 1 FROM service_at_location sal WHERE sal.service_id = r.service_id)
"""
# Areas made to match the delivery: a radius (outreach), the region (online), none (on site). A drawn outreach
# area is kept while no radius is given.
_DELETE_AREAS = """
DELETE FROM service_area a USING import_area t
WHERE a.service_id = t.service_id AND NOT t.new
  AND NOT (t.delivery = 'outreach' AND t.radius_km IS NOT NULL AND a.radius_km = t.radius_km)
  AND NOT (t.delivery = 'outreach' AND t.radius_km IS NULL AND a.radius_km IS NULL AND a.region_code IS NULL)
  AND NOT (t.delivery = 'online' AND a.region_code IS NOT NULL)
"""
_INSERT_RADIUS_AREAS = """
INSERT INTO service_area (service_id, radius_km, area)
SELECT t.service_id, t.radius_km, ST_Buffer(l.geog, t.radius_km * 1000.0, 'quad_segs=16')
FROM import_area t JOIN location l ON l.id = t.location_id
WHERE t.delivery = 'outreach' AND t.radius_km IS NOT NULL
  AND (t.new OR NOT EXISTS (SELECT 1 FROM service_area a
                            WHERE a.service_id = t.service_id AND a.radius_km = t.radius_km))
"""
_INSERT_REGION_AREAS = """
INSERT INTO service_area (service_id, region_code)
SELECT t.service_id, :region FROM import_area t
WHERE t.delivery = 'online'
  AND (t.new OR NOT EXISTS (SELECT 1 FROM service_area a
                            WHERE a.service_id = t.service_id AND a.region_code IS NOT NULL))
"""
# Radius areas follow their location when it moves, or their service when it moves to another location.
_REDRAW_RADIUS_AREAS = f"""
WITH affected AS (
  SELECT sal.service_id FROM service_at_location sal
  WHERE sal.location_id IN (SELECT unnest(CAST(:moved AS int[])))
  UNION SELECT unnest(CAST(:relocated AS int[])))
UPDATE service_area a SET area = ST_Buffer(l.geog, a.radius_km * 1000.0, 'quad_segs=16')
FROM affected JOIN location l ON l.id = {FIRST_PLACE.format(service="affected.service_id")}
WHERE a.service_id = affected.service_id AND a.radius_km IS NOT NULL
"""
_INSERT_PHONES = """
INSERT INTO phone (organization_id, location_id, number, kind, extension)
SELECT organization_id, location_id, number, kind, extension FROM import_phone ORDER BY id
"""
_UPDATE_PHONES = "UPDATE phone p SET kind = u.kind, extension = u.extension FROM import_phone u WHERE p.id = u.id"
_BUMP_VERSIONS = """
UPDATE organization SET version = version + 1, updated_at = now() WHERE id = ANY(CAST(:ids AS int[]))
"""

_ANALYZE_AFTER_IMPORT = """
ANALYZE organization (id, external_id, region_code, status),
        location (id, organization_id, settlement_id, region_code, external_id, active),
        service (id, organization_id, external_id, type_code, active, delivery),
        service_at_location (id, service_id, location_id, type_code, searchable, delivery),
        phone, service_area (id, service_id, radius_km, region_code)
"""


def _write(session: Session, w: Writes, region: str, region_timezone: str) -> None:
    run = lambda sql, **params: session.execute(text(sql), params)  # noqa: E731
    new_orgs = [g for g in w.orgs if g.id is None]
    for org, new_id in zip(new_orgs, _new_ids(session, "organization_id_seq", len(new_orgs))):
        org.id = new_id
    new_locs = [g for g in w.locs if g.id is None]
    for loc, new_id in zip(new_locs, _new_ids(session, "location_id_seq", len(new_locs))):
        loc.id = new_id
    new_svcs = [s for s in w.services if s.id is None]
    for svc, new_id in zip(new_svcs, _new_ids(session, "service_id_seq", len(new_svcs))):
        svc.id = new_id
    touched: set[int] = set()

    if _stage(session, "import_org", [_org_row(g) for g in new_orgs]):
        run(_INSERT_ORGANIZATIONS, region=region)
    changed_orgs = [g for g in w.orgs if g.state is not None and g.changes]
    if _stage(session, "import_org", [_org_row(g) for g in changed_orgs]):
        run(_UPDATE_ORGANIZATIONS)
    touched |= {g.id for g in changed_orgs}

    if _stage(session, "import_loc", [_loc_row(g, region_timezone) for g in new_locs]):
        run(_INSERT_LOCATIONS, region=region)
    changed_locs = [g for g in w.locs if g.state is not None and g.changes]
    if _stage(session, "import_loc", [_loc_row(g, region_timezone) for g in changed_locs]):
        run(_UPDATE_LOCATIONS)
    moved = [g for g in w.locs if g.state is not None and g.moved]
    if _stage(session, "import_move", [(g.id, g.values["lat"], g.values["lon"]) for g in moved]):
        run(_MOVE_LOCATIONS)
    touched |= {g.org.id for g in (*changed_locs, *moved)}

    if _stage(session, "import_svc", [_svc_row(s) for s in new_svcs]):
        run(_INSERT_SERVICES)
        run(_INSERT_SERVICE_AT_LOCATION)
    changed_svcs = [s for s in w.services if s.state is not None and s.changes]
    if _stage(session, "import_svc", [_svc_row(s) for s in changed_svcs]):
        run(_UPDATE_SERVICES)
    relocated = [s for s in w.services if s.state is not None and s.relocated]
    if _stage(session, "import_relocate", [(s.id, s.loc.id) for s in relocated]):
        run(_RELOCATE_SERVICES)
        run(_LOCATE_SERVICES)
    areas = [(s.id, s.loc.id, *_areas_of(s), s.state is None) for s in w.services
             if s.state is None or s.areas is not None]
    areas = [a for a in areas if a[2] is not None]
    if _stage(session, "import_area", areas):
        run(_DELETE_AREAS)
        run(_INSERT_RADIUS_AREAS)
        run(_INSERT_REGION_AREAS, region=region)
    if moved or relocated:
        run(_REDRAW_RADIUS_AREAS, moved=int_array(g.id for g in moved), relocated=int_array(s.id for s in relocated))
    touched |= {s.loc.org.id for s in (*changed_svcs, *relocated) if s.state is not None}
    touched |= {s.loc.org.id for s in w.services if s.areas is not None and s.state is not None}

    touched |= {g.org.id for g in new_locs if g.org.state is not None}
    touched |= {s.loc.org.id for s in new_svcs if s.loc.org.state is not None}
    touched |= _write_phones(session, w)
    existing = touched - {g.id for g in new_orgs}
    if existing:
        run(_BUMP_VERSIONS, ids=int_array(sorted(existing)))
    if len(new_svcs) >= ANALYZE_AFTER:
        # Fresh statistics for the queries that follow (the map, nearest help, the next import): ANALYZE counts
        # this transaction's own new rows. Only the columns those queries filter and join on: the text columns'
        # statistics cost most of an ANALYZE and steer no plan.
        run(_ANALYZE_AFTER_IMPORT)


def _areas_of(svc: ServicePlan) -> tuple[str | None, float | None]:
    if svc.state is None:
        delivery = svc.values.get("delivery") or "on_site"
        if delivery == "on_site":
            return None, None
        return delivery, svc.values.get("radius_km") if delivery == "outreach" else None
    return svc.areas["delivery"], svc.areas["radius_km"]


def _write_phones(session: Session, w: Writes) -> set[int]:
    """Phones of organizations and locations made to match the file: matched by number, their kind and extension
    updated, the missing ones added, the ones left out deleted (the history keeps them)."""
    inserts, updates, deletes, touched = [], [], [], set()
    owners: list[tuple[OrgGroup, LocGroup | None]] = [(g, None) for g in w.orgs] + [(g.org, g) for g in w.locs]
    for org, loc in owners:
        holder = loc or org
        if holder.state is None:
            target, current, ids = holder.values.get("phones", ()), [], []
        elif holder.phone_target is not None:
            target, current, ids = holder.phone_target, holder.state["phones"], holder.state["phone_ids"]
            touched.add(org.id)
        else:
            continue
        by_number = {}
        for phone, phone_id in zip(current, ids):
            if phone.number in by_number:
                deletes.append(phone_id)
            else:
                by_number[phone.number] = (phone, phone_id)
        for phone in target:
            found = by_number.pop(phone.number, None)
            if found is None:
                inserts.append((len(inserts), org.id, loc.id if loc else None, phone.number, phone.kind,
                                phone.extension))
            elif found[0] != phone:
                updates.append((found[1], None, None, phone.number, phone.kind, phone.extension))
        deletes += [phone_id for _, phone_id in by_number.values()]
    if deletes:
        session.execute(text("DELETE FROM phone WHERE id = ANY(CAST(:ids AS int[]))"),
                        {"ids": int_array(sorted(deletes))})
    if _stage(session, "import_phone", updates):
        session.execute(text(_UPDATE_PHONES))
    if _stage(session, "import_phone", inserts):
        session.execute(text(_INSERT_PHONES))
    return touched


def _org_row(g: OrgGroup) -> tuple:
    s, v = g.state or {}, {**g.values, **g.changes}
    status = v.get("status") or s.get("status") or "published"
    external_id = v.get("external_id") if g.state is None else g.changes.get("external_id", s["external_id"])
    return (g.id, external_id, v["name"], *(v.get(k, s.get(k, "")) for k in ("legal_form", "description", "website",
                                                                             "email")),
            status, v.get("verified_at") or s.get("verified_at"))


def _loc_row(g: LocGroup, region_timezone: str) -> tuple:
    s, v = g.state or {}, {**g.values, **g.changes}
    settlement_id, timezone = s.get("settlement_id"), s.get("timezone")
    if g.settlement is not None:
        settlement_id, timezone = g.settlement["id"], g.settlement["timezone"]
    elif g.state is None:
        settlement_id, timezone = None, None
    active = True if g.state is None else g.changes.get("active", s["active"])
    return (g.id, g.org.id, v.get("external_id") if g.state is None else s["external_id"],
            v.get("name", s.get("name", "")), v.get("address", s.get("address", "")), settlement_id,
            v["lat"], v["lon"], v.get("confidential", s.get("confidential", False)),
            v.get("accessibility", s.get("accessibility", "")), timezone or region_timezone, active)


def _svc_row(svc: ServicePlan) -> tuple:
    s, v = svc.state or {}, {**svc.values, **svc.changes}
    defaults = {"type": None, "name": "", "description": "", "age_min_months": None, "age_max_months": None,
                "eligibility": "", "delivery": "on_site", "capacity_total": None, "capacity_free": None,
                "active": True, "conditions": [], "cost": None, "cost_basis": []}
    value = {k: v[k] if k in v else s.get(k, d) for k, d in defaults.items()}
    if svc.state is not None and "active" not in svc.changes:
        value["active"] = s["active"]
    return (svc.id, svc.loc.org.id, svc.loc.id, svc.row.key if svc.state is None else s["external_id"],
            value["type"], value["name"], value["description"], value["age_min_months"], value["age_max_months"],
            value["eligibility"], value["delivery"] or "on_site", value["capacity_total"], value["capacity_free"],
            value["active"], list(value["conditions"] or []), value["cost"], list(value["cost_basis"] or []),
            svc.hours)
