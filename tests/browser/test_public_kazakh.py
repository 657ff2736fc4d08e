"""A parent in Kazakhstan on a phone whose browser speaks Kazakh (issue 22): the map opens in Kazakh without being
asked, finds «Экибастуз» typed in Russian, shows the town by its Kazakh name and the early support there with
Kazakh labels, in the page's script and in the server's page alike; the language switcher goes back to Russian
and the choice is remembered. Screenshots go to test-output/."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT, PHONE, new_context

SERVICE = "Служба ранней поддержки детей (Экибастуз)"  # data/demo/registry.json: early_help in Экибастуз


@pytest.fixture
def kazakh_phone(browser, live_server, app, demo_registry):
    context = new_context(browser, live_server, app, PHONE, locale="kk-KZ", has_touch=True, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [] and context.outside.urls == [], (errors, context.outside.urls)


def test_the_map_in_kazakh_finds_ekibastuz_and_its_early_support(kazakh_phone, live_server):
    page = kazakh_phone
    page.goto(live_server + "/")  # no ?lang=: the browser's Accept-Language (kk-KZ) chooses
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.locator("h1")).to_have_text("Сізге жақын жердегі балалы отбасыға көмек")
    expect(page.locator("label[for=place]")).to_have_text("Қай жерде тұрасыз? Қала, кент немесе ауыл")
    page.locator("#place").press_sequentially("Экибастуз", delay=20)
    option = page.get_by_role("option", name=re.compile("^Экібастуз"))  # the gazetteer's Kazakh name
    expect(option.first).to_be_visible()
    expect(option.first).to_contain_text("Павлодар облысы")
    page.screenshot(path=str(OUTPUT / "map-phone-kk-suggestions.png"))
    option.first.click()
    expect(page.locator("#place")).to_have_value("Экібастуз")
    page.locator("label.chip", has_text="Ерте көмек").click()
    card = page.locator("#result-list > li", has_text=SERVICE).first
    expect(card).to_be_visible()
    expect(card.locator(".kind-name")).to_have_text("Ерте көмек")
    expect(card.locator(".place")).to_have_text("Экібастуз")
    expect(card.locator(".ages")).to_have_text("Жасы: 0 – 3 жас")
    expect(card.locator(".more")).to_contain_text("Толығырақ")
    expect(page.locator("#results-h")).to_have_text("Ең жақын көмек: Экібастуз")
    expect(page.locator(".origin-label")).to_have_text(re.compile(r"^Экібастуз — .*Павлодар облысы$"))
    page.screenshot(path=str(OUTPUT / "map-phone-kk.png"), full_page=True)

    page.reload()  # the same answer rendered by the server, from the shared link
    card = page.locator("#result-list > li", has_text=SERVICE).first
    expect(card.locator(".kind-name")).to_have_text("Ерте көмек")
    expect(card.locator(".place")).to_have_text("Экібастуз")
    expect(card.locator(".ages")).to_have_text("Жасы: 0 – 3 жас")
    expect(page.locator("#results-h")).to_have_text("Ең жақын көмек: Экібастуз")

    card.locator(".org-link").click()  # the organization's page, in Kazakh too
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.locator(".kinds-line")).to_contain_text("Ерте көмек")
    expect(page.locator(".back a")).to_contain_text("Іздеу нәтижелеріне оралу")
    expect(page.locator(".checked")).to_contain_text("Өңір: Павлодар облысы")
    page.screenshot(path=str(OUTPUT / "org-phone-kk.png"), full_page=True)

    page.get_by_role("link", name="Русский").click()  # the switcher, remembered in a cookie
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("link", name="Қазақша")).to_be_visible()
