"""Editing an organization as one document (the shape of data/demo/registry.json plus ids and a version).

    organization_document(session, org_id) -> dict | None
    validate_document(session, doc, actor, *, region_exception_reason=None) -> list[Problem]
    create_document(session, doc, actor, *, region_exception_reason=None, change_note="") -> int
    save_document(session, org_id, doc, expected_version, actor, *, region_exception_reason=None,
                  change_note="") -> int                          (the new version)
    set_status(session, org_id, status, expected_version, actor) -> int
    mark_verified(session, org_id, actor) -> None
    history(session, org_id) -> list[dict]                        (registry/history.py)
    revert_change(session, change_id, expected_version, actor) -> int
    stale_organizations(session, region_codes, days=180) -> list[dict]

None of them commits: the caller commits once per user action. Each runs in a savepoint, so a refused action
(Conflict, InvalidDocument, Forbidden) leaves nothing behind and the session usable.

Saving diffs the stored document against the new one and writes only what changed; the database triggers of
migration 0008 record each changed field with the actor set by `as_actor`. Two saves of the same version can never
both win: the version is bumped first with `UPDATE ... WHERE version = :expected`, which takes the row lock, so the
second waits and then finds the version moved (Conflict, carrying the current document). Nothing is deleted:
a location or service missing from the new document is deactivated; a phone missing from it is deleted (the
history keeps it)."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from ..auth.policy import Forbidden, Refused, require_editor, require_region_edit  # noqa: F401  (Forbidden: callers')
from ..data import documents, writes
from ..data.history import service_of_record
from ..data.validation import area_as_stored
from ..limits import MAX_ID, MAX_NOTE, MIN_INTEGER, STALE_AFTER_DAYS
from . import hours, write
from .history import as_actor, change_by_id, history, set_note  # noqa: F401  (history is part of this module's contract)
from .revert import NotRevertable, apply_inverse
from .validate import Problem, check_document

# An editing action that was refused; nothing was written. Forbidden (auth/policy.py: the actor may not edit this
# organization's region, or may not edit at all) is one of them.
EditError = Refused


class NotFound(EditError):
    pass


class Conflict(EditError):
    """Someone saved the organization since `yours` was read: the current document and yours, to compare."""

    def __init__(self, current: dict | None, yours):
        super().__init__("Запись уже изменил другой пользователь.")
        self.current = current
        self.yours = yours


class InvalidDocument(EditError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems[:5]))
        self.problems = problems


# --- reading ----------------------------------------------------------------------------------------------------

def organization_document(session: Session, org_id: int) -> dict | None:
    """The organization with all its locations, services (active or not) and phones, as one document; None when
    there is no such organization. References between parts are indexes into the document's lists."""
    if not isinstance(org_id, int) or not 0 < org_id <= MAX_ID:
        return None
    org = documents.organization(session, org_id)
    if org is None:
        return None
    doc = dict(org)
    doc["verified_at"] = org["verified_at"].isoformat() if org["verified_at"] else None
    doc["updated_at"] = org["updated_at"].isoformat() if org["updated_at"] else None
    doc["recheck_since"] = org["recheck_since"].isoformat() if org["recheck_since"] else None
    doc["synthetic"] = doc.pop("is_synthetic")
    doc["locations"] = documents.organization_locations(session, org_id)
    location_index = {loc["id"]: i for i, loc in enumerate(doc["locations"])}
    doc["services"] = []
    for row in documents.organization_services(session, org_id):
        svc = {k: v for k, v in row.items() if k not in ("location_id", "hours", "areas")}
        svc["location"] = location_index.get(row["location_id"])
        svc["schedule"] = hours.document_slots(row["hours"])
        radius = [a for a in row["areas"] if a["radius_km"] is not None]
        drawn = [a for a in row["areas"] if a["area"] is not None]
        regions = sorted(a["region_code"] for a in row["areas"] if a["region_code"])
        svc["outreach_radius_km"] = radius[0]["radius_km"] if radius else None
        svc["area_geojson"] = drawn[0]["area"] if drawn else None
        svc["regions"] = regions if svc["delivery"] == "online" else None
        doc["services"].append(svc)
    service_index = {svc["id"]: i for i, svc in enumerate(doc["services"])}
    doc["phones"] = []
    for row in documents.organization_phones(session, org_id):
        phone = {k: v for k, v in row.items() if k not in ("location_id", "service_id")}
        phone["location"] = location_index.get(row["location_id"])
        phone["service"] = service_index.get(row["service_id"])
        doc["phones"].append(phone)
    return doc


