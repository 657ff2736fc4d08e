"""/coverage in a real browser (issue 21), as a new user would try it: an admin chooses early help, a region and
60 km with the keyboard, for Московская область and Республика Саха (Якутия); the map is drawn, the table sorts, and
its figures, the CSV's and the API's agree. Screenshots: test-output/coverage-RU-MOS.png, coverage-RU-SA.png (and -map.png: the map and its legend)."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account
from tests.browser.conftest import DESKTOP, new_context, signed_in_page
from tests.browser_curate.conftest import OUTPUT
from tests.conftest import empty_account_tables
from tests.coverage_world import KIND, coverage_world
from tests.staff import PASSWORD

EMAIL = "coverage.admin@example.org"
REGIONS = {"RU-MOS": "Московская область", "RU-SA": "Республика Саха (Якутия)"}
THRESHOLDS = ("30", "60", "100")


@pytest.fixture(scope="module")
def admin_page(browser, live_server, app, engine):
    with coverage_world(engine):
        with Session(engine) as session:
            create_account(session, EMAIL, PASSWORD, "admin", [])
            session.commit()
        context = new_context(browser, live_server, app, DESKTOP)
        yield signed_in_page(context, live_server, "/coverage", EMAIL, PASSWORD)
        outside = context.outside.urls
        context.close()
        empty_account_tables(engine)
        assert outside == [], outside


def _table(page) -> dict:
    """The district table's figures, by district id ('' for the rest of the region, and for a census municipality
    of a region without district outlines) and name."""
    rows = page.eval_on_selector_all("#districts tbody tr", """rows => rows.map(r => ({
        id: r.dataset.district, cells: Array.from(r.cells).map(c => c.dataset.v)}))""")
    return {(row["id"], row["cells"][0]): row["cells"] for row in rows}


def _expected(district: dict) -> list[str]:
    """A district's cells as the table writes them (data-v), from the API."""
    def km(value):
        return "-1" if value is None else "1e9" if value == "none" else str(value)

    return ([district["district_name"] or "", str(district["settlements"]), str(district["people"]),
             str(district["children"])] + [str(district["beyond"][t]["children"]) for t in THRESHOLDS]
            + [km(district["median_km"]), km(district["p90_km"])])


@pytest.mark.parametrize("region", list(REGIONS))
def test_coverage_of_early_help_in_a_region(admin_page, region):
    page = admin_page
    page.goto(f"{page.base}/coverage")
    page.select_option("#service", KIND)
    page.select_option("#region", region)
    page.fill("#threshold", "60")
    page.focus("#threshold")
    page.keyboard.press("Enter")  # the form is sent from the keyboard
    page.wait_for_url(f"**/coverage?*region={region}*")
    page.wait_for_load_state("load")
    page.locator("#map_coverage path.leaflet-interactive").first.wait_for()  # the districts drawn
    assert REGIONS[region] in page.inner_text("#summary")
    assert "дальше 60 км" in page.inner_text(".legend")
    page.screenshot(path=str(OUTPUT / f"coverage-{region}.png"), full_page=True)
    page.locator(".map-wrap").screenshot(path=str(OUTPUT / f"coverage-{region}-map.png"))

    api = page.request.get(f"{page.base}/api/v1/coverage?service={KIND}&region={region}"
                           + "".join(f"&threshold_km={t}" for t in THRESHOLDS)).json()
    assert api["public"] is False
    table = _table(page)
    assert len(table) == len(api["districts"])
    for district in api["districts"]:
        key = (str(district["district_id"] or ""), district["district_name"] or "")
        assert table[key][:-1] == _expected(district), district["district_name"]

    body = page.request.get(page.get_attribute("#csv", "href").replace("/coverage", f"{page.base}/coverage", 1)).text()
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    by_key = {(d["district_id"], d["district_name"] or None): d for d in api["districts"]}
    assert len(rows) == len(by_key)
    for row in rows:
        district = by_key[(int(row["district_id"]) if row["district_id"] else None, row["district_name"] or None)]
        assert int(row["children_beyond_60_km"]) == district["beyond"]["60"]["children"]
        assert int(row["people"]) == district["people"]
    assert page.js_errors == [], page.js_errors


def test_the_table_sorts_by_a_column(admin_page):
    page = admin_page
    page.goto(f"{page.base}/coverage?service={KIND}&region=RU-MOS&threshold_km=60")
    page.wait_for_load_state("load")
    header = page.locator("#districts thead th[data-km='60'] button")
    header.focus()
    page.keyboard.press("Enter")
    values = [float(v) for v in page.eval_on_selector_all(
        "#districts tbody td[data-km='60']", "cells => cells.map(c => c.dataset.v)")]
    assert values == sorted(values, reverse=True) and len(values) > 1
    assert page.get_attribute("#districts thead th[data-km='60']", "aria-sort") == "descending"
    page.keyboard.press("Enter")
    values = [float(v) for v in page.eval_on_selector_all(
        "#districts tbody td[data-km='60']", "cells => cells.map(c => c.dataset.v)")]
    assert values == sorted(values)
    assert page.js_errors == [], page.js_errors
