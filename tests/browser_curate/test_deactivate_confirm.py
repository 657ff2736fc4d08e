"""«Больше не действует» in a real browser (issue 18): a page that says what will happen, «Нет» back to the editor
with nothing saved, «Да» off the map. Screenshot: test-output/curate-deactivate.png."""
from __future__ import annotations

from sqlalchemy import text

from tests.browser_curate.conftest import OUTPUT


def test_deactivating_is_confirmed_on_a_page_of_its_own(curator_page, engine):
    with engine.connect() as conn:
        org_id = conn.execute(text("SELECT id FROM organization WHERE region_code = 'RU-MOS' AND status = 'published'"
                                   " ORDER BY id LIMIT 1")).scalar()
    page = curator_page("anna")
    page.goto(f"{page.base}/curate/org/{org_id}")
    page.click("#deactivate")
    page.locator("#confirm-deactivate").wait_for()
    assert "снята с карты" in page.inner_text("main") and "Ничего не удаляется" in page.inner_text("main")
    page.screenshot(path=str(OUTPUT / "curate-deactivate.png"), full_page=True)
    page.click("#keep")
    page.locator("#deactivate").wait_for()
    assert page.inner_text("#org-status") == "Опубликована"
    page.click("#deactivate")
    page.click("#confirm-deactivate")
    page.wait_for_url(f"{page.base}/curate/org/{org_id}")
    assert page.inner_text("#org-status") == "Не действует"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM organization WHERE id = :i"), {"i": org_id}).scalar() == "inactive"
        conn.execute(text("UPDATE organization SET status = 'published' WHERE id = :i"), {"i": org_id})
        conn.commit()
    assert page.js_errors == [], page.js_errors
