"""The parent's path in a real browser (Chromium via Playwright), phone-sized and desktop: find the town, choose
early help, see «Золотой ключик» first with its distance and a tel: link, open its page; apply and clear
filters; "near me" with a granted test geolocation; the whole path by keyboard alone. Screenshots of both
layouts go to test-output/."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ELEKTROSTAL, OUTPUT, PHONE, ZOLOTOY, first_card, new_context, settlement_id


def test_search_the_town_choose_early_help_and_open_the_page(phone_page, live_server):
    page = phone_page
    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.locator("#place").press_sequentially("Электросталь", delay=20)
    option = page.get_by_role("option", name=re.compile("^Электросталь"))
    expect(option.first).to_be_visible()
    option.first.click()
    page.locator("label.chip", has_text="Ранняя помощь").click()
    card = first_card(page)
    expect(card).to_contain_text(ZOLOTOY)
    expect(card.locator(".kind-name")).to_have_text("Ранняя помощь")
    expect(card.locator(".distance")).to_have_text(re.compile(r"^\d+(,\d)? к?м$"))
    expect(card.locator("a.call")).to_have_attribute("href", re.compile(r"^tel:\+7\d{10}$"))
    expect(page).to_have_url(re.compile(r"settlement=\d+.*service=early_help"))
    expect(page.locator("#demo-banner")).to_be_visible()
    expect(page.locator("#map_parents .leaflet-marker-icon").first).to_be_attached()
    page.screenshot(path=str(OUTPUT / "map-phone.png"), full_page=True)
    page.screenshot(path=str(OUTPUT / "map-phone-viewport.png"))

    card.locator("a.org-link").click()
    expect(page.locator("h1")).to_contain_text(ZOLOTOY)
    expect(page.locator("a.call.big")).to_have_attribute("href", re.compile(r"^tel:\+7\d{10}$"))
    expect(page.locator("a[href^='https://yandex.ru/maps/']").first).to_be_visible()  # opens on any phone
    expect(page.locator(".checked")).to_contain_text("Московская область")
    expect(page.locator("#demo-banner")).to_be_visible()
    page.screenshot(path=str(OUTPUT / "org-phone.png"), full_page=True)
    page.locator(".back a").click()  # back to the same results
    expect(first_card(page)).to_contain_text(ZOLOTOY)
    assert page.js_errors == []


def test_the_shared_link_filters_and_clearing_them(desktop_page, live_server, engine):
    page = desktop_page
    sid = settlement_id(engine)
    page.goto(f"{live_server}/?settlement={sid}&service=early_help")
    expect(first_card(page)).to_contain_text(ZOLOTOY)
    expect(page.locator("#map_parents")).to_have_attribute("data-loaded", re.compile(r"^\d+$"))
    page.screenshot(path=str(OUTPUT / "map-desktop.png"))

    page.select_option("#age", "180")  # 15 years: early help is for the youngest
    expect(page).to_have_url(re.compile(r"age_months=180"))
    expect(page.locator("#results .empty")).to_be_visible()  # nothing: early help is for 0-3 years
    expect(page.locator("#results")).not_to_contain_text(ZOLOTOY)
    page.locator("#open-now").check()
    expect(page).to_have_url(re.compile(r"open_now=1"))

    page.locator("#clear-filters").click()
    expect(page).to_have_url(re.compile(rf"/\?settlement={sid}$"))
    expect(page.locator("input[name=service]:checked")).to_have_count(0)
    expect(page.locator("#age")).to_have_value("")
    expect(page.locator("#open-now")).not_to_be_checked()
    expect(page.locator("#result-list")).to_contain_text(ZOLOTOY)  # any kind of help, nearest first
    page.goto(f"{live_server}/org/1")
    page.screenshot(path=str(OUTPUT / "org-desktop.png"), full_page=True)


def test_near_me_asks_for_the_location_only_when_pressed(browser, live_server, app, demo_registry):
    context = new_context(browser, live_server, app, PHONE, geolocation={"latitude": ELEKTROSTAL[0],
                                                                       "longitude": ELEKTROSTAL[1]},
                          permissions=["geolocation"])
    context.add_init_script("""
      window.__geoCalls = 0;
      const original = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
      navigator.geolocation.getCurrentPosition = (...args) => { window.__geoCalls += 1; return original(...args); };
    """)
    page = context.new_page()
    page.goto(live_server + "/?service=early_help")
    expect(page.locator("#near-me")).to_be_visible()
    assert page.evaluate("window.__geoCalls") == 0
    page.locator("#near-me").click()
    expect(first_card(page)).to_contain_text(ZOLOTOY)
    expect(page.locator("#results-h")).to_have_text("Ближайшая помощь рядом с вами")
    expect(page).to_have_url(re.compile(r"lat=55\.78\d*&lon=38\.44\d*&service=early_help"))
    assert page.evaluate("window.__geoCalls") == 1
    context.close()
    assert context.outside.urls == []


def _tab_until(page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


def _focus_is_visible(page) -> bool:
    return page.evaluate("""() => {
        const el = document.activeElement; const s = getComputedStyle(el);
        const chip = el.matches('.chip input') ? getComputedStyle(el.nextElementSibling) : null;
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) ||
               (chip && chip.outlineStyle !== 'none' && parseFloat(chip.outlineWidth) >= 2);
    }""")


def test_the_main_path_by_keyboard_alone(desktop_page, live_server):
    page = desktop_page
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    _tab_until(page, "#place")
    assert _focus_is_visible(page)
    page.keyboard.type("Электросталь", delay=20)
    expect(page.get_by_role("option").first).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#place")).to_have_attribute("aria-activedescendant", "place-opt-0")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Теперь отметьте")  # the place is set; now the kinds
    expect(page.locator("input[name=service]").first).to_be_focused()
    if not page.evaluate("document.activeElement.matches('input[value=early_help]')"):
        _tab_until(page, "input[value=early_help]")
    assert _focus_is_visible(page)
    page.keyboard.press("Space")
    expect(first_card(page)).to_contain_text(ZOLOTOY)
    _tab_until(page, "#result-list > li:first-child a.call")
    assert _focus_is_visible(page)
    _tab_until(page, "#result-list > li:first-child a.more")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(ZOLOTOY)
    _tab_until(page, "a.call.big")
    assert _focus_is_visible(page)
    assert page.js_errors == []


def test_english_switch(phone_page, live_server, engine):
    page = phone_page
    page.goto(f"{live_server}/?settlement={settlement_id(engine)}&service=early_help")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#results-h")).to_contain_text("Nearest help")
    expect(first_card(page).locator(".kind-name")).to_have_text("Early help")
    page.locator("label.chip", has_text=re.compile(r"^\s*Rehabilitation")).click()  # the JS list speaks English too
    expect(first_card(page).locator(".ages")).to_contain_text("Age:")
    page.screenshot(path=str(OUTPUT / "map-phone-en.png"))
