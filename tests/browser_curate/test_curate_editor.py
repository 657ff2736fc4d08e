"""A curator of Moscow oblast at work in a real browser: a new organization placed by settlement search and a
dragged marker, two services, published and found on the public map; two curators saving the same entry at once;
a change reverted from the history. Screenshots of the editor and the conflict page go to test-output/."""
from __future__ import annotations

import math
import re

from playwright.sync_api import expect
from pyproj import Geod
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.registry import edit
from tests.browser_curate.conftest import OUTPUT

NAME = "Семейный центр «Берег»"
DRAG = (140, 70)  # pixels right and down


def kolomna(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT id, ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lon FROM settlement"
            " WHERE name_ru = 'Коломна' AND region_code = 'RU-MOS' ORDER BY population DESC NULLS LAST LIMIT 1"))
            .mappings().one())


def marker_position(page, row: str = "#f-locations-0") -> tuple[float, float, int]:
    return tuple(page.evaluate(
        "sel => { const s = document.querySelector(sel + ' .locmap')._curate;"
        " const p = s.marker.getLatLng(); return [p.lat, p.lng, s.map.getZoom()]; }", row))


def mercator_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def test_a_new_organization_placed_dragged_published_and_found_on_the_map(curator_page, engine):
    page = curator_page("anna")
    town = kolomna(engine)
    _open_a_new_organization(page)
    lat0, lon0 = _place_it_by_the_settlement(page, town)
    lat1, lon1 = _drag_the_marker(page, lat0, lon0)
    _add_two_services(page)
    _add_a_phone(page)
    _publish_and_find_it_saved_where_the_marker_was(page, engine, town, lat1, lon1)
    _find_it_on_the_parents_map(page, town)
    assert page.js_errors == [], page.js_errors


def _open_a_new_organization(page) -> None:
    """The list shows the region's demo registry; "new" opens the editor; a name and a description."""
    expect(page.locator("table.list")).to_contain_text("Золотой ключик")  # the demo registry of the region
    page.screenshot(path=str(OUTPUT / "curate-list.png"), full_page=True)
    page.click("#new-org")
    page.wait_for_url(re.compile(r"/curate/org/new"))
    page.fill("#f-name", NAME)
    page.fill("#f-description", "Консультации психолога и помощь семьям с детьми")


def _place_it_by_the_settlement(page, town) -> tuple[float, float]:
    """Place it by the settlement: suggestions from /api/v1/settlements; the marker lands on the town (its point,
    returned)."""
    page.locator("#f-locations-0-settlement_label").press_sequentially("Коломна", delay=30)
    option = page.locator("#f-locations-0-suggest li.opt").first
    expect(option).to_contain_text("Коломна")
    expect(option).to_contain_text("Московская область")
    option.click()
    expect(page.locator("#f-locations-0 .loc-check .ok")).to_contain_text("Московская область")
    lat0, lon0 = float(page.input_value("#f-locations-0-lat")), float(page.input_value("#f-locations-0-lon"))
    assert abs(lat0 - town["lat"]) < 1e-6 and abs(lon0 - town["lon"]) < 1e-6
    assert page.input_value("input[name='locations[0].settlement_id']") == str(town["id"])
    return lat0, lon0


def _drag_the_marker(page, lat0: float, lon0: float) -> tuple[float, float]:
    """Drag the marker 140 px right and 70 px down: the fields follow the marker. The new point."""
    marker = page.locator("#f-locations-0 .leaflet-marker-icon")
    expect(marker).to_be_visible()
    marker.scroll_into_view_if_needed()
    before = page.input_value("#f-locations-0-lat")
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + DRAG[0] / 2, y + DRAG[1] / 2, steps=5)
    page.mouse.move(x + DRAG[0], y + DRAG[1], steps=5)
    page.mouse.up()
    expect(page.locator("#f-locations-0-lat")).not_to_have_value(before)
    lat1, lon1, zoom = marker_position(page)
    assert abs(float(page.input_value("#f-locations-0-lat")) - lat1) < 1e-6
    assert abs(float(page.input_value("#f-locations-0-lon")) - lon1) < 1e-6
    # Independently of Leaflet: at zoom z a pixel is 360 / (256·2^z) degrees of longitude, and latitude moves by
    # the Web Mercator projection. The marker moved by the mouse's offset (within 2 px).
    pixel = 360 / (256 * 2 ** zoom)
    assert abs((lon1 - lon0) / pixel - DRAG[0]) <= 2, (lon1 - lon0) / pixel
    dy = (mercator_y(lat0) - mercator_y(lat1)) * 256 * 2 ** zoom / (2 * math.pi)
    assert abs(dy - DRAG[1]) <= 2, dy
    return lat1, lon1


