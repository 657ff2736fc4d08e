"""The database's administration: the embedded cluster's database made once, a pooled connection's liveness ping,
what a backup or restore reports of a server (version, database, schema revision, row counts) and what a first
start finds missing."""
from __future__ import annotations

from sqlalchemy import Connection, text

_DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = %s"
_CREATE_DATABASE = 'CREATE DATABASE "{name}"'
_PING = "SELECT 1"

_SERVER_VERSION = "SHOW server_version_num"
_CURRENT_DATABASE = "SELECT current_database()"
_HAS_ALEMBIC = "SELECT to_regclass('public.alembic_version') IS NOT NULL"
_REVISION = "SELECT string_agg(version_num, ',') FROM alembic_version"
_TABLE_EXISTS = "SELECT to_regclass(%s) IS NOT NULL"
_TABLE_ROWS = 'SELECT count(*) FROM "{table}"'

_GAZETTEER_LOADED = text(
    "SELECT (SELECT count(*) FROM region), (SELECT count(*) FROM settlement WHERE census_id IS NOT NULL)")
_ACTIVE_ADMINS = text("SELECT count(*) FROM account WHERE role = 'admin' AND active")


def create_database(conn, name: str) -> None:
    """On a psycopg connection (autocommit) to the maintenance database: create database `name` unless it exists."""
    exists = conn.execute(_DATABASE_EXISTS, (name,)).fetchone()
    if not exists:
        conn.execute(_CREATE_DATABASE.format(name=name))


def ping(dbapi_connection) -> None:
    """One round trip on an idle psycopg connection, its transaction ended again."""
    dbapi_connection.execute(_PING)
    dbapi_connection.rollback()


def server_facts(conn, tables: tuple[str, ...]) -> dict:
    """On a psycopg connection (autocommit): the server's major version, the database's name, its schema's Alembic
    revision (None without the alembic_version table) and the row counts of those of `tables` that exist."""
    facts = {"server_major": int(conn.execute(_SERVER_VERSION).fetchone()[0]) // 10000,
             "database": conn.execute(_CURRENT_DATABASE).fetchone()[0]}
    has_alembic = conn.execute(_HAS_ALEMBIC).fetchone()[0]
    facts["revision"] = conn.execute(_REVISION).fetchone()[0] if has_alembic else None
    counts = {}
    for table in tables:
        if conn.execute(_TABLE_EXISTS, (f"public.{table}",)).fetchone()[0]:
            counts[table] = conn.execute(_TABLE_ROWS.format(table=table)).fetchone()[0]
    facts["counts"] = counts
    return facts


def gazetteer_loaded(conn: Connection) -> tuple[int, int]:
    """(regions, settlements with census figures): what a first start loads when they are 0."""
    regions, census_rows = conn.execute(_GAZETTEER_LOADED).one()
    return regions, census_rows


def active_admins(conn: Connection) -> int:
    return conn.execute(_ACTIVE_ADMINS).scalar()