def validate_document(session: Session, doc, actor, *, region_exception_reason: str | None = None) -> list[Problem]:
    """Every problem of the document (for an existing organization when doc["id"] is set), none when it may be
    saved by this actor. Writes nothing."""
    stored = None
    if isinstance(doc, dict) and isinstance(doc.get("id"), int):
        stored = organization_document(session, doc["id"])
    problems, _clean = check_document(session, doc, actor, region_exception_reason=region_exception_reason,
                                      stored=stored)
    return problems


# --- writing ----------------------------------------------------------------------------------------------------

def _require_region(actor, region_code: str) -> None:
    require_editor(actor)
    require_region_edit(actor, region_code)


def _note(change_note: str, reason: str | None, exceptions: list[str]) -> str:
    parts = [change_note.strip()] if change_note and change_note.strip() else []
    if reason and reason.strip() and exceptions:
        parts.append(f"Исключение из правила региона ({', '.join(exceptions)}): {reason.strip()}")
    return "; ".join(parts)[:MAX_NOTE]


def _stored_or_404(session: Session, org_id: int) -> dict:
    stored = organization_document(session, org_id)
    if stored is None:
        raise NotFound("Такой организации нет.")
    return stored


def _bump_version(session: Session, org_id: int, expected_version, yours) -> int:
    """Take the organization's row lock and move its version on, or raise Conflict."""
    if isinstance(expected_version, str) and expected_version.strip().isdigit():
        expected_version = int(expected_version)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) \
            or not MIN_INTEGER <= expected_version < MAX_ID:
        raise InvalidDocument([Problem("version", "required", "Не указана версия записи.")])
    moved = writes.bump_versions(session, [org_id], expected=expected_version)
    if not moved:
        raise Conflict(organization_document(session, org_id), yours)
    return moved[0]


def create_document(session: Session, doc, actor, *, region_exception_reason: str | None = None,
                    change_note: str = "") -> int:
    """A new organization from a document (ids and version in it are ignored); returns its id."""
    require_editor(actor)
    doc = _without_ids(doc)
    with session.begin_nested():
        problems, clean = check_document(session, doc, actor, region_exception_reason=region_exception_reason)
        if problems:
            raise InvalidDocument(problems)
        as_actor(session, actor, _note(change_note, region_exception_reason, clean["region_exceptions"]))
        org_id = write.insert_organization(session, {**clean, "synthetic": False})
        location_ids = [write.insert_location(session, org_id, loc) for loc in clean["locations"]]
        service_ids = [write.insert_service(session, org_id, svc, location_ids[svc["location"]],
                                            clean["locations"][svc["location"]]["region_code"])
                       for svc in clean["services"]]
        for phone in clean["phones"]:
            write.insert_phone(session, org_id, phone, _at(location_ids, phone["location"]),
                               _at(service_ids, phone["service"]))
    return org_id


def _without_ids(doc):
    """A copy of the document whose parts are all new (create_document ignores ids)."""
    if not isinstance(doc, dict):
        return doc
    copy = dict(doc)
    for part in ("locations", "services", "phones"):
        if isinstance(doc.get(part), list):
            copy[part] = [{**item, "id": None} if isinstance(item, dict) else item for item in doc[part]]
    return copy


def save_document(session: Session, org_id: int, doc, expected_version: int, actor, *,
                  region_exception_reason: str | None = None, change_note: str = "") -> int:
    """Write what changed between the stored organization and `doc`; returns the new version.
    Raises NotFound, Forbidden (not the actor's region), Conflict (version moved), InvalidDocument."""
    return _save(session, org_id, doc, expected_version, actor, region_exception_reason=region_exception_reason,
                 change_note=change_note)


def _save(session: Session, org_id: int, doc, expected_version, actor, *, region_exception_reason=None,
          change_note: str = "", verified_at_from_doc: bool = False) -> int:
    stored = _stored_or_404(session, org_id)
    _require_region(actor, stored["region_code"])
    with session.begin_nested():
        as_actor(session, actor, change_note)
        version = _bump_version(session, org_id, expected_version, doc)
        stored = organization_document(session, org_id)  # under the row lock: the latest committed state
        problems, clean = check_document(session, doc, actor, region_exception_reason=region_exception_reason,
                                         stored=stored)
        if problems:
            raise InvalidDocument(problems)
        if clean["region_exceptions"]:
            set_note(session, _note(change_note, region_exception_reason, clean["region_exceptions"]))
        _write_diff(session, org_id, stored, clean, verified_at_from_doc=verified_at_from_doc)
    return version


_ORG_FIELDS = ("name", "legal_form", "description", "website", "email", "status", "source", "external_id")
_LOCATION_FIELDS = ("external_id", "name", "address", "settlement_id", "confidential", "approximate", "accessibility",
                    "timezone", "active")
