"""The database's own code in force: every function and trigger of the app as the migrated database holds it.

The migrations keep each function's history (several bodies are replaced by later migrations); this module reads
what is in force today from the catalogue, so that one committed file (database_code.sql, written by
`python -m resourcemap.schema --code`) shows it, and tests/test_database_code.py notices when the two differ."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

CODE_FILE = Path(__file__).resolve().parent / "database_code.sql"
REGENERATE = "python -m resourcemap.schema --code"
HEADER = f"""\
-- The database's own code in force: every function and trigger of the app after the newest migration, as
-- pg_get_functiondef and pg_get_triggerdef print them (functions of extensions such as PostGIS left out).
-- Generated from a freshly migrated database; do not edit by hand: change the code in a new migration, then run
--     {REGENERATE}
-- tests/test_database_code.py fails while this file and the migrated database differ.
"""

# Functions of schema public, without those an extension (PostGIS, pg_trgm, ...) brought: pg_depend 'e'.
# Aggregates are left out: pg_get_functiondef cannot print them (the app defines none).
FUNCTIONS = text("""
SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments,
       pg_get_functiondef(p.oid) AS definition
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace AND p.prokind <> 'a'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY p.proname COLLATE "C", pg_get_function_identity_arguments(p.oid) COLLATE "C"
""")

# Triggers the app made (not the internal ones behind foreign keys), by table and name.
TRIGGERS = text("""
SELECT c.relname AS table_name, t.tgname AS name, pg_get_triggerdef(t.oid, true) AS definition
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
ORDER BY c.relname COLLATE "C", t.tgname COLLATE "C"
""")


def database_code(conn: Connection) -> str:
    """The text of database_code.sql for the database behind `conn`: the header, every function's definition in
    force (by name, then arguments), then every trigger (by table, then name), a comment line before each function and each table."""
    parts = [HEADER, "\n-- Functions\n"]
    for row in conn.execute(FUNCTIONS):
        parts.append(f"\n-- {row.name}({row.arguments})\n{row.definition.rstrip()};\n")
    parts.append("\n-- Triggers\n")
    table = None
    for row in conn.execute(TRIGGERS):
        if row.table_name != table:
            table = row.table_name
            parts.append(f"\n-- on {table}\n")
        parts.append(f"{row.definition};\n")
    return "".join(parts)


def _postgres_conninfo(server_url: str) -> str:
    return make_url(server_url).set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)


@contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty database `name` on the server of `server_url` (dropped first if left over); yields its
    SQLAlchemy URL and drops it afterwards."""
    conninfo = _postgres_conninfo(server_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
