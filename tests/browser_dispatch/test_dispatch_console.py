"""The consultant's whole call, keyboard only: find Кратово, pick early help and rehabilitation, read the results,
copy a phone, pick two services, build the referral card, copy it and print it on A5."""
from __future__ import annotations

import re

from tests.browser_dispatch.conftest import OUTPUT


def focused_class(page) -> str:
    return page.evaluate("document.activeElement.className")


def test_a_call_from_kratovo_keyboard_only(dispatcher_page):
    page = dispatcher_page
    kb = page.keyboard
    assert page.evaluate("document.activeElement.id") == "where"  # the cursor starts in "where is the family"
    _find_kratovo(page)
    _choose_early_help_and_rehabilitation(page)
    early_phone, kovcheg_phone = _copy_a_phone_and_pick_two_services(page)
    _build_and_copy_the_referral(page, early_phone, kovcheg_phone)
    _print_the_card_on_a5(page, early_phone, kovcheg_phone)
    # Escape closes the card; N starts a new call with the cursor back in "where".
    kb.press("Escape")
    kb.press("n")
    assert page.evaluate("document.activeElement.id") == "where"
    assert page.locator(".card").count() == 0
    assert page.js_errors == [], page.js_errors


def _find_kratovo(page) -> None:
    """Type the village's name; the first suggestion is Кратово of Moscow oblast; Enter takes it."""
    kb = page.keyboard
    kb.type("Кратово", delay=30)
    first = page.locator("#where-list li.opt").first
    first.wait_for()
    assert "Кратово" in first.inner_text() and "Московская область" in first.inner_text()
    page.screenshot(path=str(OUTPUT / "dispatch-1-suggestions.png"))
    kb.press("Enter")
    page.wait_for_function("document.getElementById('origin').textContent.includes('Кратово')")


def _choose_early_help_and_rehabilitation(page) -> None:
    """Keys 1 and 2 choose the kinds; the results come in two groups with distances, hours and checks."""
    kb = page.keyboard
    kb.press("1")  # early help
    kb.press("2")  # rehabilitation
    page.locator(".group").nth(1).wait_for()
    page.wait_for_function("document.querySelectorAll('.group').length === 2 && "
                           "!document.getElementById('results').hasAttribute('aria-busy')")
    groups = page.locator(".group-head .gname").all_inner_texts()
    assert [g.lower() for g in groups] == ["ранняя помощь", "реабилитация"]
    rehab_names = page.locator(".card.kb-rehabilitation .card-name").all_inner_texts()
    assert any("Ковчег" in n for n in rehab_names)
    early_names = page.locator(".card.kb-early_help .card-name").all_inner_texts()
    assert any("Золотой ключик" in n or "Оптимист" in n for n in early_names)
    first_card = page.locator(".card").first
    assert re.search(r"\d+(,\d)? км", first_card.locator(".dist").inner_text())
    assert first_card.locator(".open").inner_text()
    assert "проверк" in first_card.locator(".card-meta").inner_text().lower()  # demo data: no check date
    page.screenshot(path=str(OUTPUT / "dispatch-2-results.png"))


def _copy_a_phone_and_pick_two_services(page) -> tuple[str, str]:
    """The first card: copy its phone (C), pick it for the referral (Space); then «Ковчег» too. The two services'
    main phones."""
    kb = page.keyboard
    kb.press("ArrowDown")
    assert "kb-early_help" in focused_class(page)
    early_phone = page.evaluate("document.activeElement.querySelector('.phone.main').textContent")
    kb.press("c")
    page.wait_for_function("navigator.clipboard.readText().then(t => t.length > 0)")
    assert page.evaluate("navigator.clipboard.readText()") == early_phone
    kb.press("Space")
    # Down to «Ковчег» in the rehabilitation group; pick it.
    for _ in range(12):
        kb.press("ArrowDown")
        if "kb-rehabilitation" in focused_class(page) and "Ковчег" in page.evaluate("document.activeElement.textContent"):
            break
    assert "Ковчег" in page.evaluate("document.activeElement.textContent")
    kovcheg_phone = page.evaluate("document.activeElement.querySelector('.phone.main').textContent")
    kb.press("Space")
    assert page.locator("#chosen li").count() == 2
    page.screenshot(path=str(OUTPUT / "dispatch-3-chosen.png"))
    return early_phone, kovcheg_phone


def _build_and_copy_the_referral(page, early_phone: str, kovcheg_phone: str) -> None:
    """The referral card (R): the chosen services with their phones; copy it (C)."""
    kb = page.keyboard
    kb.press("r")
    page.locator("#referral[open]").wait_for()
    card = page.input_value("#referral-text")
    assert early_phone in card and kovcheg_phone in card and "Ковчег" in card
    page.screenshot(path=str(OUTPUT / "dispatch-4-referral.png"))
    kb.press("c")
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('Ковчег'))")
    assert page.evaluate("navigator.clipboard.readText()") == card


def _print_the_card_on_a5(page, early_phone: str, kovcheg_phone: str) -> None:
    """Print (P): the A5 card opens in a new tab; print it to PDF."""
    kb = page.keyboard
    with page.context.expect_page() as opened:
        kb.press("p")
    printable = opened.value
    printable.wait_for_load_state()
    printable.set_viewport_size({"width": 1366, "height": 900})
    text = printable.inner_text("#card")
    assert early_phone in text and kovcheg_phone in text
    printable.screenshot(path=str(OUTPUT / "dispatch-5-print.png"), full_page=True)
    pdf = printable.pdf(path=str(OUTPUT / "dispatch-referral-a5.pdf"), format="A5", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    media = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert media and abs(float(media.group(1)) - 419.5) < 2 and abs(float(media.group(2)) - 595.3) < 2  # A5 in pt


def test_pasted_coordinates_and_the_map(dispatcher_page):
    page = dispatcher_page
    assert page.locator("#map .leaflet-tile-pane").count() == 1  # Leaflet is there
    page.keyboard.type("55.78, 38.45")
    page.locator("#where-list li.opt").first.wait_for()
    assert "Точка 55.78000, 38.45000" in page.locator("#where-list li.opt").first.inner_text()
    page.keyboard.press("Enter")
    page.keyboard.press("4")  # crisis apartments: the demo's is confidential and far away
    page.locator(".card").first.wait_for()
    assert page.locator(".card .badge.conf").count() >= 1
    page.screenshot(path=str(OUTPUT / "dispatch-6-coordinates.png"))
    # A click on the map moves the family there.
    page.locator("#map").click(position={"x": 120, "y": 120})
    page.wait_for_function("document.getElementById('origin').textContent.includes('Точка')")
    assert page.js_errors == [], page.js_errors
    # The gaps report: the crisis apartment 500 km away left this search without help within 100 km.
    page.goto(f"{page.base}/dispatch/gaps?km=100&days=all")
    assert "Кризисная квартира" in page.locator("table.gaps").first.inner_text()
    page.screenshot(path=str(OUTPUT / "dispatch-7-gaps.png"), full_page=True)
