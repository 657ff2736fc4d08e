"""Applying an import: the dry run again (under row locks on the organizations it touches), then its writes, all
in one savepoint of the caller's transaction — any error row and nothing is written.

The writes go through the data layer's bulk path (data/bulk.py): new rows get their ids from the sequences in one
call, each kind of row is COPYed into a staging table and written with one INSERT ... SELECT or UPDATE ... FROM;
nothing goes through one ORM object per row. The database triggers (migration 0008) record every change in the
history, with the actor and the note set by registry/history.py `as_actor`; a file that changes nothing writes
nothing, not even history."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..data import bulk
from ..registry.history import as_actor
from .planning import LocGroup, OrgGroup, Planner, ServicePlan, Writes, bulk_statements, collector_paused
from .reading import Table
from .results import ImportPlan
from .rows import Problem

ANALYZE_AFTER = 5000  # new services from which an import refreshes the tables' statistics
SOURCE = "import"  # organization.source of the organizations an import adds


class ImportRejected(Exception):
    """The import was not applied (rows with errors, or a concurrent change); `plan` says why."""

    def __init__(self, plan: ImportPlan):
        super().__init__(f"{len(plan.errors)} problem(s)")
        self.plan = plan


def apply_import(session: Session, table: Table, region_code: str, actor) -> ImportPlan:
    """Write the file into the region's registry, all or nothing, recorded in the history with the note
    "import <filename>". Raises auth.policy.Forbidden, ImportRejected(plan) when any row has an error. Importing
    the same file again finds every row unchanged and writes nothing. Does not commit."""
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
            except IntegrityError:  # a unique external id taken meanwhile by another import, say
                plan.problems.append(Problem(None, None, "concurrent_change",
                                             "Пока шла загрузка, реестр изменили (например, тот же код записи "
                                             "добавлен другой загрузкой). Повторите загрузку."))
                raise ImportRejected(plan) from None
    return plan


# --- the writes ---------------------------------------------------------------------------------------------------
def _write(session: Session, w: Writes, region: str, region_timezone: str) -> None:
    """The plan's writes, kind by kind; the versions of the existing organizations they touch moved on once."""
    new_orgs, new_locs, new_svcs = _draw_ids(session, w)
    touched = _write_organizations(session, w, new_orgs, region)
    touched |= _write_locations(session, w, new_locs, region, region_timezone)
    touched |= _write_services(session, w, new_svcs, region)
    touched |= _write_phones(session, w)
    existing = touched - {g.id for g in new_orgs}
    if existing:
        bulk.bump_versions(session, sorted(existing))
    if len(new_svcs) >= ANALYZE_AFTER:
        # Fresh statistics for the queries that follow (the map, nearest help, the next import).
        bulk.analyze_after_import(session)


def _draw_ids(session: Session, w: Writes) -> tuple[list[OrgGroup], list[LocGroup], list[ServicePlan]]:
    """Ids for the new organizations, locations and services, drawn from their sequences in one call each."""
    new = ([g for g in w.orgs if g.id is None], [g for g in w.locs if g.id is None],
           [s for s in w.services if s.id is None])
    for items, sequence in zip(new, ("organization_id_seq", "location_id_seq", "service_id_seq")):
        for item, new_id in zip(items, bulk.new_ids(session, sequence, len(items))):
            item.id = new_id
    return new


def _write_organizations(session: Session, w: Writes, new_orgs: list[OrgGroup], region: str) -> set[int]:
    """New organizations inserted, changed ones updated; the ids of those changed."""
    if bulk.stage(session, "staged_organization", [_org_row(g, region) for g in new_orgs]):
        bulk.insert_staged(session, "organization")
    changed = [g for g in w.orgs if g.state is not None and g.changes]
    if bulk.stage(session, "staged_organization", [_org_row(g, region) for g in changed]):
        bulk.update_staged(session, "organization")
    return {g.id for g in changed}


