"""Curators' pages, items a new user found (issue 18): export file names dated where the region is, deactivation
only after a confirmation that says what it does, a location's point one field of the history."""
from __future__ import annotations

import datetime as dt

import pytest

from resourcemap import clock
from resourcemap.auth.policy import Viewer
from resourcemap.exchange import export_region
from tests.test_curate_pages import client_as, world  # noqa: F401  (the fixture)

ADMIN = Viewer(role="admin", email="admin@example.org")
UTC = dt.timezone.utc


# --- export file names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("regions, instant, date", [
    (["RU-MOS"], dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-07-01"),   # 00:30 in Moscow
    (["RU-MOS"], dt.datetime(2025, 6, 30, 20, 59, tzinfo=UTC), "2025-06-30"),   # 23:59 in Moscow
    (["RU-NVS"], dt.datetime(2025, 6, 30, 17, 30, tzinfo=UTC), "2025-07-01"),   # 00:30 in Novosibirsk (UTC+7)
    (["RU-KGD"], dt.datetime(2025, 6, 30, 22, 30, tzinfo=UTC), "2025-07-01"),   # 00:30 in Kaliningrad (UTC+2)
    (["RU-KGD"], dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-06-30"),   # 23:30 there, 00:30 in Moscow
    (["KZ-75"], dt.datetime(2025, 6, 30, 19, 30, tzinfo=UTC), "2025-07-01"),    # 00:30 in Almaty (UTC+5)
    (["RU-MOS", "RU-NVS"], dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-07-01"),  # zones differ: Moscow
    (None, dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-07-01"),         # every region: Moscow
])
def test_an_export_is_named_by_the_date_where_its_region_is(registry, monkeypatch, regions, instant, date):
    monkeypatch.setattr(clock, "utc_now", lambda: instant)
    for fmt in ("csv", "hsds-json"):
        filename = export_region(registry, regions, fmt, ADMIN)[2]
        assert date in filename, (regions, instant, filename)


def test_the_export_page_names_the_file_by_the_regions_date(app, world, monkeypatch):  # noqa: F811
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC))
    response = client_as(app, "curator_mos").get("/curate/export?region=RU-MOS&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="registry-RU-MOS-2025-07-01.csv"'
