"""The registry's change history: who changed which field of which record, when, from what to what.

The rows are written by database triggers (migration 0008) on every write path; this module tells the triggers
who is acting (`as_actor`, transaction-local settings) and reads the history back.

A location's point is one field, `point` {"lat", "lon"} (migration 0016). Before 0016 a move was recorded as a
`lat` row and a `lon` row: read back, the two rows of one location in one change set are one `point` change (with
the lower id of the two), and a whole record's lat and lon are its point, so older moves are shown and reverted as
one too."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..auth.policy import viewer_from
from ..data import history as data
from ..data.history import set_note  # noqa: F401  (part of this module's contract: registry/edit.py uses it)

POINT = "point"
COORDINATES = ("lat", "lon")


def as_actor(session: Session, actor, note: str = "") -> int:
    """Record the following writes of this transaction as done by `actor` (a Viewer, or None for the system)
    with this note; starts a new change set and returns its id. Call it inside the transaction that writes
    (the settings end with it)."""
    viewer = viewer_from(actor)
    return data.start_change_set(session, viewer.account_id, viewer.email or "", note)


def history(session: Session, org_id: int, *, limit: int | None = None, before_id: int | None = None) -> list[dict]:
    """An organization's changes, newest first: {"id", "at", "account_id", "actor_email", "entity", "entity_id",
    "field", "old", "new", "change_set", "note", "op"}. `field` is None when a whole record was inserted (`new`
    holds it) or deleted (`old` holds it)."""
    changes, moves = [], set()
    for row in data.organization_changes(session, org_id, limit=limit, before_id=before_id):
        if not _is_coordinate(row):
            changes.append(_record_point(row))
        elif (row["change_set"], row["entity_id"]) not in moves:
            moves.add((row["change_set"], row["entity_id"]))
            changes.append(_as_point(session, row))
    return changes


def change_by_id(session: Session, change_id: int) -> dict | None:
    """One change; either row of a move recorded as lat and lon stands for the whole move."""
    row = data.change(session, change_id)
    if row is None:
        return None
    return _as_point(session, row) if _is_coordinate(row) else _record_point(row)


def _is_coordinate(row) -> bool:
    return row["entity"] == "location" and row["op"] == "update" and row["field"] in COORDINATES


def _as_point(session: Session, row: dict) -> dict:
    """A coordinate row recorded before migration 0016 with its pair, as one `point` change: the lower id, old and
    new {"lat", "lon"} (only the coordinate that changed, when one alone did)."""
    pair = data.coordinate_changes(session, row["change_set"], row["entity_id"])
    return {**pair[0], "field": POINT, "old": {r["field"]: r["old"] for r in pair},
            "new": {r["field"]: r["new"] for r in pair}}


def _record_point(row: dict) -> dict:
    """A whole location record written before migration 0016, with its lat and lon as its point."""
    side = "new" if row["op"] == "insert" else "old"
    record = row[side]
    if row["entity"] != "location" or row["field"] is not None or not isinstance(record, dict) \
            or not set(COORDINATES) <= record.keys():
        return row
    rest = {k: v for k, v in record.items() if k not in COORDINATES}
    return {**row, side: {**rest, POINT: {c: record[c] for c in COORDINATES}}}