def _add_two_services(page) -> None:
    """Two services: family support with hours, and psychological help online."""
    page.select_option("#f-services-0-type", "family_support")
    page.fill("#f-services-0-age_max_months", "7")
    page.fill("#f-services-0-hours-1-opens", "09:00")
    page.fill("#f-services-0-hours-1-closes", "18:00")
    page.click("#f-services-0 .copy-weekdays")
    expect(page.locator("#f-services-0-hours-5-closes")).to_have_value("18:00")
    page.click("button[data-add=services]")
    expect(page.locator("#f-services-1")).to_be_visible()
    page.select_option("#f-services-1-type", "psychological_help")
    page.check("input[name='services[1].delivery'][value=online]")
    expect(page.locator("#f-services-1 .radius")).to_be_hidden()
    page.check("input[name='services[0].delivery'][value=outreach]")
    expect(page.locator("#f-services-0 .radius")).to_be_visible()
    page.fill("#f-services-0-outreach_radius_km", "20")


def _add_a_phone(page) -> None:
    """A phone, checked and shown as it will be dialled."""
    page.fill("#f-phones-0-number", "8 496 612 00 00")
    page.keyboard.press("Tab")
    expect(page.locator("#f-phones-0 .phone-check")).to_have_text("✓ 8 (496) 612-00-00")
    page.screenshot(path=str(OUTPUT / "curate-editor.png"), full_page=True)


def _publish_and_find_it_saved_where_the_marker_was(page, engine, town, lat1: float, lon1: float) -> None:
    """Publish; the stored document has the marker's point, the town, both services and the phone."""
    page.click("#publish")
    page.wait_for_url(re.compile(r"/curate/org/\d+$"))
    expect(page.locator(".flash.ok")).to_contain_text("опубликована")
    expect(page.locator("#org-status")).to_have_text("Опубликована")
    org_id = int(page.url.rsplit("/", 1)[1])
    with Session(engine) as session:
        doc = edit.organization_document(session, org_id)
    assert doc["status"] == "published" and doc["region_code"] == "RU-MOS"
    loc = doc["locations"][0]
    assert abs(loc["lat"] - lat1) < 1e-6 and abs(loc["lon"] - lon1) < 1e-6  # saved where the marker was
    assert loc["settlement_id"] == town["id"]
    moved_m = Geod(ellps="WGS84").inv(town["lon"], town["lat"], loc["lon"], loc["lat"])[2]
    assert 500 < moved_m < 5000, moved_m  # the drag moved it off the town's centre
    assert sorted(s["type"] for s in doc["services"]) == ["family_support", "psychological_help"]
    assert doc["phones"][0]["number"] == "+74966120000"
    # The editor shows the saved point again, marker and fields together.
    lat2, lon2, _ = marker_position(page)
    assert abs(lat2 - loc["lat"]) < 1e-6 and abs(lon2 - loc["lon"]) < 1e-6


def _find_it_on_the_parents_map(page, town) -> None:
    """The parents' map: search near Коломна for family support; the new centre is among the nearest."""
    page.goto(f"{page.base}/?settlement={town['id']}&service=family_support")
    card = page.locator("#result-list > li", has_text="Берег")
    expect(card).to_be_visible()
    expect(card.locator(".distance")).to_have_text(re.compile(r"^\d+(,\d)? к?м$"))


