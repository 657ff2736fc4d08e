"""What read routing asks of PostgreSQL's streaming replication (issue 23): how far a replica has replayed the
primary's write-ahead log and how late that is, and where the primary's log stands after a commit. WAL positions
are bytes from 0/0 (an integer), so that they fit in a signed session cookie and compare as numbers."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

# On a standby: the position replayed, and how late the replay is. A standby that has replayed all it received is
# not late, however long ago the primary's last transaction was (an idle primary sends nothing to replay); one
# with received WAL still to replay is as late as the last transaction it replayed. A server that is not a
# standby (promoted) is never late.
_REPLAY_STATE = text("""
SELECT pg_is_in_recovery() AS standby,
       (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END
        - '0/0'::pg_lsn)::bigint AS replayed,
       CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() IS NULL
                 OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0.0
            ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0.0)::float8
       END AS lag_s
""")
_WAL_POSITION = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")


class ReplayState(NamedTuple):
    standby: bool
    replayed: int  # bytes of WAL replayed (on a promoted server: written)
    lag_s: float   # seconds the replay is behind; 0 when it has replayed all it received


def replay_state(conn: Connection) -> ReplayState:
    return ReplayState(*conn.execute(_REPLAY_STATE).one())


def wal_position(session: Session) -> int:
    """On the primary: the end of its write-ahead log, which includes every transaction committed so far."""
    return int(session.execute(_WAL_POSITION).scalar_one())
