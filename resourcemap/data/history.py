"""The change history's SQL: who is acting in this transaction (transaction-local settings the triggers of
migration 0008 read) and the recorded changes read back (registry/history.py turns them into what pages show)."""
from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from sqlalchemy import text
from sqlalchemy.orm import Session


class HistoryRow(TypedDict):
    """One recorded change of an organization's history: `field` None when a whole record was inserted (`new`
    holds it) or deleted (`old` holds it)."""

    id: int
    at: dt.datetime
    account_id: int | None
    actor_email: str
    entity: str
    entity_id: int
    field: str | None
    old: Any
    new: Any
    change_set: int
    note: str
    op: str


class ChangeRow(HistoryRow):
    """One recorded change with its organization."""

    organization_id: int | None


_COLUMNS = "id, at, account_id, actor_email, organization_id, entity, entity_id, field, old, new, change_set, note, op"
_HISTORY_COLUMNS = "id, at, account_id, actor_email, entity, entity_id, field, old, new, change_set, note, op"

_START_CHANGE_SET = text("""
SELECT set_config('resourcemap.change_set', nextval('change_set_seq')::text, true)::bigint AS change_set,
       set_config('resourcemap.actor_id', :account_id, true),
       set_config('resourcemap.actor_email', :email, true),
       set_config('resourcemap.note', :note, true)
""")

_SET_NOTE = text("SELECT set_config('resourcemap.note', :note, true)")

# An organization's changes, newest first (the index on change (organization_id, id)); a page of them.
_HISTORY = f"""
SELECT {_HISTORY_COLUMNS}
FROM change WHERE organization_id = :org {{before}}
ORDER BY id DESC {{limit}}
"""

_CHANGE = text(f"SELECT {_COLUMNS} FROM change WHERE id = :id")

# The coordinates of one location in one change set, as recorded before migration 0016.
_COORDINATE_ROWS = text(f"""
SELECT {_COLUMNS}
FROM change
WHERE change_set = :cs AND entity = 'location' AND entity_id = :e AND op = 'update' AND field IN ('lat', 'lon')
ORDER BY id
""")

# The service a recorded service_area or service_at_location row belongs to (the table is one of those two).
_SERVICE_OF = {table: text(f"SELECT service_id FROM {table} WHERE id = :id")
               for table in ("service_area", "service_at_location")}


def start_change_set(session: Session, account_id: int | None, email: str, note: str) -> int:
    """Record the following writes of this transaction as this account's (None: the system) with this note; a new
    change set, whose id is returned. The settings end with the transaction."""
    return session.execute(_START_CHANGE_SET, {"account_id": "" if account_id is None else str(account_id),
                                               "email": email or "", "note": note or ""}).first()[0]


def set_note(session: Session, note: str) -> None:
    """Replace the note of this transaction's following changes."""
    session.execute(_SET_NOTE, {"note": note or ""})


def organization_changes(session: Session, org_id: int, *, limit: int | None, before_id: int | None
                         ) -> list[HistoryRow]:
    """An organization's recorded changes, newest first: at most `limit`, older than `before_id` when given."""
    sql = _HISTORY.format(before="AND id < :before" if before_id else "", limit="LIMIT :limit" if limit else "")
    rows = session.execute(text(sql), {"org": org_id, "before": before_id, "limit": limit}).mappings()
    return [HistoryRow(**row) for row in rows]


def change(session: Session, change_id: int) -> ChangeRow | None:
    """One recorded change, None when there is no such change."""
    row = session.execute(_CHANGE, {"id": change_id}).mappings().first()
    return ChangeRow(**row) if row else None


def coordinate_changes(session: Session, change_set: int, location_id: int) -> list[ChangeRow]:
    """The `lat` and `lon` rows of one location's move in one change set (recorded before migration 0016)."""
    rows = session.execute(_COORDINATE_ROWS, {"cs": change_set, "e": location_id}).mappings()
    return [ChangeRow(**row) for row in rows]


def service_of_record(session: Session, table: str, record_id: int) -> int | None:
    """The service of a service_area or service_at_location row (None when the row is gone)."""
    return session.execute(_SERVICE_OF[table], {"id": record_id}).scalar()