def a_demo_organization(engine, skip: int = 0) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, name FROM organization WHERE region_code = 'RU-MOS'"
                                " AND external_id LIKE 'demo:%' ORDER BY id OFFSET :n LIMIT 1"), {"n": skip}).one()
    return row.id, row.name


def test_two_curators_save_the_same_entry_and_the_second_meets_the_conflict_page(curator_page, engine):
    org_id, name = a_demo_organization(engine)
    anna, boris = curator_page("anna"), curator_page("boris")
    for page in (anna, boris):
        page.goto(f"{page.base}/curate/org/{org_id}")
        expect(page.locator("#f-name")).to_have_value(name)
    anna.fill("#f-name", name + " (уточнено)")
    anna.click("#save")
    expect(anna.locator(".flash.ok")).to_contain_text("сохранены")

    boris.fill("#f-description", "Принимают семьи без записи по вторникам")
    boris.click("#save")
    expect(boris.locator("#conflict-title")).to_be_visible()
    name_row = boris.locator("table.compare tr", has=boris.locator("th", has_text="Название"))
    expect(name_row).to_have_class(re.compile("who-theirs"))
    expect(name_row.locator("td.stored")).to_have_text(name + " (уточнено)")
    description_row = boris.locator("table.compare tr", has=boris.locator("th", has_text="Описание"))
    expect(description_row).to_have_class(re.compile("who-mine"))
    expect(description_row.locator("td.yours")).to_have_text("Принимают семьи без записи по вторникам")
    with Session(engine) as session:  # nothing of Boris's was written
        assert edit.organization_document(session, org_id)["description"] != "Принимают семьи без записи по вторникам"
    boris.screenshot(path=str(OUTPUT / "curate-conflict.png"), full_page=True)

    boris.click("#take-mine")
    expect(boris.locator("#f-name")).to_have_value(name + " (уточнено)")
    expect(boris.locator("#f-description")).to_have_value("Принимают семьи без записи по вторникам")
    boris.click("#save")
    expect(boris.locator(".flash.ok")).to_contain_text("сохранены")
    with Session(engine) as session:
        doc = edit.organization_document(session, org_id)
    assert (doc["name"], doc["description"]) == (name + " (уточнено)", "Принимают семьи без записи по вторникам")
    # The conflict page is answered 409 on purpose; Chromium logs that status, nothing else may be logged.
    errors = [e for e in anna.js_errors + boris.js_errors if "status of 409" not in e]
    assert errors == [], errors


def test_revert_a_change_from_the_history(curator_page, engine):
    org_id, _name = a_demo_organization(engine, skip=1)
    page = curator_page("anna")
    page.goto(f"{page.base}/curate/org/{org_id}")
    old_address = page.input_value("#f-locations-0-address")
    page.fill("#f-locations-0-address", "ул. Новая, 1")
    page.fill("#f-change_note", "переехали")
    page.click("#save")
    expect(page.locator(".flash.ok")).to_be_visible()
    page.click("#history-link")
    row = page.locator("table.history tbody tr", has=page.locator("td.new", has_text="ул. Новая, 1")).first
    expect(row).to_contain_text("Адрес")
    expect(row).to_contain_text("переехали")
    expect(row).to_contain_text("anna.curator@example.org")
    page.screenshot(path=str(OUTPUT / "curate-history.png"), full_page=True)
    row.get_by_role("button", name=re.compile("Вернуть")).click()
    expect(page.locator(".flash.ok")).to_contain_text("Значение возвращено")
    newest = page.locator("table.history tbody tr").first
    expect(newest.locator("td.old")).to_have_text("ул. Новая, 1")
    expect(newest.locator("td.new")).to_have_text(old_address or "—")
    page.goto(f"{page.base}/curate/org/{org_id}")
    expect(page.locator("#f-locations-0-address")).to_have_value(old_address)
    assert page.js_errors == [], page.js_errors
