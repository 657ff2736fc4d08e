"""Fixtures in the flaskr style (app, client, runner) against a real PostGIS.

The suite gets a database of its own, `resourcemap_test_<pid>`, made afresh on the embedded cluster (or on the server
of RESOURCEMAP_TEST_DATABASE_URL), migrated and loaded with every region of data/regions once per run, with the 2021
census' settlements when scripts/install has fetched them into var/cache/census/ (RESOURCEMAP_TEST_CENSUS=0: without
them, faster). Tests that write to the registry use the `registry` fixture, which empties the registry tables
afterwards."""
from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from resourcemap import create_app
from resourcemap.config import load_config
from resourcemap.db import make_engine
from resourcemap.db_embedded import Cluster, ensure_url
from resourcemap.gazetteer.census import find_wheel
from resourcemap.gazetteer.load import load_regions
from resourcemap.schema import upgrade
from tests import staff as staff_accounts
from tests.factories import KOLOMNA, add_service

ROOT = Path(__file__).resolve().parent.parent
TEST_DB = f"resourcemap_test_{os.getpid()}"  # one per run: parallel runs on one server do not collide
# The census wheel the session loads (None: not fetched, or RESOURCEMAP_TEST_CENSUS=0).
CENSUS_WHEEL = find_wheel(load_config()["VAR_DIR"]) if os.environ.get("RESOURCEMAP_TEST_CENSUS", "1") != "0" else None
REGISTRY_TABLES = "problem_report, change, phone, service_area, service_at_location, service, location, organization"
ACCOUNT_TABLES = "audit_event, api_token, account_region, account"
LOG_TABLES = "request_log_kind, request_log"


def _server_url() -> str:
    url = os.environ.get("RESOURCEMAP_TEST_DATABASE_URL")
    if url:
        return url
    return ensure_url(load_config()["VAR_DIR"])


def _recreate(url: str) -> str:
    """Drop and create the test database on the server of `url`; returns the test database's URL."""
    server = make_url(url)
    test_url = server.set(database=TEST_DB)
    conninfo = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    return test_url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url():
    server = _server_url()
    url = _recreate(server)
    engine = make_engine(url)
    upgrade(engine)
    load_regions(engine, ROOT / "data" / "regions", census=CENSUS_WHEEL)
    engine.dispose()
    yield url
    conninfo = make_url(server).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


def app_settings(database_url: str, **more) -> dict:
    """Settings of a test app: the test database, a throwaway secret, and no API or problem-report rate limit (the
    suite is one client making many requests; the limits have tests of their own)."""
    return {"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret-key",
            "API_RATE_LIMIT": "1000000 per minute", "REPORT_RATE_LIMIT": "1000000 per minute",
            "REPORT_RATE_LIMIT_PER_ORGANIZATION": "1000000 per minute", **more}


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(app_settings(database_url))
    yield app
    app.extensions["resourcemap.engine"].dispose()


@pytest.fixture(scope="session")
def engine(app):
    return app.extensions["resourcemap.engine"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def registry(engine):
    """A session for writing registry rows; the registry tables are emptied after the test."""
    with Session(engine) as session:
        yield session
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES} RESTART IDENTITY CASCADE"))


def empty_account_tables(engine, also: str = "") -> None:
    """Empty the account tables (and the tables in `also`, e.g. LOG_TABLES)."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {ACCOUNT_TABLES}{', ' + also if also else ''} RESTART IDENTITY CASCADE"))


@pytest.fixture
def staff(engine, registry):
    """The staff accounts of tests/staff.py ACCOUNTS (password staff.PASSWORD); their ids by key. The account tables
    and the request log are emptied afterwards, the registry too."""
    with Session(engine) as session:
        ids = {key: account.id for key, account in staff_accounts.create_staff(session).items()}
        session.commit()
    yield ids
    empty_account_tables(engine, LOG_TABLES)


@pytest.fixture(scope="module")
def staff_tokens(engine):
    """The staff accounts with an API token each, for the whole module (argon2 hashing is slow on purpose); the plain
    tokens by key."""
    with Session(engine) as session:
        plain = staff_accounts.issue_staff_tokens(session)
        session.commit()
    yield plain
    empty_account_tables(engine)


@pytest.fixture
def tokens(staff_tokens, registry):
    """The staff's API tokens, and a registry emptied after each test."""
    return staff_tokens


@pytest.fixture
def signed_in(app, staff):
    """signed_in("curator_mos") -> a test client signed in as that staff account ("anonymous": not signed in)."""
    return lambda who: staff_accounts.client_as(app, who)


@pytest.fixture
def console(signed_in):
    """A signed-in dispatcher's client and the console's CSRF token."""
    client = signed_in("dispatcher")
    return client, staff_accounts.page_token(client.get("/dispatch").get_data(as_text=True))


@pytest.fixture
def world(staff, registry):
    """The staff; a published organization in Moscow oblast (Коломна) and one in Smolensk oblast; their ids as
    "mos" and "smo". (Some modules have a world of their own, which overrides this one.)"""
    mos = add_service(registry, *KOLOMNA, "early_help", name="Центр «Коломенский»",
                      phones=[{"number": "+74966100000", "kind": "main"}])
    smo = add_service(registry, 54.78, 32.05, "crisis_apartment", name="Смоленский кризисный центр")
    registry.commit()
    return {"mos": mos["organization_id"], "smo": smo["organization_id"]}


@pytest.fixture(scope="session")
def embedded_cluster() -> Cluster:
    return Cluster(Path(load_config()["VAR_DIR"]))


CHROMIUM = os.environ.get("RESOURCEMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, one per run for every browser test (the sync API allows only one
    running Playwright at a time)."""
    from playwright.sync_api import sync_playwright

    (ROOT / "test-output").mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(app):
    """The app on 127.0.0.1 and a free port, served by werkzeug in a thread, for the browser tests."""
    import threading

    from werkzeug.serving import make_server

    from resourcemap.search import reference

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        reference.forget()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
