"""Issue 18 in the console: several places of the typed name are a choice (Enter takes none of them until the
consultant moves to one), an unknown name shows only look-alikes; a name found exactly is taken with Enter."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser_dispatch.conftest import OUTPUT


def test_namesakes_and_look_alikes_are_never_taken_by_enter(dispatcher_page):
    page = dispatcher_page
    kb = page.keyboard
    where, lines, origin = page.locator("#where"), page.locator("#where-list li"), page.locator("#origin")

    kb.type("Деревня Алакаевка", delay=20)
    expect(lines.first).to_have_text("Несколько мест «Алакаевка» — выберите:")
    expect(page.locator("#where-list li.opt")).to_have_count(2)
    expect(page.locator("#where-list li.active")).to_have_count(0)
    page.screenshot(path=str(OUTPUT / "dispatch-namesakes.png"))
    kb.press("Enter")  # nothing is chosen for the consultant
    expect(origin).to_have_text("")
    kb.press("ArrowDown")
    kb.press("ArrowDown")
    kb.press("Enter")
    expect(origin).to_have_text("Семья: Алакаевка — Новоспасский район, Ульяновская область")

    where.fill("")
    where.focus()
    kb.type("Кукуштаново", delay=20)
    expect(lines.first).to_have_text("Нет места «Кукуштаново». Похожие:")
    expect(page.locator("#where-list li.opt", has_text="Кукуштан")).to_contain_text("Пермский край")
    expect(page.locator("#where-list li.active")).to_have_count(0)
    page.screenshot(path=str(OUTPUT / "dispatch-not-found.png"))
    assert page.js_errors == []
