"""Carrying a curator's edits onto a version someone else saved meanwhile: a three-way merge of documents.

`base` is the document as the curator opened it (kept in the form), `current` the one stored now, `mine` what the
curator submitted. A field the curator changed (mine differs from base) takes the curator's value; every other
field keeps the stored one, so the colleague's edits survive; where both changed a field, the curator's value is
taken and the conflict page says so. Rows are matched by id; new rows of the curator are added after the stored
ones; references between parts (a service's place, a phone's place) are followed by id."""
from __future__ import annotations

import copy

from .present import LOCATION_COMPARED, ORG_COMPARED, PHONE_COMPARED, SERVICE_COMPARED, same

ORG_MERGED = tuple(f for f in ORG_COMPARED if f not in ("status", "verified_at", "region_code"))
ROWS = {"locations": LOCATION_COMPARED, "services": SERVICE_COMPARED + ("outreach_radius_km", "area_geojson",
                                                                           "regions"),
        "phones": PHONE_COMPARED + ("extension",)}
REFS = {"services": (("location", "locations"),), "phones": (("location", "locations"), ("service", "services"))}


def _with_ref_ids(doc: dict) -> dict:
    """A copy whose index references also name their target by id ("new", i for rows not saved yet)."""
    doc = copy.deepcopy(doc)
    for kind, refs in REFS.items():
        for row in doc.get(kind) or []:
            for ref, target in refs:
                index = row.get(ref)
                targets = doc.get(target) or []
                if isinstance(index, int) and 0 <= index < len(targets):
                    row[f"_{ref}"] = targets[index].get("id") or ("new", index)
                else:
                    row[f"_{ref}"] = None
    return doc


def changed(name: str, a, b) -> bool:
    return not same(name, a, b)


def merge(base: dict, current: dict, mine: dict) -> dict:
    """The current document with the curator's changes (mine against base) applied."""
    base, current, mine = _with_ref_ids(base), _with_ref_ids(current), _with_ref_ids(mine)
    merged = copy.deepcopy(current)
    for name in ORG_MERGED:
        if changed(name, mine.get(name), base.get(name)):
            merged[name] = mine.get(name)
    new_index: dict[str, dict[int, int]] = {}
    for kind, fields in ROWS.items():
        before = {r["id"]: r for r in base.get(kind) or [] if r.get("id") is not None}
        now = {r["id"]: r for r in merged.get(kind) or [] if r.get("id") is not None}
        kept_ids = {r.get("id") for r in mine.get(kind) or []}
        new_index[kind] = {}
        for i, row in enumerate(mine.get(kind) or []):
            if row.get("id") is None:
                new_index[kind][i] = len(merged[kind])
                merged[kind].append(copy.deepcopy(row))
                continue
            if row["id"] not in now or row["id"] not in before:
                continue  # gone from the stored version (a phone deleted meanwhile): the deletion stands
            target, old = now[row["id"]], before[row["id"]]
            for name in fields + tuple(f"_{ref}" for ref, _ in REFS.get(kind, ())):
                if changed(name, row.get(name), old.get(name)):
                    target[name] = copy.deepcopy(row.get(name))
        if kind == "phones":  # phones the curator deleted go, unless changed meanwhile
            merged[kind] = [r for r in merged[kind] if r.get("id") is None or r["id"] in kept_ids
                            or r["id"] not in before or changed("number", r.get("number"), before[r["id"]].get("number"))]
    for kind, refs in REFS.items():
        for row in merged.get(kind) or []:
            for ref, target in refs:
                key = row.pop(f"_{ref}", None)
                if isinstance(key, tuple):
                    row[ref] = new_index[target].get(key[1])
                elif key is not None:
                    row[ref] = next((j for j, t in enumerate(merged[target]) if t.get("id") == key), None)
                else:
                    row[ref] = None
    for kind in ROWS:
        for row in merged.get(kind) or []:
            row.pop("_location", None), row.pop("_service", None)
    return merged
