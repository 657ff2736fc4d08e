"""One SQLAlchemy engine per app and one session per request (closed when the app context ends)."""
from __future__ import annotations

import logging
import select

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .data.maintenance import ping
from .db_embedded import ensure_url

_log = logging.getLogger(__name__)


def database_url(settings: dict) -> str:
    """The configured database URL, or the embedded cluster's (started on demand)."""
    return settings.get("DATABASE_URL") or ensure_url(settings["VAR_DIR"])


def make_engine(url: str, statement_timeout_ms: int = 5000, pool_size: int = 5) -> Engine:
    """An engine whose connections are checked before use (a restarted server is no error for the next
    request) and whose statements cannot hold a worker past the statement timeout."""
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        # Generic plans: the hot statements are prepared by psycopg after a few uses, and then planned once per
        # connection instead of on every request (the nearest-help statement costs more to plan than to run).
        connect_args={"connect_timeout": 5, "options": f"-c statement_timeout={int(statement_timeout_ms)}"
                                                       " -c plan_cache_mode=force_generic_plan"},
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
    app.extensions["resourcemap.engine"] = engine
    app.extensions["resourcemap.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["resourcemap.read_sessionmaker"] = sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    return current_app.extensions["resourcemap.engine"]


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["resourcemap.sessionmaker"]()
    return g.db_session


def get_read_session() -> Session:
    """A session for reads only, opened on first use: each statement runs on its own (autocommit), which saves
    the BEGIN and ROLLBACK round trips of a transaction. Never write through it."""
    if "db_read_session" not in g:
        g.db_read_session = current_app.extensions["resourcemap.read_sessionmaker"]()
    return g.db_read_session


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
