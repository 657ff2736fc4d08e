"""The embedded PostgreSQL + PostGIS cluster, and the first start that fills it."""
from __future__ import annotations

import os
import subprocess
import sys

import psycopg
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from resourcemap.cli import bootstrap, main
from resourcemap.config import load_config
from resourcemap.db import make_engine


def test_db_commands(embedded_cluster, database_url):
    runner = CliRunner()
    status = runner.invoke(main, ["db", "status"])
    if os.environ.get("RESOURCEMAP_TEST_DATABASE_URL"):
        return  # the suite runs on another server; the embedded cluster may be stopped
    assert status.exit_code == 0 and "running" in status.output
    url = runner.invoke(main, ["db", "url"], env={"RESOURCEMAP_DATABASE_URL": ""})
    assert url.output.strip() == embedded_cluster.url


def test_embedded_server_runs_unprivileged_on_a_private_socket(embedded_cluster):
    if os.environ.get("RESOURCEMAP_TEST_DATABASE_URL"):
        return
    pid = (embedded_cluster.data_dir / "postmaster.pid").read_text().split()[0]
    user = subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True, text=True).stdout.strip()
    assert user and user != "root"
    assert oct(embedded_cluster.socket_dir.stat().st_mode & 0o777) == "0o700"
    conf = (embedded_cluster.data_dir / "postgresql.conf").read_text()
    assert "listen_addresses = ''" in conf  # no TCP at all
    with psycopg.connect(host=str(embedded_cluster.socket_dir), port=54329, user="resourcemap",
                         dbname="postgres") as conn:
        version, postgis = conn.execute(
            "SELECT current_setting('server_version_num')::int,"
            " (SELECT default_version FROM pg_available_extensions WHERE name = 'postgis')").fetchone()
    assert version >= 150000 and postgis.startswith("3.")


def test_first_start_creates_schema_loads_regions_and_demo_once(database_url, tmp_path):
    """The first start loads regions, settlements (the census' too when fetched: the count is printed, else how to
    add them) and the demo registry; the second loads nothing."""
    from resourcemap.gazetteer.census import HOW_TO_ADD
    from tests.conftest import CENSUS_WHEEL

    server = make_url(database_url)
    boot_db = f"resourcemap_test_boot_{os.getpid()}"
    conninfo = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{boot_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{boot_db}"')
    engine = make_engine(server.set(database=boot_db).render_as_string(hide_password=False))
    settings = load_config() if CENSUS_WHEEL else {**load_config(), "VAR_DIR": str(tmp_path)}
    lines: list[str] = []
    try:
        bootstrap(engine, settings, echo=lines.append)
        with engine.connect() as conn:
            first = conn.execute(text("SELECT (SELECT count(*) FROM region), (SELECT count(*) FROM settlement),"
                                      " (SELECT count(*) FROM organization)")).one()
        assert first[0] == 105 and first[1] > 15000 and first[2] >= 25
        assert f"  settlements in the database: {first[1]:,}" in lines
        if CENSUS_WHEEL:
            assert first[1] > 160_000 and any(line.startswith("  census 2021 (") for line in lines)
        else:
            assert HOW_TO_ADD in lines
        bootstrap(engine, settings, echo=lines.append)
        with engine.connect() as conn:
            again = conn.execute(text("SELECT (SELECT count(*) FROM region), (SELECT count(*) FROM settlement),"
                                      " (SELECT count(*) FROM organization)")).one()
        assert again == first
    finally:
        engine.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{boot_db}" WITH (FORCE)')


def test_resourcemap_command_is_installed():
    result = subprocess.run([sys.executable, "-m", "resourcemap.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "db" in result.stdout
