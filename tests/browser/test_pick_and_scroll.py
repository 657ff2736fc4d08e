"""Issue 18, the public page in a phone-sized Chromium: picking a suggestion asks for the kinds of help instead of
answering for all of them; a chip tap that updates results below the fold offers a button to them; the map's scale
is metric and not under the attribution. Screenshots in test-output/."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT


def test_picking_a_place_asks_for_the_kinds_then_a_chip_offers_the_results(phone_page, live_server):
    page = phone_page
    page.goto(live_server + "/")
    page.locator("#place").press_sequentially("Электросталь", delay=20)
    page.get_by_role("option", name=re.compile("^Электросталь")).first.click()
    expect(page.locator("#status")).to_contain_text("Теперь отметьте, какая помощь нужна")
    expect(page.locator("input[name=service]").first).to_be_focused()
    expect(page.locator("#result-list > li")).to_have_count(0)  # no answer for every kind at once
    page.screenshot(path=str(OUTPUT / "pick-asks-kinds-phone.png"))
    page.locator("label.chip", has_text="Ранняя помощь").click()
    button = page.locator("#to-results")
    expect(button).to_be_visible()
    expect(button).to_contain_text(re.compile(r"Показать результаты: \d+"))
    page.screenshot(path=str(OUTPUT / "chip-offers-results-phone.png"))
    button.click()
    expect(page.locator("#result-list > li").first).to_be_in_viewport()
    expect(button).to_be_hidden()
    assert page.js_errors == []


def test_the_map_scale_is_metric_and_clear_of_the_attribution(phone_page, live_server):
    page = phone_page
    page.goto(live_server + "/")
    scale = page.locator(".leaflet-control-scale-line")
    expect(scale).to_have_count(1)
    expect(scale).to_have_text(re.compile(r"^\d+ (k?m|к?м)$"))
    box = scale.bounding_box()
    attribution = page.locator(".leaflet-control-attribution").bounding_box()
    overlap = not (box["y"] + box["height"] <= attribution["y"] or attribution["y"] + attribution["height"] <= box["y"]
                   or box["x"] + box["width"] <= attribution["x"] or attribution["x"] + attribution["width"] <= box["x"])
    assert not overlap
