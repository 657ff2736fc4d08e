"""The registry's change history: who changed which field of which record, when, from what to what.

The rows are written by database triggers (migration 0008) on every write path; this module tells the triggers
who is acting (`as_actor`, transaction-local settings) and reads the history back."""
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
    return [dict(r) for r in rows]


def change_by_id(session: Session, change_id: int) -> dict | None:
    row = session.execute(_CHANGE, {"id": change_id}).mappings().first()
    return dict(row) if row else None


def change_set_rows(session: Session, change_set: int) -> list[dict]:
    """Every row of one user action (one transaction), in the order written."""
    rows = session.execute(text(
        "SELECT id, at, account_id, actor_email, organization_id, entity, entity_id, field, old, new, change_set,"
        " note, op FROM change WHERE change_set = :cs ORDER BY id"), {"cs": change_set}).mappings()
    return [dict(r) for r in rows]