_SERVICE_FIELDS = {"external_id": "external_id", "type": "type_code", "name": "name", "description": "description",
                   "age_min_months": "age_min_months", "age_max_months": "age_max_months",
                   "eligibility": "eligibility", "delivery": "delivery", "capacity_total": "capacity_total",
                   "capacity_free": "capacity_free", "active": "active", "conditions": "conditions", "cost": "cost",
                   "cost_basis": "cost_basis"}
_PHONE_FIELDS = ("number", "extension", "kind", "note")


def _at(ids: list[int], index: int | None) -> int | None:
    return ids[index] if index is not None else None


def _write_diff(session: Session, org_id: int, stored: dict, clean: dict, *, verified_at_from_doc: bool) -> None:
    """Write what changed between the stored document and the clean one, part by part; the organization's region
    follows its first active location."""
    fields = _ORG_FIELDS + (("verified_at",) if verified_at_from_doc else ())
    old_verified = dt.date.fromisoformat(stored["verified_at"]) if stored["verified_at"] else None
    before = {**stored, "verified_at": old_verified}
    writes.update_row(session, "organization", org_id,
                      {f: clean[f] for f in fields if clean[f] != before[f]})
    location_ids, moved = _write_locations(session, org_id, stored, clean)
    service_ids = _write_services(session, org_id, stored, clean, location_ids, moved)
    _write_phones(session, org_id, stored, clean, location_ids, service_ids)
    writes.refresh_organization_region(session, org_id)


def _write_locations(session: Session, org_id: int, stored: dict, clean: dict) -> tuple[list[int], set[int]]:
    """Locations updated in place, new ones added, the ones left out deactivated; (the id of each location of the
    clean document, the ids of those moved)."""
    stored_locations = {loc["id"]: loc for loc in stored["locations"]}
    location_ids, moved = [], set()
    for loc in clean["locations"]:
        old = stored_locations.get(loc["id"])
        if old is None:
            location_ids.append(write.insert_location(session, org_id, loc))
            continue
        location_ids.append(loc["id"])
        changes = {f: loc[f] for f in _LOCATION_FIELDS if loc[f] != old[f]}
        if (loc["lat"], loc["lon"]) != (old["lat"], old["lon"]):
            writes.move_location(session, loc["id"], loc["lat"], loc["lon"])
            moved.add(loc["id"])
        if loc["region_code"] != old["region_code"]:
            changes["region_code"] = loc["region_code"]
        writes.update_row(session, "location", loc["id"], changes)
    for old in stored["locations"]:
        if old["id"] not in location_ids and old["active"]:
            writes.update_row(session, "location", old["id"], {"active": False})
    return location_ids, moved


def _write_services(session: Session, org_id: int, stored: dict, clean: dict, location_ids: list[int],
                    moved: set[int]) -> list[int]:
    """Services updated in place with their location, hours and areas, new ones added, the ones left out
    deactivated; the id of each service of the clean document."""
    stored_services = {svc["id"]: svc for svc in stored["services"]}
    service_ids = []
    for svc in clean["services"]:
        location_id = location_ids[svc["location"]]
        region = clean["locations"][svc["location"]]["region_code"]
        old = stored_services.get(svc["id"])
        if old is None:
            service_ids.append(write.insert_service(session, org_id, svc, location_id, region))
            continue
        service_ids.append(svc["id"])
        changes = {column: svc[f] for f, column in _SERVICE_FIELDS.items() if svc[f] != old[f]}
        new_hours = hours.to_multirange(svc["schedule"])
        if new_hours != hours.to_multirange(old["schedule"]):
            changes["hours"] = new_hours
        writes.update_row(session, "service", svc["id"], changes)
        old_location_id = stored["locations"][old["location"]]["id"] if old["location"] is not None else None
        if old_location_id is None:
            writes.place_service(session, svc["id"], location_id)
        elif old_location_id != location_id:
            writes.relocate_service(session, svc["id"], location_id)
        _write_areas(session, svc["id"], location_id, region, svc,
                     relocated=old_location_id != location_id or location_id in moved)
    for old in stored["services"]:
        if old["id"] not in service_ids and old["active"]:
            writes.update_row(session, "service", old["id"], {"active": False})
    return service_ids


def _write_phones(session: Session, org_id: int, stored: dict, clean: dict, location_ids: list[int],
                  service_ids: list[int]) -> None:
    """Phones updated (their number, kind, place), new ones added, the ones left out deleted."""
    stored_phones = {ph["id"]: ph for ph in stored["phones"]}
    kept = set()
    for phone in clean["phones"]:
        location_id, service_id = _at(location_ids, phone["location"]), _at(service_ids, phone["service"])
        old = stored_phones.get(phone["id"])
        if old is None:
            write.insert_phone(session, org_id, phone, location_id, service_id)
            continue
        kept.add(phone["id"])
        changes = {f: phone[f] for f in _PHONE_FIELDS if phone[f] != old[f]}
        if location_id != _at([loc["id"] for loc in stored["locations"]], old["location"]):
            changes["location_id"] = location_id
        if service_id != _at([svc["id"] for svc in stored["services"]], old["service"]):
            changes["service_id"] = service_id
        writes.update_row(session, "phone", phone["id"], changes)
    gone = [ph["id"] for ph in stored["phones"] if ph["id"] not in kept]
    if gone:
        writes.delete_phones(session, gone)


