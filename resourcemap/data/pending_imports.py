"""A curator's spreadsheet between its dry run and "apply" (migration 0022, curate/spreadsheets.py): kept, taken
once, forgotten after a while. The caller owns the transaction."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

_KEEP = text("INSERT INTO pending_import (token_hash, account_id, region_code, filename, data) "
             "VALUES (:token_hash, :account_id, :region, :filename, :data)")
_FORGET_OLD = text("DELETE FROM pending_import WHERE uploaded_at < now() - make_interval(secs => :seconds)")
_TAKE = text("DELETE FROM pending_import WHERE token_hash = :token_hash AND account_id = :account_id "
             "AND uploaded_at >= now() - make_interval(secs => :seconds) RETURNING region_code, filename, data")
_OWNER = text("SELECT account_id FROM pending_import WHERE token_hash = :token_hash "
              "AND uploaded_at >= now() - make_interval(secs => :seconds)")


class PendingFile(NamedTuple):
    region_code: str
    filename: str
    data: bytes


def keep(session: Session, token_hash: str, account_id: int, region: str, filename: str, data: bytes) -> None:
    session.execute(_KEEP, {"token_hash": token_hash, "account_id": account_id, "region": region,
                            "filename": filename, "data": data})


def forget_older_than(session: Session, seconds: float) -> None:
    session.execute(_FORGET_OLD, {"seconds": seconds})


def take(session: Session, token_hash: str, account_id: int, seconds: float) -> PendingFile | None:
    """The account's file of this token, uploaded within `seconds`, deleted in the caller's transaction (a
    rollback puts it back); None when there is none."""
    row = session.execute(_TAKE, {"token_hash": token_hash, "account_id": account_id, "seconds": seconds}).first()
    return PendingFile(row.region_code, row.filename, bytes(row.data)) if row else None


def owner(session: Session, token_hash: str, seconds: float) -> int | None:
    """The account that uploaded the file of this token (within `seconds`), if any."""
    return session.execute(_OWNER, {"token_hash": token_hash, "seconds": seconds}).scalar()
