"""The dispatch console, items a new user found (issue 18): the referral card dated where the family is, the SMS
short enough for two parts, the chosen services told apart. The browser side is in tests/browser_dispatch/."""
from __future__ import annotations

import datetime as dt

import pytest

from resourcemap import clock
from resourcemap.dispatch import sms
from tests.factories import add_service, settlement_id

UTC = dt.timezone.utc


# --- the referral card's date ------------------------------------------------------------------------------------
@pytest.mark.parametrize("place, instant, date", [
    (("Электросталь", "RU-MOS"), dt.datetime(2025, 7, 6, 21, 30, tzinfo=UTC), "07.07.2025"),  # 00:30 in Moscow
    (("Электросталь", "RU-MOS"), dt.datetime(2025, 7, 6, 20, 50, tzinfo=UTC), "06.07.2025"),  # 23:50 in Moscow
    (("Новосибирск", "RU-NVS"), dt.datetime(2025, 7, 6, 17, 30, tzinfo=UTC), "07.07.2025"),   # 00:30 there
    (("Калининград", "RU-KGD"), dt.datetime(2025, 7, 6, 21, 30, tzinfo=UTC), "06.07.2025"),   # 23:30 there
])
def test_the_referral_card_is_dated_where_the_family_is(app, engine, registry, console, monkeypatch,
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


def test_a_family_at_a_point_far_from_any_town_gets_the_services_date(app, engine, registry, console,
                                                                       monkeypatch):
    client, _ = console
    service = add_service(registry, 55.03, 82.92, "early_help", timezone="Asia/Novosibirsk")
    registry.commit()
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2025, 7, 6, 17, 30, tzinfo=UTC))  # 00:30 there
    answer = client.get(f"/dispatch/api/referral?sal={service['sal_id']}&origin=58.5,84.5").json  # taiga
    assert "07.07.2025" in answer["text"]


def test_the_gaps_csv_is_named_by_the_consultants_date(console, monkeypatch):
    client, _ = console
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2025, 7, 6, 21, 30, tzinfo=UTC))  # 00:30 in Moscow
    response = client.get("/dispatch/gaps.csv?km=30")
    assert response.headers["Content-Disposition"] == 'attachment; filename="gaps-30km-2025-07-07.csv"'


# --- the SMS ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, parts", [
    ("а" * 70, 1), ("а" * 71, 2), ("а" * 134, 2), ("а" * 135, 3),   # Cyrillic: UCS-2, 70 alone, 67 per part
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),  # GSM 7-bit: 160 alone, 153 per part
    ("€" * 80, 1), ("€" * 81, 2),                                     # an extension character takes two septets
    ("😀" * 35, 1), ("😀" * 36, 2),                                   # outside the BMP: two UTF-16 units
])
def test_sms_parts_are_counted_as_phones_send_them(text, parts):
    assert sms.parts(text) == parts


LONG_NAME = "Реабилитационный центр для детей с ограниченными возможностями здоровья «Золотой ключик»"
SERVICES = {
    "long": dict(name=LONG_NAME, address="ул. Первомайская, д. 12, корп. 3, офис 45, вход со двора"),
    "plain": dict(name="Служба ранней помощи «Радуга»", address="ул. Мира, 1"),
    "secret": dict(service_type="crisis_apartment", name="Кризисная квартира «Дом мамы»", confidential=True,
                   address="ул. Скрытая, 7", phones=[{"number": "+74965550001", "kind": "intake", "location": 0},
                                                     {"number": "+74965550002", "kind": "main", "location": 0}]),
    "nophone": dict(name="Центр без телефона и кавычек с очень длинным названием для проверки обрезки", phones=[]),
    "other": dict(service_type="rehabilitation", name="Реабилитационный центр «Оптимист»", address="пр-т Ленина, 5"),
}


@pytest.mark.parametrize("chosen", [["long"], ["plain"], ["secret"], ["nophone"], ["long", "plain"],
                                    ["secret", "long", "plain"], ["plain", "other", "secret", "long", "nophone"]])
def test_the_sms_fits_two_parts_and_names_phone_and_address(app, engine, registry, console, chosen):
    client, _ = console
    ids = {key: add_service(registry, 55.79 + n / 100, 38.45, **({"service_type": "early_help"} | SERVICES[key]))
           for n, key in enumerate(chosen)}
    registry.commit()
    family = settlement_id(engine, "Электросталь", "RU-MOS")
    answer = client.get(f"/dispatch/api/referral?sal={','.join(str(ids[k]['sal_id']) for k in chosen)}"
                        f"&settlement={family}").json
    message = answer["sms"]
    text = message["text"]
    assert sms.parts(text) <= 2 and len(text.encode("utf-16-le")) // 2 <= 134, text
    assert message["parts"] == sms.parts(text) and message["total"] == len(chosen) >= message["included"] >= 1
    assert len(answer["text"]) > len(text) or len(chosen) == 1  # the card itself stays whole
    lines = text.split("\n")
    assert len(lines) == message["included"]
    for key, line in zip(chosen, lines):
        spec = SERVICES[key]
        phones = [p for p in spec.get("phones", [None]) if p is not None]
        if key == "secret":
            assert "8 (496) 555-00-01" in line and "адрес по телефону" in line and "Скрытая" not in line
            assert "555-00-02" not in line  # the intake line only
        elif phones == [] and "phones" in spec:
            assert "телефон не указан" in line
        else:
            assert answer["items"][chosen.index(key)]["phones"][0] in line and "Электросталь" in line
        assert "«" not in spec["name"] or spec["name"][spec["name"].index("«"):] in line \
            or spec["name"] in line
    assert "Скрытая" not in text
