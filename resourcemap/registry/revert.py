"""Undoing one recorded change by editing the organization's document: the field set back to its old value (a
service's weekly hours as a whole, a location's point as both coordinates), an inserted record deactivated
(locations, services, the organization) or removed (phones), a deleted phone put back. Opening hours recorded slot
by slot before migration 0011 (entity "schedule") are found by their day and times. registry/edit.py
`revert_change` then saves the document like any other edit, so a revert is checked, version-locked and itself
recorded."""
from __future__ import annotations

from .hours import document_slots, hhmm


class NotRevertable(ValueError):
    """This change cannot be undone by editing the document (derived fields, records made with others)."""


def _not_revertable():
    return NotRevertable("Это изменение нельзя отменить автоматически; исправьте запись в редакторе.")


def _find(items: list[dict], item_id) -> dict:
    for item in items:
        if item.get("id") == item_id:
            return item
    raise _not_revertable()


def _index_of(items: list[dict], item_id) -> int | None:
    if item_id is None:
        return None
    for i, item in enumerate(items):
        if item.get("id") == item_id:
            return i
    raise _not_revertable()


def apply_inverse(doc: dict, change: dict, service_id: int | None) -> None:
    """Edit `doc` so that saving it undoes `change` (`service_id`: the service a schedule, area or
    service_at_location row belongs to)."""
    entity, op, field, old, new = change["entity"], change["op"], change["field"], change["old"], change["new"]
    if op == "update":
        _apply_old_value(doc, entity, change["entity_id"], field, old, new, service_id)
    elif op == "insert":
        if entity == "organization":
            doc["status"] = "inactive"
        elif entity in ("location", "service"):
            _find(doc[entity + "s"], change["entity_id"])["active"] = False
        elif entity == "phone":
            doc["phones"] = [p for p in doc["phones"] if p["id"] != change["entity_id"]]
        elif entity == "schedule":
            svc = _find(doc["services"], new["service_id"])
            svc["schedule"].remove(_slot_of(svc, new))
        else:
            raise _not_revertable()
    else:  # delete
        if entity == "phone":
            doc["phones"].append({"id": None, "number": old["number"], "extension": old.get("extension", ""),
                                  "kind": old["kind"], "note": old.get("note", ""),
                                  "location": _index_or_none(doc["locations"], old.get("location_id")),
                                  "service": _index_or_none(doc["services"], old.get("service_id"))})
        elif entity == "schedule":
            svc = _find(doc["services"], old["service_id"])
            svc["schedule"].append({"weekday": old["weekday"], "opens": hhmm(old["opens_minute"]),
                                    "closes": hhmm(old["closes_minute"])})
        else:
            raise _not_revertable()


def _index_or_none(items: list[dict], item_id) -> int | None:
    try:
        return _index_of(items, item_id)
    except NotRevertable:
        return None


_DOC_FIELD = {"type_code": "type"}
_DERIVED = {"id", "organization_id", "region_code", "is_synthetic", "service_id"}


def _apply_old_value(doc: dict, entity: str, entity_id: int, field: str, old, new, service_id: int | None) -> None:
    if field in _DERIVED:
        raise _not_revertable()
    if entity == "organization":
        if field not in doc:
            raise _not_revertable()
        doc[field] = old
    elif entity == "service" and field == "hours":
        _find(doc["services"], entity_id)["schedule"] = document_slots(old)
    elif entity == "location" and field == "point":  # both coordinates (one alone, when only it changed before 0016)
        if not isinstance(old, dict) or not old or not old.keys() <= {"lat", "lon"}:
            raise _not_revertable()
        _find(doc["locations"], entity_id).update(old)
    elif entity in ("location", "service"):
        item = _find(doc[entity + "s"], entity_id)
        key = _DOC_FIELD.get(field, field)
        if key not in item:
            raise _not_revertable()
        item[key] = old
    elif entity == "phone":
        phone = _find(doc["phones"], entity_id)
        if field == "location_id":
            phone["location"] = _index_of(doc["locations"], old)
        elif field in phone:
            phone[field] = old
        else:
            raise _not_revertable()
    elif entity == "schedule":  # before 0011 an update names one field only: the slot is found by the others
        raise _not_revertable()
    elif entity == "service_at_location" and field == "location_id" and service_id is not None:
        _find(doc["services"], service_id)["location"] = _index_of(doc["locations"], old)
    elif entity == "service_area" and service_id is not None:
        svc = _find(doc["services"], service_id)
        if field == "radius_km":
            svc["outreach_radius_km"] = old
        elif field == "area":
            svc["area_geojson"] = old
        elif field == "region_code" and svc.get("regions"):
            svc["regions"] = sorted({*(r for r in svc["regions"] if r != new), *([old] if old else [])})
        else:
            raise _not_revertable()
    else:
        raise _not_revertable()


def _slot_of(svc: dict, record: dict) -> dict:
    """The document's slot equal to a schedule row recorded before migration 0011."""
    wanted = (record["weekday"], hhmm(record["opens_minute"]), hhmm(record["closes_minute"]))
    for slot in svc["schedule"]:
        if (slot["weekday"], slot["opens"], slot["closes"]) == wanted:
            return slot
    raise _not_revertable()
