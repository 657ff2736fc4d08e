"""The console, items a new user found (issue 18), in the browser: the short SMS copied with S (or its button) with a
confirmation, the chosen services told apart, and at 1366×768 enough result cards on screen with the key legend
uncovered."""
from __future__ import annotations

from tests.browser_dispatch.conftest import OUTPUT


def find(page, place: str, keys: str) -> None:
    """Type the family's place, take the first suggestion, toggle kinds of help by their keys; wait for results."""
    page.keyboard.type(place, delay=20)
    page.locator("#where-list li.opt").first.wait_for()
    page.keyboard.press("Enter")
    page.locator("#origin", has_text=place).wait_for()
    for key in keys:
        page.keyboard.press(key)
    # Locators, not wait_for_function: a predicate still false at first is polled with eval, which the CSP forbids.
    page.locator(".group").nth(len(keys) - 1).wait_for()
    page.locator("#results:not([aria-busy])").wait_for()


def test_s_copies_the_short_sms_with_a_visible_confirmation(dispatcher_page):
    page = dispatcher_page
    find(page, "Кратово", "12")
    page.keyboard.press("r")
    page.locator("#referral[open]").wait_for()
    sms = page.inner_text("#sms-text")
    assert 0 < len(sms) <= 134 and sms not in page.input_value("#referral-text").split("\n")
    assert "Ковчег" in sms or "Золотой ключик" in sms or "Оптимист" in sms
    assert page.get_attribute("#referral-sms", "href").startswith("sms:?&body=")

    page.keyboard.press("s")
    page.wait_for_function("navigator.clipboard.readText().then(t => t.length > 0)")
    assert page.evaluate("navigator.clipboard.readText()") == sms
    note = page.locator("#referral-note")
    assert note.is_visible() and "Скопировано" in note.inner_text() and "SMS" in note.inner_text()
    page.screenshot(path=str(OUTPUT / "dispatch-sms-copied.png"))

    # The family's number, typed into the dialog, goes into the link only; typing it triggers no shortcut.
    page.evaluate("navigator.clipboard.writeText('')")
    page.click("#sms-to")
    page.keyboard.type("+7 916 123-45-67 s")
    assert page.get_attribute("#referral-sms", "href").startswith("sms:+79161234567?&body=")
    assert page.evaluate("navigator.clipboard.readText()") == ""
    page.click("#sms-copy")  # the button does what S does
    page.wait_for_function("navigator.clipboard.readText().then(t => t.length > 0)")
    assert page.evaluate("navigator.clipboard.readText()") == sms
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    page.keyboard.press("r")  # nothing found yet: no dialog; the number typed for the last family is gone
    assert page.input_value("#sms-to") == ""
    assert page.js_errors == [], page.js_errors


def test_two_chosen_services_of_one_organization_are_told_apart(dispatcher_page):
    page = dispatcher_page
    find(page, "Кратово", "26")  # rehabilitation and psychological help: «Ковчег» gives both
    kovcheg = page.locator(".card", has_text="Ковчег")
    assert kovcheg.count() == 2
    for n in range(2):
        kovcheg.nth(n).focus()
        page.keyboard.press("Space")
    chosen = page.locator("#chosen li").all_inner_texts()
    assert len(chosen) == 2 and all("Ковчег" in c for c in chosen)
    assert chosen[0] != chosen[1], chosen
    assert any("реабилитац" in c.lower() for c in chosen) and any("психолог" in c.lower() for c in chosen)
    page.locator("#chosen").screenshot(path=str(OUTPUT / "dispatch-chosen-two-services.png"))
    assert page.js_errors == [], page.js_errors


VISIBLE_CARDS = """() => {
  const keys = document.querySelector('.keys').getBoundingClientRect();
  const bottom = Math.min(window.innerHeight, keys.top);
  return [...document.querySelectorAll('#results .card')].filter(card => {
    const r = card.getBoundingClientRect();
    if (r.top < 0 || r.bottom > bottom || r.height === 0) return false;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit !== null && card.contains(hit);
  }).length;
}"""
LEGEND_UNCOVERED = """() => [...document.querySelectorAll('.keys > span')].every(item => {
  const r = item.getBoundingClientRect();
  if (r.bottom > window.innerHeight || r.height === 0) return false;
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && item.contains(hit);
})"""


def test_at_1366x768_five_cards_are_on_screen_and_the_key_legend_is_uncovered(dispatcher_page):
    page = dispatcher_page
    page.set_viewport_size({"width": 1366, "height": 768})
    find(page, "Кратово", "136")  # early help, family support, psychological help: more than five cards
    assert page.locator("#results .card").count() > 5
    page.screenshot(path=str(OUTPUT / "dispatch-1366x768.png"))
    assert page.evaluate(VISIBLE_CARDS) >= 5
    assert page.evaluate(LEGEND_UNCOVERED)
    # Scrolling the results keeps the question, the map and the legend where they are.
    page.keyboard.press("ArrowDown")
    for _ in range(8):
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.classList.contains('card')")
    assert page.evaluate("document.getElementById('where').getBoundingClientRect().top") > 0
    assert page.evaluate(LEGEND_UNCOVERED)
    page.screenshot(path=str(OUTPUT / "dispatch-1366x768-scrolled.png"))
    assert page.js_errors == [], page.js_errors
