"""Browser tests of the dispatch console: Playwright driving Debian's Chromium (/usr/bin/chromium) against the app
served by werkzeug in a thread, on the test database with the demo registry and a dispatcher account. Map tiles get
an empty PNG (no internet here); any other request leaving the test server is refused and recorded."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account
from tests.browser.conftest import DESKTOP, load_fresh_demo, new_context, signed_in_page, truncate_registry
from tests.conftest import ACCOUNT_TABLES, LOG_TABLES, ROOT
from tests.staff import ACCOUNTS, PASSWORD

OUTPUT = ROOT / "test-output"
DISPATCHER = (ACCOUNTS["dispatcher"][0], PASSWORD)
STAFF_TABLES = f"{ACCOUNT_TABLES}, {LOG_TABLES}"


@pytest.fixture(scope="module")
def demo_world(app, engine):
    """The demo registry and a dispatcher account; emptied again after the module."""
    load_fresh_demo(app, engine, STAFF_TABLES)
    with Session(engine) as session:
        create_account(session, DISPATCHER[0], DISPATCHER[1], "dispatcher", [])
        session.commit()
    yield
    truncate_registry(engine, STAFF_TABLES)


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
    page = signed_in_page(context, dispatch_server, "/dispatch", *DISPATCHER)
    yield page
    context.close()
    assert outside == [], outside
