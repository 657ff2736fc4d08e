"""Browser tests of the curators' registry: Playwright driving Debian's Chromium against the run's test server
(tests/conftest.py `browser`, `live_server`), on the test database with the demo registry and two curators of
Moscow oblast. Map tiles get an empty PNG; any other request leaving the test server is refused and recorded."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account
from tests.browser.conftest import DESKTOP, load_fresh_demo, new_context, signed_in_page, truncate_registry
from tests.conftest import ACCOUNT_TABLES, ROOT
from tests.staff import PASSWORD

OUTPUT = ROOT / "test-output"
CURATORS = {"anna": "anna.curator@example.org", "boris": "boris.curator@example.org"}


STAFF_TABLES = f"{ACCOUNT_TABLES}, change"


@pytest.fixture(scope="module")
def curate_world(app, engine):
    """The demo registry and two curators of RU-MOS; emptied again after the module."""
    load_fresh_demo(app, engine, STAFF_TABLES)
    with Session(engine) as session:
        for email in CURATORS.values():
            create_account(session, email, PASSWORD, "curator", ["RU-MOS"])
        session.commit()
    yield
    truncate_registry(engine, STAFF_TABLES)
    app.extensions.pop("resourcemap.map_grid", None)


@pytest.fixture
def curator_page(browser, live_server, app, curate_world):
    """sign_in("anna") -> a signed-in curator's page (1366×900) in a browser context of its own, so that two
    curators can work at once; `page.js_errors` collects script errors."""
    contexts = []

    def sign_in(who: str = "anna"):
        context = new_context(browser, live_server, app, DESKTOP)
        contexts.append(context)
        return signed_in_page(context, live_server, "/curate", CURATORS[who], PASSWORD)

    yield sign_in
    for context in contexts:
        outside = context.outside.urls
        context.close()
        assert outside == [], outside
