"""One SQLAlchemy engine per app and one session per request (closed when the app context ends): the primary's
for everything that writes (`get_session`), and for read-only requests a replica's when one will do
(`get_read_session`, routed by read_routing.py; issue 23)."""
from __future__ import annotations

import logging
import select
import time
from contextlib import contextmanager

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request, session
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .data.maintenance import ping
from .data.replication import wal_position
from .db_embedded import ensure_url
from .limits import REPLICA_CONNECT_TIMEOUT_S
from .read_routing import ReadRouting, Replica

_log = logging.getLogger(__name__)


def database_url(settings: dict) -> str:
    """The configured database URL, or the embedded cluster's (started on demand)."""
    return settings.get("DATABASE_URL") or ensure_url(settings["VAR_DIR"])


# The server sees which of the app's engines a connection belongs to (pg_stat_activity.application_name).
PRIMARY_APPLICATION = "resourcemap"
REPLICA_APPLICATION = "resourcemap-read"
OWN_WRITE = "own_write"  # the session cookie's [WAL position, unix time] of the staff member's last commit
# Generic plans: the hot statements are prepared by psycopg after a few uses, and then planned once per connection
# instead of on every request (the nearest-help statement costs more to plan than to run). The benches' bare runs
# of the app's statements use the same.
PLAN_OPTIONS = "-c plan_cache_mode=force_generic_plan"


def make_engine(url: str, statement_timeout_ms: int = 5000, pool_size: int = 5, *,
                application_name: str = PRIMARY_APPLICATION, connect_timeout_s: int = 5) -> Engine:
    """An engine whose connections are checked before use (a restarted server is no error for the next
    request) and whose statements cannot hold a worker past the statement timeout."""
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        connect_args={"connect_timeout": connect_timeout_s, "application_name": application_name,
                      "options": f"-c statement_timeout={int(statement_timeout_ms)} {PLAN_OPTIONS}"},
    )
    event.listen(engine, "checkout", _check_connection)
    return engine


def _check_connection(dbapi_connection, connection_record, connection_proxy) -> None:
    """Before a pooled connection is used: is the server still there? Like SQLAlchemy's pool_pre_ping, without
    its round trip on every checkout. An idle connection's socket has nothing to read unless the server closed
    it (a restart says goodbye and closes) or sent a notice; only then is it pinged. A dead connection is
    replaced by a fresh one (the pool retries on DisconnectionError)."""
    pgconn = dbapi_connection.pgconn
    if dbapi_connection.closed or pgconn.status != 0:  # 0: CONNECTION_OK
        raise DisconnectionError("the connection is closed")
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
        if readable:
            ping(dbapi_connection)
    except Exception as exc:  # any failure here means: do not use this connection
        raise DisconnectionError(str(exc)) from exc


def init_app(app: Flask) -> None:
    engine = make_engine(database_url(app.config), app.config["STATEMENT_TIMEOUT_MS"], app.config["POOL_SIZE"])
    event.listen(engine, "commit", _note_commit)
    app.extensions["resourcemap.engine"] = engine
    app.extensions["resourcemap.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["resourcemap.read_sessionmaker"] = _read_sessions(engine)
    app.extensions["resourcemap.read_routing"] = ReadRouting(
        [_replica(url, app.config) for url in app.config["READ_DATABASE_URLS"]], app.config["REPLICA_MAX_LAG_SECONDS"])
    app.teardown_appcontext(_close_session)
    app.after_request(remember_own_write)


def _read_sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


def _replica(url: str, settings: dict) -> Replica:
    engine = make_engine(url, settings["STATEMENT_TIMEOUT_MS"], settings["POOL_SIZE"],
                         application_name=REPLICA_APPLICATION, connect_timeout_s=REPLICA_CONNECT_TIMEOUT_S)
    where = make_url(url)
    name = f"{where.host or where.query.get('host') or 'local'}:{where.port or where.query.get('port') or ''}"
    return Replica(name=f"{name}/{where.database}", engine=engine, sessions=_read_sessions(engine))


def get_engine() -> Engine:
    return current_app.extensions["resourcemap.engine"]


def read_routing() -> ReadRouting:
    return current_app.extensions["resourcemap.read_routing"]


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["resourcemap.sessionmaker"]()
    return g.db_session


@contextmanager
def committed(session: Session):
    """The block's writes on `session` committed at its end; an exception in the block or in the commit rolls
    them back and goes on up (to the caller's `except`, which answers it with nothing saved)."""
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise


def get_read_session() -> Session:
    """A session for reads only, opened on first use: a healthy replica's when one has replayed what this reader
    must see (read_routing.py), else the primary's. Each statement runs on its own (autocommit), which saves the
    BEGIN and ROLLBACK round trips of a transaction. Never write through it: a view that writes (an audit entry,
    the console's request log) writes through get_session(), which is always the primary."""
    if "db_read_session" not in g:
        g.db_read_session = _open_read_session()
    return g.db_read_session


def _open_read_session() -> Session:
    routing = read_routing()
    needs_wal = own_write_position() if routing.replicas else None
    while (replica := routing.replica_for(needs_wal)) is not None:
        reads = replica.sessions()
        try:
            reads.connection()  # a replica stopped since its last check fails here, before the request uses it
        except SQLAlchemyError as error:
            reads.close()
            routing.skip(replica, error)
            continue
        g.db_replica = replica
        return reads
    return current_app.extensions["resourcemap.read_sessionmaker"]()


def replica_failed() -> None:
    """A database error ended the request: if it read from a replica, ask that replica at once whether it is still
    there, so that the next requests go elsewhere when it is not."""
    replica = g.pop("db_replica", None) if has_app_context() else None
    if replica is not None:
        read_routing().check(replica)


def own_write_position() -> int | None:
    """The primary's WAL position after this staff member's last commit, while it is recent enough to matter
    (READ_YOUR_WRITES_SECONDS); None for everyone else. Read from the signed session cookie only when the request
    carries one (a public request's answer then does not vary by cookie)."""
    if not has_request_context() or current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return None
    mark = session.get(OWN_WRITE)
    if not (isinstance(mark, list) and len(mark) == 2):
        return None
    position, at = mark
    return int(position) if time.time() - at < current_app.config["READ_YOUR_WRITES_SECONDS"] else None


def _note_commit(connection) -> None:
    if has_app_context():
        g.primary_committed = True


def remember_own_write(response: Response) -> Response:
    """After a request that committed on the primary, a signed-in staff member's cookie gets the primary's WAL
    position and the time, so that their next reads, on any instance, wait for a replica that has replayed it
    (or go to the primary). Without replicas there is nothing to remember."""
    if not g.pop("primary_committed", False) or not read_routing().replicas:
        return response
    from flask_login import current_user

    if not current_user.is_authenticated:
        return response
    try:
        session[OWN_WRITE] = [wal_position(get_session()), time.time()]
    except SQLAlchemyError:  # the primary went away after the commit: the next reads will tell
        _log.warning("the primary's WAL position after a commit could not be read")
    return response


def _close_session(exc: BaseException | None) -> None:
    for key in ("db_session", "db_read_session"):
        session = g.pop(key, None)
        if session is not None:
            try:
                session.close()
            except SQLAlchemyError:
                # The server went away during the request (restart, network): the rollback on close fails. The
                # answer (503) is already made; throw the connection away instead of failing the request again.
                _log.warning("closing a session on a lost connection: discarded")
                try:
                    session.invalidate()
                except SQLAlchemyError:
                    pass
