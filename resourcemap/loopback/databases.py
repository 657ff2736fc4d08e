"""The loopback demo's databases (issue 23): a primary made as the app's embedded cluster is made (db_embedded.py:
a private Unix socket, run as the `postgres` system user when we are root) with streaming replication on, seeded
as `resourcemap setup` seeds a database; and a streaming replica made from it with pg_basebackup."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..db import make_engine
from ..db_embedded import Cluster, make_replica, start, stop

PRIMARY_PORT, REPLICA_PORT = 54331, 54332

# After the embedded cluster's own settings (which keep no WAL for anyone: wal_level = minimal).
REPLICATION = """
# resourcemap loopback demo: the primary of a streaming replica (issue 23)
wal_level = replica
max_wal_senders = 5
wal_keep_size = 512MB
hot_standby = on
hot_standby_feedback = on
shared_buffers = 128MB
"""


def primary_of(root: Path) -> Cluster:
    return Cluster(root, "primary", PRIMARY_PORT, REPLICATION)


def replica_of(root: Path) -> Cluster:
    return Cluster(root, "replica", REPLICA_PORT)


def start_primary(primary: Cluster, settings: dict, census: bool, echo: Callable[[str], None]) -> None:
    """Make (first time) and start the primary; the schema, regions and demo registry, whatever is missing."""
    from ..cli import bootstrap

    start(primary)
    engine = make_engine(primary.url, statement_timeout_ms=0)
    try:
        bootstrap(engine, settings, echo=echo, census=census)
    finally:
        engine.dispose()


def start_replica(primary: Cluster, replica: Cluster) -> None:
    """A fresh replica of the running primary, started: it streams the primary's WAL from then on. One left
    running by a demo that was killed is stopped first."""
    stop(replica)
    make_replica(primary, replica)
    start(replica)
