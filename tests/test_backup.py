"""`resourcemap backup` and `resourcemap restore`: a round trip keeps every table, the registry and its history
row for row, and a restore refuses what it cannot restore faithfully, changing nothing.

Two databases of their own are made on the test server (never the suite's shared test database, which other
modules use at the same time): a source with a registry, edits (so the history table has rows), accounts and the
audit log; and a target holding something else, which the restore must replace completely."""
from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from resourcemap import create_app
from resourcemap.auth.accounts import create_account, issue_token
from resourcemap.auth.policy import viewer_of
from resourcemap.backup import BackupError, archive_info, check_restorable, restore
from resourcemap.db import make_engine
from resourcemap.gazetteer.load import load_regions
from resourcemap.registry import edit
from resourcemap.schema import upgrade
from tests.conftest import _server_url, app_settings
from tests.factories import add_service

ROOT = Path(__file__).resolve().parent.parent
PREFIX = f"resourcemap_backup_{os.getpid()}"


def _conninfo(url: str, dbname: str = "postgres") -> str:
    return make_url(url).set(drivername="postgresql", database=dbname).render_as_string(hide_password=False)


def _make_database(server_url: str, name: str):
    with psycopg.connect(_conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    load_regions(engine, ROOT / "data" / "regions", ["RU-SMO", "RU-MOS"])
    return url, engine


@pytest.fixture(scope="module")
def server_url():
    return _server_url()  # the suite's server; its shared test database is not needed here


@pytest.fixture(scope="module")
def databases(server_url):
    """(source url, target url): the source with a registry, its history, accounts; the target with another."""
    made = []
    source, engine = _make_database(server_url, f"{PREFIX}_source")
    made.append(source)
    with Session(engine) as session:
        admin = create_account(session, "backup-admin@example.org", "backup admin password", "admin", [])
        issue_token(session, admin, "backup")
        ids = [add_service(session, 54.78 + i / 100, 32.04 + i / 100, kind, confidential=(i == 2),
                           address=f"ул. Ленина, {i}")["organization_id"]
               for i, kind in enumerate(("early_help", "rehabilitation", "crisis_apartment"))]
        session.commit()
        actor = viewer_of(admin)
        for n, org_id in enumerate(ids):  # edits through the editing contract: the history table gets rows
            doc = edit.organization_document(session, org_id)
            edit.save_document(session, org_id, {**doc, "description": f"Описание «{n}»; 'кавычки', \\ и \t"},
                               doc["version"], actor, change_note="проверка резервной копии")
            session.commit()
        edit.mark_verified(session, ids[0], actor)
        session.commit()
    engine.dispose()
    target, engine = _make_database(server_url, f"{PREFIX}_target")
    made.append(target)
    with Session(engine) as session:
        add_service(session, 55.78, 38.45, "family_support", name="Только в целевой базе")
        session.commit()
    engine.dispose()
    yield source, target
    with psycopg.connect(_conninfo(server_url), autocommit=True) as conn:
        for url in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the rows in order) of every table in schema public, and the sequences' positions."""
    with psycopg.connect(_conninfo(url, make_url(url).database), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        out = {}
        for table in tables:
            out[table] = conn.execute(
                f'SELECT count(*), coalesce(md5(string_agg(t::text, E\'\\n\' ORDER BY t::text)), \'\')'
                f' FROM public."{table}" t').fetchone()
        for (seq,) in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
            out[f"sequence {seq}"] = conn.execute(f'SELECT last_value, is_called FROM public."{seq}"').fetchone()
    return out


def cli(url: str, *args: str, input: str | None = None):
    app = create_app(app_settings(url))
    try:
        return app.test_cli_runner().invoke(args=list(args), input=input)
    finally:
        app.extensions["resourcemap.engine"].dispose()


def backed_up(url: str, archive: Path) -> Path:
    """`backup -o archive` of the database at `url`, which must succeed."""
    result = cli(url, "backup", "-o", str(archive))
    assert result.exit_code == 0, result.output
    return archive


def test_backup_and_restore_keep_every_table_row_for_row(databases, tmp_path):
    source, target = databases
    before = fingerprint(source)
    assert before["change"][0] > 0 and before["organization"][0] == 3 and before["account"][0] == 1
    assert before["settlement"][0] > 100

    archive = tmp_path / "nightly" / "resourcemap.dump"
    result = cli(source, "backup", "-o", str(archive))
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output
    assert sorted(p.name for p in archive.parent.iterdir()) == ["resourcemap.dump", "resourcemap.dump.json"]
    meta = json.loads((archive.parent / "resourcemap.dump.json").read_text())
    with psycopg.connect(_conninfo(source, make_url(source).database)) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert meta["revision"] == revision == archive_info(archive).revision
    assert meta["counts"]["organization"] == 3 and meta["counts"]["change"] == before["change"][0]
    assert meta["app_version"] and meta["sha256"] and meta["server_version"][:2].isdigit()

    assert fingerprint(target) != before
    result = cli(target, "restore", str(archive))  # asks first; no answer: nothing happens
    assert result.exit_code != 0 and "Replace everything in database" in result.output
    assert fingerprint(target)["organization"][0] == 1
    result = cli(target, "restore", str(archive), "--yes")
    assert result.exit_code == 0, result.output
    after = fingerprint(target)
    assert after == before  # every table, the history included, row for row; the sequences where they were
    assert fingerprint(source) == before  # the backup changed nothing


def test_a_restored_database_works_and_continues_its_ids(databases, tmp_path):
    source, target = databases
    archive = backed_up(source, tmp_path / "b.dump")
    assert cli(target, "restore", str(archive), "--yes").exit_code == 0
    app = create_app(app_settings(target))
    client = app.test_client()
    found = client.get("/api/v1/nearest?lat=54.78&lon=32.04&service=early_help").json["results"]
    assert found and found[0]["distance_km"] < 1
    with Session(app.extensions["resourcemap.engine"]) as session:
        new_id = add_service(session, 54.9, 32.1, "early_help")["organization_id"]
        session.commit()
    assert new_id == 4  # the identity sequences came along
    app.extensions["resourcemap.engine"].dispose()


def test_restore_refuses_a_newer_schema_and_changes_nothing(databases, tmp_path):
    source, target = databases
    good = backed_up(source, tmp_path / "good.dump")
    assert cli(target, "restore", str(good), "--yes").exit_code == 0
    with psycopg.connect(_conninfo(source, make_url(source).database)) as conn:
        real = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        conn.commit()
        try:
            future = backed_up(source, tmp_path / "future.dump")
        finally:
            conn.execute("UPDATE alembic_version SET version_num = %s", (real,))
            conn.commit()
    before = fingerprint(target)
    result = cli(target, "restore", str(future), "--yes")
    assert result.exit_code == 1
    assert "newer resourcemap" in result.output and "9999_from_the_future" in result.output
    assert fingerprint(target) == before


def test_restore_refuses_another_postgresql_major_and_a_damaged_copy(databases, tmp_path):
    source, target = databases
    archive = backed_up(source, tmp_path / "a.dump")
    info = archive_info(archive)
    data = archive.read_bytes()
    # The archive's header names the server version; a copy that claims a newer major than ours is refused.
    version = info.server_version.encode()  # written twice: "dumped from" and "dumped by"
    newer = tmp_path / "newer.dump"
    newer.write_bytes(data.replace(version, b"99" + version[len(str(info.server_major)):]))
    assert archive_info(newer).server_major == 99
    before = fingerprint(target)
    with pytest.raises(BackupError, match="dumped from PostgreSQL 99"):
        check_restorable(newer, target)
    # The sidecar's checksum catches a copy that was damaged on its way (one byte changed).
    damaged = tmp_path / "damaged.dump"
    damaged.write_bytes(data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
    (tmp_path / "damaged.dump.json").write_text((tmp_path / "a.dump.json").read_text())
    result = cli(target, "restore", str(damaged), "--yes")
    assert result.exit_code == 1 and "does not match the checksum" in result.output
    assert fingerprint(target) == before


def test_a_restore_that_fails_midway_changes_nothing(databases, tmp_path):
    """A connection holding a lock (an app that was not stopped) makes the restore give up: rolled back whole."""
    source, target = databases
    archive = backed_up(source, tmp_path / "c.dump")
    before = fingerprint(target)
    with psycopg.connect(_conninfo(target, make_url(target).database)) as holder:
        holder.execute("LOCK TABLE organization IN ACCESS SHARE MODE")
        with pytest.raises(BackupError, match="rolled back"):
            restore(archive, target, lock_timeout_s=1)
        holder.rollback()
    assert fingerprint(target) == before


def test_backup_says_clearly_what_is_wrong(databases, tmp_path):
    source, _ = databases
    result = cli(source, "backup", "-o", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.output
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello")
    result = cli(source, "restore", str(not_a_dump), "--yes")
    assert result.exit_code == 1 and "not a pg_dump archive" in result.output
    assert not list(tmp_path.glob(".*partial*"))