def _write_areas(session: Session, service_id: int, location_id: int, region: str, svc: dict, *,
                 relocated: bool) -> None:
    """The service's areas made to match its delivery; a radius area is redrawn when its location moved."""
    stored = documents.service_areas(session, service_id)
    wanted = write.service_areas_of(svc, region)
    if wanted and wanted[0]["area_geojson"]:  # compare drawn areas as PostGIS writes them back
        wanted[0]["area_geojson"] = area_as_stored(session, wanted[0]["area_geojson"])

    def key(a: dict):
        return (a["radius_km"], a["region_code"], a.get("area_geojson", a.get("area")))

    remaining = list(stored)
    for area in wanted:
        match = next((s for s in remaining if key(s) == key(area)), None)
        if match is None:
            write.insert_service_area(session, service_id, location_id, area)
        else:
            remaining.remove(match)
    if remaining:
        writes.delete_service_areas(session, [s["id"] for s in remaining])
    if relocated:
        writes.redraw_radius_areas(session, services=[service_id])


def set_status(session: Session, org_id: int, status: str, expected_version: int, actor) -> int:
    """Publish, send back to draft, or deactivate ('inactive') an organization; returns the new version."""
    stored = _stored_or_404(session, org_id)
    _require_region(actor, stored["region_code"])
    with session.begin_nested():
        as_actor(session, actor, "")
        version = _bump_version(session, org_id, expected_version, {"status": status})
        stored = organization_document(session, org_id)
        problems, _clean = check_document(session, {**stored, "status": status}, actor, stored=stored)
        problems = [p for p in problems if p.field == "status"]
        if problems:
            raise InvalidDocument(problems)
        if stored["status"] != status:
            writes.update_row(session, "organization", org_id, {"status": status})
    return version


def mark_verified(session: Session, org_id: int, actor) -> None:
    """"Checked today": the organization's verification date becomes today (recorded in the history). The version
    does not move: the date is not written by save_document, so no editor's document is made stale by it. A mark
    for re-checking (a confirmed problem report, registry/reports.py) is cleared with it."""
    stored = _stored_or_404(session, org_id)
    _require_region(actor, stored["region_code"])
    with session.begin_nested():
        as_actor(session, actor, "Проверено")
        writes.mark_verified(session, org_id)


def stale_organizations(session: Session, region_codes, days: int = STALE_AFTER_DAYS) -> list[dict]:
    """Organizations (published or draft) of these regions (all when None) not checked for `days` days or never, or
    marked for re-checking (a confirmed problem report), those first, then the longest unchecked: {"id", "name",
    "region_code", "status", "verified_at", "days_since_check", "recheck_since"}."""
    rows = documents.stale_organizations(session, None if region_codes is None else list(region_codes), days)
    return [{**r, "verified_at": r["verified_at"].isoformat() if r["verified_at"] else None,
             "recheck_since": r["recheck_since"].isoformat() if r["recheck_since"] else None} for r in rows]


# --- reverting --------------------------------------------------------------------------------------------------

def revert_change(session: Session, change_id: int, expected_version: int, actor) -> int:
    """Set the field (or record) of one recorded change back as it was before it; the revert is itself saved
    through save_document, so it is checked, version-locked and recorded. Returns the new version."""
    change = change_by_id(session, change_id) if isinstance(change_id, int) and 0 < change_id < 2**63 else None
    if change is None or change["organization_id"] is None:
        raise NotFound("Такого изменения нет.")
    org_id = change["organization_id"]
    stored = _stored_or_404(session, org_id)
    _require_region(actor, stored["region_code"])
    doc = json.loads(json.dumps(stored, default=str))
    try:
        apply_inverse(doc, change, _service_of(session, change))
    except NotRevertable as error:
        raise InvalidDocument([Problem("change", "not_revertable", str(error))]) from None
    return _save(session, org_id, doc, expected_version, actor, change_note=f"Отмена изменения №{change_id}",
                 verified_at_from_doc=True)


def _service_of(session: Session, change: dict) -> int | None:
    if change["entity"] not in ("schedule", "service_area", "service_at_location"):
        return None
    for record in (change["old"], change["new"]):
        if isinstance(record, dict) and record.get("service_id") is not None:
            return record["service_id"]
    if change["entity"] == "schedule":  # a slot recorded before migration 0011 always names its service
        return None
    return service_of_record(session, change["entity"], change["entity_id"])
