"""Everything the browser receives on the public pages — HTML, scripts, styles, JSON from the API and from
/map-data — for a registry with confidential locations (the demo registry's crisis apartment and one more made
here) holds neither their exact coordinates nor their street addresses."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.conftest import DESKTOP, PHONE, new_context
from tests.factories import add_service

SECRET_ADDRESS = "ул. Тайная, д. 7, кв. 12"
SECRET = (55.80123, 38.43987)  # in Электросталь


@pytest.fixture(scope="module")
def secrets_(engine, demo_registry):
    from sqlalchemy.orm import Session
    with Session(engine) as session:
        add_service(session, *SECRET, "crisis_apartment", name="Кризисная квартира «Тест»", confidential=True,
                    address=SECRET_ADDRESS, phones=[{"number": "+7 496 570-11-22", "kind": "intake", "location": 0},
                                                    {"number": "+7 496 570-33-44", "kind": "main", "location": 0}])
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE location SET address = 'ул. Секретная, 1' WHERE confidential AND address = ''"))
        # The demo places its crisis apartment at the town centre, where a public service stands too (both
        # points are approximate); move it off that point so that finding its coordinates would be a leak.
        conn.execute(text(
            "UPDATE location l SET geog = CAST(ST_SetSRID(ST_MakePoint(ST_X(l.geog::geometry) + 0.02345,"
            " ST_Y(l.geog::geometry) + 0.01234), 4326) AS geography)"
            " WHERE l.confidential AND EXISTS (SELECT 1 FROM location p WHERE NOT p.confidential"
            " AND ST_DWithin(p.geog, l.geog, 50))"))
        rows = conn.execute(text("SELECT organization_id, ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lon,"
                                 " address, name FROM location WHERE confidential")).mappings().all()
    assert len(rows) >= 2
    return [dict(r) for r in rows]


def _leaks(body: str, rows: list[dict]) -> list[str]:
    found = []
    for r in rows:
        for value in (r["lat"], r["lon"]):
            if f"{value:.4f}" in body:
                found.append(f"{value:.4f}")
        if r["address"] and r["address"] in body:
            found.append(r["address"])
        if r["name"] and r["name"] in body:
            found.append(r["name"])
    if "570-33-44" in body or "5703344" in body:
        found.append("non-intake phone")
    return found


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_browser_never_receives_a_confidential_point_or_address(browser, live_server, app, secrets_, viewport):
    context = new_context(browser, live_server, app, viewport)
    bodies: list[tuple[str, str]] = []

    def keep(response):
        try:
            bodies.append((response.url, response.body().decode("utf-8", "replace")))
        except Exception:  # redirects and aborted requests have no body
            pass

    page = context.new_page()
    page.on("response", keep)
    page.goto(live_server + "/")
    page.locator("#place").press_sequentially("Электросталь", delay=10)
    page.get_by_role("option", name=re.compile("^Электросталь")).first.click()
    page.locator("label.chip", has_text="Кризисная квартира").click()
    expect(page.locator("#result-list")).to_contain_text("Кризисная квартира «Тест»")
    # Zoom the map onto the apartments, so the visible-area data is loaded at street level, and open the popups.
    for lat, lon in [SECRET] + [(r["lat"], r["lon"]) for r in secrets_]:
        page.evaluate("([lat, lon]) => window.map_parents.setView([lat, lon], 16, {animate: false})", [lat, lon])
        page.evaluate("([lat, lon]) => window.map_parents.setView([lat, lon], 12, {animate: false})", [lat, lon])
        expect(page.locator("#map_parents")).to_have_attribute("data-loaded", re.compile(r"^[1-9]\d*$"))
        page.evaluate("() => window.marker_cluster_parents.eachLayer(m => m.openPopup && m.getPopup() && m.openPopup())")
    for r in secrets_:
        page.goto(f"{live_server}/org/{r['organization_id']}")
        expect(page.locator("h1")).to_be_visible()
        page.goto(f"{live_server}/org/{r['organization_id']}?lang=en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server}/?lat={SECRET[0] + 0.0003:.5f}&lon={SECRET[1]:.5f}&service=crisis_apartment&lang=ru")
    expect(page.locator("#result-list")).to_contain_text("Кризисная квартира «Тест»")
    page.wait_for_load_state("networkidle")
    context.close()
    assert context.outside.urls == []
    urls = [u for u, _ in bodies]
    assert any("/map-data/locations" in u for u in urls) and any("/api/v1/nearest" in u for u in urls)
    assert any("/static/js/app.js" in u for u in urls) and any("/org/" in u for u in urls)
    leaks = {u: found for u, b in bodies if (found := _leaks(b, secrets_))}
    assert leaks == {}
    # The page the family is on shows the intake phone and the town.
    joined = "\n".join(b for _, b in bodies)
    assert "+74965701122" in joined and "Электросталь" in joined
