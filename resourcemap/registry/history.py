"""The registry's change history: who changed which field of which record, when, from what to what.

The rows are written by database triggers (migration 0008) on every write path; this module tells the triggers
who is acting (`as_actor`, transaction-local settings) and reads the history back.

A location's point is one field, `point` {"lat", "lon"} (migration 0016). Before 0016 a move was recorded as a
`lat` row and a `lon` row: read back, the two rows of one location in one change set are one `point` change (with
the lower id of the two), and a whole record's lat and lon are its point, so older moves are shown and reverted as
one too."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_AS_ACTOR = text("""
SELECT set_config('resourcemap.change_set', nextval('change_set_seq')::text, true)::bigint AS change_set,
       set_config('resourcemap.actor_id', :account_id, true),
       set_config('resourcemap.actor_email', :email, true),
       set_config('resourcemap.note', :note, true)
""")

_HISTORY = """
SELECT id, at, account_id, actor_email, entity, entity_id, field, old, new, change_set, note, op
FROM change WHERE organization_id = :org {before}
ORDER BY id DESC {limit}
"""

_CHANGE = text("""
SELECT id, at, account_id, actor_email, organization_id, entity, entity_id, field, old, new, change_set, note, op
FROM change WHERE id = :id
""")

POINT = "point"
COORDINATES = ("lat", "lon")
# The coordinates of one location in one change set, as recorded before migration 0016.
_COORDINATE_ROWS = text("""
SELECT id, at, account_id, actor_email, organization_id, entity, entity_id, field, old, new, change_set, note, op
FROM change
WHERE change_set = :cs AND entity = 'location' AND entity_id = :e AND op = 'update' AND field IN ('lat', 'lon')
ORDER BY id
""")


def as_actor(session: Session, actor, note: str = "") -> int:
    """Record the following writes of this transaction as done by `actor` (a Viewer, or None for the system)
    with this note; starts a new change set and returns its id. Call it inside the transaction that writes
    (the settings end with it)."""
    account_id = getattr(actor, "account_id", None)
    return session.execute(_AS_ACTOR, {
        "account_id": "" if account_id is None else str(account_id),
        "email": getattr(actor, "email", "") or "", "note": note or ""}).first()[0]


def set_note(session: Session, note: str) -> None:
    """Replace the note of this transaction's following changes."""
    session.execute(text("SELECT set_config('resourcemap.note', :note, true)"), {"note": note or ""})


def without_history(session: Session) -> None:
    """Do not record the following writes of this transaction (the synthetic demo generator only)."""
    session.execute(text("SELECT set_config('resourcemap.history', 'off', true)"))


def history(session: Session, org_id: int, *, limit: int | None = None, before_id: int | None = None) -> list[dict]:
    """An organization's changes, newest first: {"id", "at", "account_id", "actor_email", "entity", "entity_id",
    "field", "old", "new", "change_set", "note", "op"}. `field` is None when a whole record was inserted (`new`
    holds it) or deleted (`old` holds it)."""
    sql = _HISTORY.format(before="AND id < :before" if before_id else "", limit="LIMIT :limit" if limit else "")
    rows = session.execute(text(sql), {"org": org_id, "before": before_id, "limit": limit}).mappings()
    changes, moves = [], set()
    for row in map(dict, rows):
        if not _is_coordinate(row):
            changes.append(_record_point(row))
        elif (row["change_set"], row["entity_id"]) not in moves:
            moves.add((row["change_set"], row["entity_id"]))
            changes.append(_as_point(session, row))
    return changes


def change_by_id(session: Session, change_id: int) -> dict | None:
    """One change; either row of a move recorded as lat and lon stands for the whole move."""
    row = session.execute(_CHANGE, {"id": change_id}).mappings().first()
    if row is None:
        return None
    return _as_point(session, dict(row)) if _is_coordinate(row) else _record_point(dict(row))


def _is_coordinate(row) -> bool:
    return row["entity"] == "location" and row["op"] == "update" and row["field"] in COORDINATES


def _as_point(session: Session, row: dict) -> dict:
    """A coordinate row recorded before migration 0016 with its pair, as one `point` change: the lower id, old and
    new {"lat", "lon"} (only the coordinate that changed, when one alone did)."""
    pair = [dict(r) for r in session.execute(_COORDINATE_ROWS, {"cs": row["change_set"], "e": row["entity_id"]})
            .mappings()]
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


def change_set_rows(session: Session, change_set: int) -> list[dict]:
    """Every row of one user action (one transaction), in the order written (as recorded: no rows merged)."""
    rows = session.execute(text(
        "SELECT id, at, account_id, actor_email, organization_id, entity, entity_id, field, old, new, change_set,"
        " note, op FROM change WHERE change_set = :cs ORDER BY id"), {"cs": change_set}).mappings()
    return [dict(r) for r in rows]
