"""Issue 18: the JavaScript page says "nothing near" like the no-JS page, with the helpline first and the far
services marked with their region; never "Нашли: 10" for a village 2,000 km from help. Screenshot in test-output/."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.conftest import OUTPUT


def test_a_far_village_is_told_nothing_is_near(phone_page, live_server, engine):
    with engine.connect() as conn:
        tarbagatai = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Тарбагатай' AND region_code = 'RU-BU'"
                                       " ORDER BY population DESC NULLS LAST LIMIT 1")).scalar()
    page = phone_page
    page.goto(f"{live_server}/?settlement={tarbagatai}")
    page.locator("label.chip", has_text="Ранняя помощь").click()  # the script searches again for the chosen kind
    box = page.locator(".nothing-near")
    expect(box).to_contain_text("Ближе 100 км такой помощи нет.")
    expect(page.locator("#helpline-list")).to_contain_text("8 (800) 200-01-22")
    expect(page.locator("#far-list > li").first).to_be_visible()
    expect(page.locator("#far-list > li .region").first).not_to_be_empty()
    expect(page.locator("#result-list > li")).to_have_count(0)
    expect(page.get_by_text("Нашли:")).to_have_count(0)
    page.screenshot(path=str(OUTPUT / "nothing-near-phone.png"), full_page=True)
    assert page.js_errors == []
