"""Browser tests of the curators' registry: Playwright driving Debian's Chromium against the run's test server
(tests/conftest.py `browser`, `live_server`), on the test database with the demo registry and two curators of
Moscow oblast. Map tiles get an empty PNG; any other request leaving the test server is refused and recorded."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account
from resourcemap.registry.demo import load_demo_registry
from tests.browser.conftest import DESKTOP, new_context
from tests.conftest import ACCOUNT_TABLES, REGISTRY_TABLES, ROOT
from tests.staff import PASSWORD

OUTPUT = ROOT / "test-output"
CURATORS = {"anna": "anna.curator@example.org", "boris": "boris.curator@example.org"}


def _empty(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES}, {ACCOUNT_TABLES}, change RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def curate_world(app, engine):
    """The demo registry and two curators of RU-MOS; emptied again after the module."""
    _empty(engine)
    load_demo_registry(engine, Path(app.config["DEMO_REGISTRY"]))
    app.extensions.pop("resourcemap.map_grid", None)
    with Session(engine) as session:
        for email in CURATORS.values():
            create_account(session, email, PASSWORD, "curator", ["RU-MOS"])
        session.commit()
    yield
    _empty(engine)
    app.extensions.pop("resourcemap.map_grid", None)


@pytest.fixture
def curator_page(browser, live_server, app, curate_world):
    """sign_in("anna") -> a signed-in curator's page (1366×900) in a browser context of its own, so that two
    curators can work at once; `page.js_errors` collects script errors."""
    contexts = []

    def sign_in(who: str = "anna"):
        context = new_context(browser, live_server, app, DESKTOP)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.js_errors = errors
        page.base = live_server
        page.goto(f"{live_server}/signin?next=/curate")
        page.fill("input[name=email]", CURATORS[who])
        page.fill("input[name=password]", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server}/curate")
        return page

    yield sign_in
    for context in contexts:
        outside = context.outside.urls
        context.close()
        assert outside == [], outside