def _write_locations(session: Session, w: Writes, new_locs: list[LocGroup], region: str,
                     region_timezone: str) -> set[int]:
    """New locations inserted, changed ones updated, moved ones moved (their radius areas redrawn with the
    services'); the ids of the existing organizations touched."""
    if bulk.stage(session, "staged_location", [_loc_row(g, region, region_timezone) for g in new_locs]):
        bulk.insert_staged(session, "location")
    changed = [g for g in w.locs if g.state is not None and g.changes]
    if bulk.stage(session, "staged_location", [_loc_row(g, region, region_timezone) for g in changed]):
        bulk.update_staged(session, "location")
    if bulk.stage(session, "staged_move", [(g.id, g.values["lat"], g.values["lon"]) for g in _moved(w)]):
        bulk.update_staged(session, "move")
    return {g.org.id for g in (*changed, *_moved(w))} | {g.org.id for g in new_locs if g.org.state is not None}


def _moved(w: Writes) -> list[LocGroup]:
    return [g for g in w.locs if g.state is not None and g.moved]


def _write_services(session: Session, w: Writes, new_svcs: list[ServicePlan], region: str) -> set[int]:
    """New services inserted at their locations, changed ones updated, relocated ones moved, areas made to match,
    radius areas redrawn where their location moved; the ids of the existing organizations touched."""
    if bulk.stage(session, "staged_service", [_svc_row(s) for s in new_svcs]):
        bulk.insert_staged(session, "service")
    changed = [s for s in w.services if s.state is not None and s.changes]
    if bulk.stage(session, "staged_service", [_svc_row(s) for s in changed]):
        bulk.update_staged(session, "service")
    relocated = [s for s in w.services if s.state is not None and s.relocated]
    if bulk.stage(session, "staged_relocation", [(s.id, s.loc.id) for s in relocated]):
        bulk.update_staged(session, "relocation")
    areas = [(s.id, s.loc.id, *_areas_of(s), region, s.state is None) for s in w.services
             if s.state is None or s.areas is not None]
    if bulk.stage(session, "staged_area", [a for a in areas if a[2] is not None]):
        bulk.replace_areas(session)
    moved = _moved(w)
    if moved or relocated:
        bulk.redraw_radius_areas(session, moved_locations=[g.id for g in moved], services=[s.id for s in relocated])
    touched = {s.loc.org.id for s in (*changed, *relocated) if s.state is not None}
    touched |= {s.loc.org.id for s in w.services if s.areas is not None and s.state is not None}
    return touched | {s.loc.org.id for s in new_svcs if s.loc.org.state is not None}


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
        bulk.delete_phones(session, sorted(deletes))
    if bulk.stage(session, "staged_phone", updates):
        bulk.update_staged(session, "phone")
    if bulk.stage(session, "staged_phone", inserts):
        bulk.insert_staged(session, "phone")
    return touched


def _org_row(g: OrgGroup, region: str) -> tuple:
    s, v = g.state or {}, {**g.values, **g.changes}
    status = v.get("status") or s.get("status") or "published"
    external_id = v.get("external_id") if g.state is None else g.changes.get("external_id", s["external_id"])
    return (g.id, external_id, v["name"], *(v.get(k, s.get(k, "")) for k in ("legal_form", "description", "website",
                                                                             "email")),
            status, v.get("verified_at") or s.get("verified_at"), SOURCE, region, False)


def _loc_row(g: LocGroup, region: str, region_timezone: str) -> tuple:
    s, v = g.state or {}, {**g.values, **g.changes}
    settlement_id, timezone = s.get("settlement_id"), s.get("timezone")
    if g.settlement is not None:
        settlement_id, timezone = g.settlement["id"], g.settlement["timezone"]
    elif g.state is None:
        settlement_id, timezone = None, None
    active = True if g.state is None else g.changes.get("active", s["active"])
    return (g.id, g.org.id, v.get("external_id") if g.state is None else s["external_id"],
            v.get("name", s.get("name", "")), v.get("address", s.get("address", "")), settlement_id,
            v["lat"], v["lon"], v.get("confidential", s.get("confidential", False)), False,
            v.get("accessibility", s.get("accessibility", "")), timezone or region_timezone, region, active)


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
            value["eligibility"], value["delivery"] or "on_site", value["capacity_total"], value["capacity_free"], None,
            value["active"], list(value["conditions"] or []), value["cost"], list(value["cost_basis"] or []),
            svc.hours)
