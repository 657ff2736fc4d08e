"""A parent's second visit (issue 18): with the HTTP cache on, as on a phone, the map page asks the server for
the page only — the scripts, styles and icons are fingerprinted and kept for a year, the first view's map data
for a minute — and everything still works under the CSP: the map draws its markers, a search finds help.

No context.route() here: Playwright turns the browser's HTTP cache off while requests are routed. Tiles are
answered inside the browser through CDP Fetch instead; what the server answered is counted at the server."""
from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT, PHONE, PNG_1X1

ZOLOTOY = "Золотой ключик"


@pytest.fixture
def served(app, monkeypatch) -> list[str]:
    """Every request the live server answers from now on, as path?query."""
    seen: list[str] = []
    inner = app.wsgi_app

    def counting(environ, start_response):
        query = environ.get("QUERY_STRING")
        seen.append(environ.get("PATH_INFO", "") + (f"?{query}" if query else ""))
        return inner(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", counting)
    return seen


class Tabs:
    """Tabs of one browser context (one HTTP cache), each with the tiles answered in the browser, and what went
    wrong in any of them: console errors (a CSP violation is one), page errors, requests that left the server."""

    def __init__(self, context, live_server: str, tile_host: str):
        self.context, self.live_server, self.tile_host = context, live_server, tile_host
        self.errors: list[str] = []
        self.outside: list[str] = []
        # Chromium reports a blocked script, style, image or fetch in the console; this says so too, by directive.
        context.add_init_script("document.addEventListener('securitypolicyviolation', (e) => "
                                "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")

    def open(self):
        page = self.context.new_page()
        cdp = self.context.new_cdp_session(page)

        def tile(event):
            try:
                cdp.send("Fetch.fulfillRequest", {
                    "requestId": event["requestId"], "responseCode": 200,
                    "responseHeaders": [{"name": "Content-Type", "value": "image/png"}],
                    "body": base64.b64encode(PNG_1X1).decode()})
            except Exception:  # noqa: BLE001  Leaflet dropped the tile (the view moved on)
                pass

        cdp.on("Fetch.requestPaused", tile)
        cdp.send("Fetch.enable", {"patterns": [{"urlPattern": f"*://{self.tile_host}/*"}]})
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", lambda req: None if req.url.startswith((self.live_server, "data:"))
                or self.tile_host in req.url else self.outside.append(req.url))
        return page


def test_a_repeat_visit_asks_for_the_page_only_and_the_page_still_works(browser, live_server, app, demo_registry,
                                                                       served):
    tile_host = app.config["TILE_URL"].split("/")[2].replace("{s}.", "")
    context = browser.new_context(viewport=PHONE, locale="ru-RU", has_touch=True, is_mobile=True)
    context.set_default_timeout(15000)
    tabs = Tabs(context, live_server, tile_host)
    try:
        first = tabs.open()
        first.goto(live_server + "/")
        expect(first.locator("#map_parents .leaflet-marker-icon").first).to_be_attached()
        first.wait_for_load_state("networkidle")
        assert "/" in served and any(u.startswith("/static/vendor/leaflet/leaflet.js?v=") for u in served), served
        assert any(u.startswith("/map-data/locations?") for u in served), served
        assert len(served) == len(set(served)), served  # nothing asked twice (no revalidation of the sprite)
        first.close()

        served.clear()
        again = tabs.open()  # a later visit in a new tab: not a reload, which would revalidate
        again.goto(live_server + "/")
        expect(again.locator("#map_parents .leaflet-marker-icon").first).to_be_attached()
        expect(again.locator("#map_parents")).to_have_attribute("data-loaded", re.compile(r"^(\d+|grid)$"))
        again.wait_for_load_state("networkidle")
        assert served == ["/"], served

        # Everything came from the cache, and the page works: suggestions, a search, the result list.
        again.locator("#place").press_sequentially("Электросталь", delay=20)
        option = again.get_by_role("option", name=re.compile("^Электросталь"))
        expect(option.first).to_be_visible()
        option.first.click()
        again.locator("label.chip", has_text="Ранняя помощь").click()
        card = again.locator("#result-list > li").first
        expect(card).to_contain_text(ZOLOTOY)
        sprite = re.compile(r"^/static/icons\.svg\?v=\w{12}#i-")
        expect(card.locator(".kind-icon use")).to_have_attribute("href", sprite)
        expect(again.locator("#map_parents .leaflet-marker-icon").first).to_be_attached()
        again.screenshot(path=str(OUTPUT / "map-repeat-visit-phone.png"), full_page=True)
        assert [e for e in tabs.errors if "Content Security Policy" in e or "CSP" in e] == []
        assert tabs.errors == []
        assert tabs.outside == []
    finally:
        context.close()
