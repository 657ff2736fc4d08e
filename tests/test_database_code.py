"""resourcemap/migrations/database_code.sql shows the functions and triggers in force: it must be what the migrated
database holds, so that a migration that changes one also changes the file (regenerate it, then review the diff)."""
from __future__ import annotations

import difflib

from resourcemap.migrations.database_code import CODE_FILE, REGENERATE, database_code


def test_the_committed_database_code_is_the_code_in_force(engine):
    with engine.connect() as conn:
        in_force = database_code(conn)
    committed = CODE_FILE.read_text(encoding="utf-8") if CODE_FILE.exists() else ""
    diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), in_force.splitlines(keepends=True),
                                        fromfile=f"{CODE_FILE.name} (committed)",
                                        tofile="the migrated database", n=2))
    assert committed == in_force, (f"{CODE_FILE} differs from the migrated database; regenerate it with "
                                   f"`{REGENERATE}` and commit it.\n{diff}")
