"""The dispatch console, items a new user found (issue 18): the referral card dated where the family is, the SMS
short enough for two parts, the chosen services told apart. The browser side is in tests/browser_dispatch/."""
from __future__ import annotations

import datetime as dt

import pytest

from resourcemap import clock
from tests.factories import add_service
from tests.test_dispatch import console, settlement_id, staff  # noqa: F401  (fixtures)

UTC = dt.timezone.utc


# --- the referral card's date ------------------------------------------------------------------------------------
@pytest.mark.parametrize("place, instant, date", [
    (("Электросталь", "RU-MOS"), dt.datetime(2025, 7, 6, 21, 30, tzinfo=UTC), "07.07.2025"),  # 00:30 in Moscow
    (("Электросталь", "RU-MOS"), dt.datetime(2025, 7, 6, 20, 50, tzinfo=UTC), "06.07.2025"),  # 23:50 in Moscow
    (("Новосибирск", "RU-NVS"), dt.datetime(2025, 7, 6, 17, 30, tzinfo=UTC), "07.07.2025"),   # 00:30 there
    (("Калининград", "RU-KGD"), dt.datetime(2025, 7, 6, 21, 30, tzinfo=UTC), "06.07.2025"),   # 23:30 there
])
def test_the_referral_card_is_dated_where_the_family_is(app, engine, registry, console, monkeypatch,  # noqa: F811
                                                          place, instant, date):
    client, _ = console
    family = settlement_id(engine, *place)
    service = add_service(registry, 55.79, 38.45, "early_help", name="Служба ранней помощи «Тест»")
    registry.commit()
    monkeypatch.setattr(clock, "utc_now", lambda: instant)
    answer = client.get(f"/dispatch/api/referral?sal={service['sal_id']}&settlement={family}").json
    other = (instant + dt.timedelta(days=1 if date.startswith("06") else -1)).strftime("%d.%m.%Y")
    assert date in answer["text"] and other not in answer["text"]
    page = client.get(answer["print_url"]).get_data(as_text=True)
    assert date in page and other not in page


def test_a_family_at_a_point_far_from_any_town_gets_the_services_date(app, engine, registry, console,  # noqa: F811
                                                                       monkeypatch):
    client, _ = console
    service = add_service(registry, 55.03, 82.92, "early_help", timezone="Asia/Novosibirsk")
    registry.commit()
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2025, 7, 6, 17, 30, tzinfo=UTC))  # 00:30 there
    answer = client.get(f"/dispatch/api/referral?sal={service['sal_id']}&origin=58.5,84.5").json  # taiga
    assert "07.07.2025" in answer["text"]


def test_the_gaps_csv_is_named_by_the_consultants_date(console, monkeypatch):  # noqa: F811
    client, _ = console
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2025, 7, 6, 21, 30, tzinfo=UTC))  # 00:30 in Moscow
    response = client.get("/dispatch/gaps.csv?km=30")
    assert response.headers["Content-Disposition"] == 'attachment; filename="gaps-30km-2025-07-07.csv"'
