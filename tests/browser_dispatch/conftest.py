"""Browser tests of the dispatch console: Playwright driving Debian's Chromium (/usr/bin/chromium) against the app
served by werkzeug in a thread, on the test database with the demo registry and a dispatcher account. Map tiles get
an empty PNG (no internet here); any other request leaving the test server is refused and recorded."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account
from resourcemap.registry.demo import load_demo_registry
from tests.browser.conftest import DESKTOP, new_context
from tests.conftest import ACCOUNT_TABLES, REGISTRY_TABLES, ROOT
from tests.staff import ACCOUNTS, PASSWORD

OUTPUT = ROOT / "test-output"
DISPATCHER = (ACCOUNTS["dispatcher"][0], PASSWORD)


@pytest.fixture(scope="module")
def demo_world(app, engine):
    """The demo registry and a dispatcher account; emptied again after the module."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES}, {ACCOUNT_TABLES}, request_log_kind, request_log"
                          " RESTART IDENTITY CASCADE"))
    load_demo_registry(engine, Path(app.config["DEMO_REGISTRY"]))
    with Session(engine) as session:
        create_account(session, DISPATCHER[0], DISPATCHER[1], "dispatcher", [])
        session.commit()
    yield
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES}, {ACCOUNT_TABLES}, request_log_kind, request_log"
                          " RESTART IDENTITY CASCADE"))


@pytest.fixture
def dispatch_server(live_server):
    """The run's one test server (tests/conftest.py `live_server`)."""
    return live_server


@pytest.fixture
def chromium(browser):
    """The run's one Chromium (tests/conftest.py `browser`)."""
    return browser


@pytest.fixture
def dispatcher_page(chromium, dispatch_server, app, demo_world):
    """A signed-in dispatcher's page at 1366×900 with clipboard permissions; `page.js_errors`, `page.outside`."""
    context = new_context(chromium, dispatch_server, app, DESKTOP,
                          permissions=["clipboard-read", "clipboard-write"])
    outside = context.outside.urls
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    page.base = dispatch_server
    page.goto(f"{dispatch_server}/signin?next=/dispatch")
    page.fill("input[name=email]", DISPATCHER[0])
    page.fill("input[name=password]", DISPATCHER[1])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{dispatch_server}/dispatch")
    yield page
    context.close()
    assert outside == [], outside
