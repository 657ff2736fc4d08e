"""Read routing (issue 23, resourcemap/read_routing.py) against a real streaming replica made once for this module
(pg_basebackup from a primary of our own): a read goes to a healthy replica; a staff member's reads go to the
primary after their own commit until the replica has replayed it; a replica that lags or is down is skipped, with
no error, and taken again when it is back."""
from __future__ import annotations

import shutil
import time

import flask
import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from resourcemap import create_app
from resourcemap.data.replication import wal_position
from resourcemap.db import OWN_WRITE, get_read_session, get_session, make_engine
from resourcemap.db_embedded import Cluster, make_replica, start, stop
from resourcemap.loopback.databases import REPLICATION
from resourcemap.read_routing import ReadRouting, Replica
from tests.replication import connect, replay_paused, scratch_dir, wait_replayed

IN_RECOVERY = text("SELECT pg_is_in_recovery()")


@pytest.fixture(scope="module")
def servers():
    root = scratch_dir("test-read-routing")
    primary = Cluster(root, "primary", 54341, REPLICATION)
    replica = Cluster(root, "replica", 54342)
    try:
        start(primary)
        with connect(primary) as conn:
            conn.execute("CREATE TABLE note (id serial PRIMARY KEY, body text)")
        make_replica(primary, replica)
        start(replica)
        yield primary, replica
    finally:
        for cluster in (replica, primary):
            stop(cluster)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def app(servers):
    primary, replica = servers
    return create_app({"TESTING": True, "DATABASE_URL": primary.url, "READ_DATABASE_URLS": [replica.url],
                       "SECRET_KEY": "read-routing-tests", "REPLICA_MAX_LAG_SECONDS": 3600.0})


def _write(primary: Cluster, body: str) -> int:
    """A committed row on the primary; the primary's WAL position after it."""
    engine = make_engine(primary.url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": body})
        with engine.connect() as conn:
            return wal_position(conn)
    finally:
        engine.dispose()


def _reads_from_replica(app, own_write: list | None = None) -> bool:
    """Whether a request's read session is a replica's (a request that carries a session cookie with
    `own_write` as the staff member's last commit, when given)."""
    headers = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}=x"} if own_write else {}
    with app.test_request_context("/api/v1/nearest", headers=headers):
        if own_write:
            flask.session[OWN_WRITE] = own_write
        return get_read_session().execute(IN_RECOVERY).scalar()


def _routing(replica: Cluster, max_lag_s: float) -> ReadRouting:
    engine = make_engine(replica.url, connect_timeout_s=2)
    return ReadRouting([Replica("replica", engine, sessionmaker(engine))], max_lag_s, check_every_s=0.0, skip_s=1.0)


def test_a_read_goes_to_a_healthy_replica_and_a_write_to_the_primary(app):
    assert _reads_from_replica(app) is True
    with app.test_request_context("/curate"):
        assert get_session().execute(IN_RECOVERY).scalar() is False


def test_own_write_is_read_from_the_primary_until_the_replica_has_replayed_it(app, servers):
    primary, replica = servers
    with replay_paused(replica):
        position = _write(primary, "a curator's save")
        assert _reads_from_replica(app, [position, time.time()]) is False  # the replica has not replayed it
        assert _reads_from_replica(app) is True  # everyone else still reads the replica
        old = time.time() - app.config["READ_YOUR_WRITES_SECONDS"] - 1
        assert _reads_from_replica(app, [position, old]) is True  # a write long ago waits for nothing
    wait_replayed(replica, f"{position >> 32:X}/{position & 0xFFFFFFFF:X}")
    assert _reads_from_replica(app, [position, time.time()]) is True


def test_a_lagging_replica_is_skipped_until_it_catches_up(servers):
    primary, replica = servers
    routing = _routing(replica, max_lag_s=1.0)
    assert routing.replica_for() is routing.replicas[0]
    with replay_paused(replica):
        position = _write(primary, "received, not replayed")
        time.sleep(2.5)
        assert routing.replica_for() is None  # more than a second behind: the primary answers
    wait_replayed(replica, f"{position >> 32:X}/{position & 0xFFFFFFFF:X}")
    assert routing.replica_for() is routing.replicas[0]


def test_a_replica_that_is_down_is_skipped_without_error_and_taken_back(app, servers):
    _, replica = servers
    routing = _routing(replica, max_lag_s=5.0)
    assert _reads_from_replica(app) is True  # the app's pooled connection to the replica is warm
    stop(replica)
    try:
        assert routing.replica_for() is None
        assert routing.replicas[0].skipped_until > time.monotonic()
        # The app's request finds the replica gone (on its check, or on connecting if the last check was less
        # than a second ago), skips it and reads the primary: no error.
        assert _reads_from_replica(app) is False
    finally:
        start(replica)
    time.sleep(1.1)
    assert routing.replica_for() is routing.replicas[0]


def test_without_replicas_every_read_is_the_primarys(servers):
    assert ReadRouting([], max_lag_s=5.0).replica_for(123) is None


def test_the_replicas_are_a_comma_separated_setting(monkeypatch):
    from resourcemap.config import load_config

    monkeypatch.setenv("RESOURCEMAP_READ_DATABASE_URLS", " postgresql+psycopg://r1/db, ,postgresql+psycopg://r2/db ")
    monkeypatch.setenv("RESOURCEMAP_REPLICA_MAX_LAG_SECONDS", "2.5")
    settings = load_config()
    assert settings["READ_DATABASE_URLS"] == ["postgresql+psycopg://r1/db", "postgresql+psycopg://r2/db"]
    assert settings["REPLICA_MAX_LAG_SECONDS"] == 2.5
    monkeypatch.delenv("RESOURCEMAP_READ_DATABASE_URLS")
    assert load_config()["READ_DATABASE_URLS"] == []
