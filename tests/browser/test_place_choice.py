"""Issue 18: the JavaScript page never swaps a typed place for another. An unknown name is "not found, did you
mean …", namesakes are a choice, and a found place has «Не то место?» as on the page without JavaScript; each
offered place names its district and region. Screenshots in test-output/."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT


def type_and_search(page, text: str) -> None:
    page.locator("#place").fill(text)
    page.locator("#place").press("Enter")


def test_a_typed_place_is_found_chosen_or_offered_never_guessed(phone_page, live_server):
    page = phone_page
    page.goto(live_server + "/?service=early_help")
    choice = page.locator("#place-choice")

    type_and_search(page, "Кукуштаново")
    expect(page.locator("#error")).to_have_text("Не нашли «Кукуштаново». Возможно, вы имели в виду:")
    expect(choice.get_by_role("link", name="Кукуштан — Пермский район, Пермский край")).to_be_visible()
    expect(page.locator("#result-list")).to_have_count(0)  # nothing shown for a place taken in its stead
    page.screenshot(path=str(OUTPUT / "place-not-found-phone.png"), full_page=True)

    type_and_search(page, "Деревня Алакаевка")
    expect(choice.locator(".choice-title")).to_have_text("Найдено несколько мест «Алакаевка» — выберите:")
    expect(page.locator("#error")).to_be_hidden()
    links = choice.get_by_role("link")
    expect(links).to_have_text(["Алакаевка — Кинельский район, Самарская область",
                                "Алакаевка — Новоспасский район, Ульяновская область"])
    page.screenshot(path=str(OUTPUT / "place-namesakes-phone.png"), full_page=True)
    links.nth(1).click()
    expect(page.locator("#results-h")).to_have_text("Ближайшая помощь: Алакаевка")
    expect(page.locator(".origin-label")).to_have_text("Алакаевка — Новоспасский район, Ульяновская область")
    expect(choice).to_be_hidden()
    expect(page).to_have_url(re.compile(r"settlement=\d+"))

    type_and_search(page, "Электросталь")
    expect(page.locator("#results-h")).to_have_text("Ближайшая помощь: Электросталь")
    expect(page).to_have_url(re.compile(r"settlement=\d+.*service=early_help"))
    not_right = page.locator("#results details.alternatives")
    expect(not_right.locator("summary")).to_have_text("Не то место?")
    not_right.locator("summary").click()
    other = not_right.get_by_role("link", name=re.compile(r"^Электрогорск — .*Московская область$"))
    expect(other).to_be_visible()
    page.screenshot(path=str(OUTPUT / "place-not-right-phone.png"), full_page=True)
    other.click()
    expect(page.locator("#results-h")).to_have_text("Ближайшая помощь: Электрогорск")
    # Chromium logs the API's 404 and 409 answers as failed loads; they are the answers asked for, not errors.
    assert [e for e in page.js_errors if not re.search(r"status of (404|409) ", e)] == []
    assert len(page.js_errors) == 2
