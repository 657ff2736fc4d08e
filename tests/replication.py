"""Helpers of the replication tests (issue 23): a primary and a streaming replica of our own under var/ (the
embedded cluster's helpers, other ports), pausing a replica's replay so that it is behind on purpose, and the
servers' own statistics as evidence of who answered."""
from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

from resourcemap.config import load_config
from resourcemap.db_embedded import DB_NAME, SUPERUSER, Cluster

_PAUSE = "SELECT pg_wal_replay_pause()"
_RESUME = "SELECT pg_wal_replay_resume()"
_REPLAYED = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
_TABLE_SCANS = ("SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables "
                "WHERE relname = %s")
_CLEAR_SNAPSHOT = "SELECT pg_stat_clear_snapshot()"


def scratch_dir(name: str) -> Path:
    """A directory under var/ for test clusters, one per run (the postgres system user must be able to pass
    through to it; a temporary directory under /tmp is private to root)."""
    path = Path(load_config()["VAR_DIR"]).resolve() / f"{name}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    path.chmod(0o755)
    return path


def connect(cluster: Cluster) -> psycopg.Connection:
    return psycopg.connect(host=str(cluster.socket_dir), port=cluster.port, user=SUPERUSER, dbname=DB_NAME,
                           autocommit=True)


@contextmanager
def replay_paused(replica: Cluster):
    """The replica receives the primary's WAL but replays none of it until the block ends."""
    with connect(replica) as conn:
        conn.execute(_PAUSE)
        try:
            yield
        finally:
            conn.execute(_RESUME)


def wait_replayed(replica: Cluster, lsn: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    with connect(replica) as conn:
        while not conn.execute(_REPLAYED, (lsn,)).fetchone()[0]:
            assert time.monotonic() < deadline, f"the replica did not replay up to {lsn} in {timeout_s} s"
            time.sleep(0.1)


def current_lsn(primary: Cluster) -> str:
    with connect(primary) as conn:
        return conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


def table_scans(cluster: Cluster, table: str) -> int:
    """How many scans of `table` this server has run (its own statistics: a replica counts the reads it served)."""
    with connect(cluster) as conn:
        conn.execute(_CLEAR_SNAPSHOT)
        return int(conn.execute(_TABLE_SCANS, (table,)).fetchone()[0])
