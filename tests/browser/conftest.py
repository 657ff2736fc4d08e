"""Browser tests of the public pages: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by
`scripts/install --test`) against the app served by a real HTTP server in a thread, on the test database with
the demo registry loaded. Tile requests (the internet is not reachable in CI) get an empty 1×1 PNG; every other
request that leaves 127.0.0.1 is refused and recorded, so a CDN dependency fails the tests."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import text

from resourcemap.registry.demo import load_demo_registry
from tests.conftest import REGISTRY_TABLES, ROOT

OUTPUT = ROOT / "test-output"
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII=")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
ELEKTROSTAL = (55.7847, 38.4447)
ZOLOTOY = "Золотой ключик"  # an organization of the demo registry


def first_card(page):
    """The first card of the result list."""
    return page.locator("#result-list > li").first


def settlement_id(engine) -> int:
    """Электросталь's id (the most populous of the name)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Электросталь'"
                                 " ORDER BY population DESC NULLS LAST LIMIT 1")).scalar()


def truncate_registry(engine, also: str = "") -> None:
    """Empty the registry tables (and the tables named in `also`)."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES}{', ' + also if also else ''} RESTART IDENTITY CASCADE"))


def load_fresh_demo(app, engine, also: str = "") -> None:
    """The demo registry (data/demo/registry.json) alone in the registry (the tables in `also` emptied too), and
    the map's cached overview grid forgotten."""
    truncate_registry(engine, also)
    load_demo_registry(engine, Path(app.config["DEMO_REGISTRY"]))
    app.extensions.pop("resourcemap.map_grid", None)


@pytest.fixture(scope="module")
def demo_registry(app, engine):
    """The demo registry, emptied again after the module."""
    load_fresh_demo(app, engine)
    yield
    truncate_registry(engine)


class Outside:
    """Requests that tried to leave the test server (tiles excepted)."""

    def __init__(self):
        self.urls: list[str] = []


def new_context(browser, live_server: str, app, viewport=PHONE, locale="ru-RU", **kwargs):
    tile_host = app.config["TILE_URL"].split("/")[2].replace("{s}.", "")
    outside = Outside()
    context = browser.new_context(viewport=viewport, locale=locale, **kwargs)
    context.set_default_timeout(15000)

    def handle(route):
        url = route.request.url
        if url.startswith(live_server) or url.startswith("data:"):
            route.continue_()
        elif tile_host in url:
            route.fulfill(status=200, content_type="image/png", body=PNG_1X1)
        else:
            outside.urls.append(url)
            route.abort()

    context.route("**/*", handle)
    context.outside = outside
    return context


def watched_page(context, console_errors: bool = True):
    """A new page of `context` whose script errors (and console errors, unless told not to) collect in
    `page.js_errors`."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if console_errors:
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    return page


def signed_in_page(context, base: str, home: str, email: str, password: str):
    """A watched page of `context` signed in through the form and landed on `home` ("/curate", "/dispatch");
    `page.base` is the server's address."""
    page = watched_page(context)
    page.base = base
    page.goto(f"{base}/signin?next={home}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}{home}")
    return page


@pytest.fixture
def phone_page(browser, live_server, app, demo_registry):
    context = new_context(browser, live_server, app, PHONE, has_touch=True, is_mobile=True)
    page = watched_page(context)
    yield page
    context.close()
    assert context.outside.urls == [], context.outside.urls


@pytest.fixture
def desktop_page(browser, live_server, app, demo_registry):
    context = new_context(browser, live_server, app, DESKTOP)
    page = watched_page(context, console_errors=False)
    yield page
    context.close()
    assert context.outside.urls == [], context.outside.urls
