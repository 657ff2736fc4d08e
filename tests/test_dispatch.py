"""The dispatch console (issue 6): the search endpoint, the anonymous request log, the gaps report and its CSV,
the referral card, hours and next opening, coordinates."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.question import parse_coordinates
from resourcemap.search.dispatch import Slot, opening
from resourcemap.search.gaps import GapsQuery, csv_cell, gaps_csv, gaps_report
from tests.factories import add_service, settlement_id
from tests.staff import ACCOUNTS, search

DISPATCHER = ACCOUNTS["dispatcher"][0]
SECRET_ADDRESS = "ул. Скрытая, 7"
WEEKDAYS_9_18 = [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(1, 6)]


def test_search_groups_by_kind_with_exact_data_and_logs_nothing_about_the_caller(app, engine, registry, console):
    client, token = console
    elektrostal = settlement_id(engine, "Электросталь", "RU-MOS")
    add_service(registry, 55.79, 38.45, "early_help", name="Ранняя помощь рядом", schedule=WEEKDAYS_9_18,
                phones=[{"number": "+74965551234", "kind": "main"}])
    add_service(registry, 55.80, 38.46, "crisis_apartment", name="Кризисная квартира", confidential=True,
                address=SECRET_ADDRESS, phones=[{"number": "+74965550001", "kind": "intake"}])
    registry.commit()

    response = search(client, token, settlement=elektrostal, kinds=["early_help", "crisis_apartment", "rental_point"],
                      age_months=20, call="call-1")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    groups = {g["kind"]: g for g in body["groups"]}
    assert list(groups) == ["early_help", "crisis_apartment", "rental_point"]
    early = groups["early_help"]["results"][0]
    assert early["organization"] == "Ранняя помощь рядом" and early["distance_km"] < 5
    assert early["phones"][0]["display"] and early["hours"] == ["Пн–Пт 09:00–18:00"]
    assert early["opening"]["known"] and early["verified"]["stale"]  # never verified: a warning
    crisis = groups["crisis_apartment"]["results"][0]
    assert SECRET_ADDRESS in crisis["address"] and crisis["confidential"]  # staff see the exact address
    assert crisis["capacity"] is not None
    assert groups["rental_point"]["results"] == [] and groups["rental_point"]["within_100"] == 0

    with engine.connect() as conn:
        columns = conn.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_name IN ('request_log', 'request_log_kind') ORDER BY 1, 2")).all()
        rows = conn.execute(text("SELECT row_to_json(l)::text FROM request_log l")).scalars().all()
        kinds = conn.execute(text("SELECT type_code, within_30_km, within_100_km FROM request_log_kind"
                                  " ORDER BY type_code")).all()
        log = conn.execute(text("SELECT * FROM request_log")).mappings().one()
        audit = conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'confidential_view'")).scalar()
    # Only the place, the age band, the kinds and the counts, and the hour: no account, address, IP, free text.
    assert {c for _, c in columns} == {"id", "at", "origin", "settlement_id", "district_id", "region_code", "age_band",
                                       "request_id", "type_code", "within_30_km", "within_100_km"}
    assert len(rows) == 1
    dump = rows[0]
    assert DISPATCHER not in dump and "127.0.0.1" not in dump and "call-1" not in dump
    assert log["settlement_id"] == elektrostal and log["district_id"] is not None and log["region_code"] == "RU-MOS"
    assert log["age_band"] == "0-3" and log["origin"] == "settlement"
    assert log["at"] == log["at"].replace(minute=0, second=0, microsecond=0)  # only to the hour
    assert kinds == [("crisis_apartment", 1, 1), ("early_help", 1, 1), ("rental_point", 0, 0)]
    assert audit == 1  # the consultant saw a confidential address: audited as in the API

    # Refining the same call (another kind, another age) updates the row; a new call adds one.
    assert search(client, token, settlement=elektrostal, kinds=["rehabilitation"], age_months=40,
                  call="call-1").status_code == 200
    assert search(client, token, settlement=elektrostal, kinds=["early_help"], call="call-2").status_code == 200
    with engine.connect() as conn:
        logged = conn.execute(text(
            "SELECT l.id, l.age_band, array_agg(k.type_code ORDER BY k.type_code) FROM request_log l"
            " JOIN request_log_kind k ON k.request_id = l.id GROUP BY l.id ORDER BY l.id")).all()
    assert [(r[1], r[2]) for r in logged] == [("3-7", ["crisis_apartment", "early_help", "rehabilitation",
                                                       "rental_point"]), (None, ["early_help"])]


def test_search_by_pasted_coordinates_and_bad_input(app, engine, registry, console):
    client, token = console
    add_service(registry, 55.79, 38.45, "early_help")
    registry.commit()
    suggest = client.get("/dispatch/api/settlements?q=55.78, 38.45").json
    assert suggest["point"]["lat"] == 55.78 and "Электросталь" in suggest["point"]["label"]
    answer = search(client, token, lat=55.78, lon=38.45, kinds=["early_help"], call="x").json
    assert answer["origin"]["by_point"] and answer["groups"][0]["results"]
    assert answer["origin"]["query"] == {"origin": "55.780000,38.450000"}
    with engine.connect() as conn:
        log = conn.execute(text("SELECT origin, settlement_id, district_id, region_code FROM request_log")).one()
    assert log.origin == "point" and log.region_code == "RU-MOS" and log.district_id is not None
    assert search(client, token, lat=55.78, lon=38.45, kinds=["nonsense"]).status_code == 400
    assert search(client, token, lat=95, lon=38.45, kinds=["early_help"]).status_code == 400
    assert search(client, token, settlement=2**31 - 2, kinds=["early_help"]).status_code == 404
    assert search(client, token, lat=55.78, lon=38.45, kinds=[]).json["error"]["field"] == "kinds"
    # Without the CSRF header a signed-in consultant's search is refused (JSON, not a page).
    refused = client.post("/dispatch/api/search", json={"lat": 55.78, "lon": 38.45, "kinds": ["early_help"]})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf"


def test_suggestions_tell_namesakes_apart(console):
    client, _ = console
    results = client.get("/dispatch/api/settlements?q=Кратово").json["results"]
    assert results and results[0]["name"] == "Кратово"
    assert all(r["label"].count("—") == 1 and r["region"]["name"] in r["label"] for r in results)


def test_gaps_report_counts_a_village_whose_requests_found_nothing(app, engine, registry, console):
    client, token = console
    village = settlement_id(engine, "Демидов", "RU-SMO")
    with engine.connect() as conn:
        lat, lon = conn.execute(text("SELECT ST_Y(geog::geometry), ST_X(geog::geometry) FROM settlement"
                                     " WHERE id = :i"), {"i": village}).one()
    # Early help about 60 km away: nothing within 30 km, something within 100 km.
    add_service(registry, lat + 0.54, lon, "early_help", name="Далёкая служба")
    registry.commit()
    for call in ("a", "b", "c"):
        assert search(client, token, settlement=village, kinds=["early_help"], call=call).status_code == 200
    town = settlement_id(engine, "Смоленск", "RU-SMO")
    add_service(registry, *_point(engine, town), "early_help", name="Городская служба")
    registry.commit()
    assert search(client, token, settlement=town, kinds=["early_help"], call="d").status_code == 200

    with app.app_context(), Session(engine) as session:
        within_30 = gaps_report(session, GapsQuery(within_km=30, region_code="RU-SMO"))
        within_100 = gaps_report(session, GapsQuery(within_km=100, region_code="RU-SMO"))
        rehab = gaps_report(session, GapsQuery(within_km=30, service_type="rehabilitation"))
    assert len(within_30) == 1
    row = within_30[0]
    assert row["region_code"] == "RU-SMO" and row["unmet"] == 3 and row["requests"] == 3
    assert row["settlements"] == [{"name": "Демидов", "unmet": 3}]
    assert row["kinds"][0]["code"] == "early_help" and row["kinds"][0]["unmet"] == 3
    assert within_100 == []  # the far service is within 100 km
    assert rehab == []

    page = client.get("/dispatch/gaps?km=30&days=90&region=RU-SMO").get_data(as_text=True)
    assert "Демидов (3)" in page and row["district_name"] in page
    exported = client.get("/dispatch/gaps.csv?km=30&days=90")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][0] == "Код региона" and table[1][:2] == ["RU-SMO", "Смоленская область"]
    assert table[1][4] == "3" and "Демидов (3)" in table[1][6]
    assert client.get("/dispatch/gaps.csv?km=100").get_data(as_text=True).count("\n") == 1  # the header only


def _point(engine, settlement: int) -> tuple[float, float]:
    with engine.connect() as conn:
        return tuple(conn.execute(text("SELECT ST_Y(geog::geometry), ST_X(geog::geometry) FROM settlement"
                                       " WHERE id = :i"), {"i": settlement}).one())


def test_csv_cells_cannot_be_formulas():
    assert [csv_cell(v) for v in ("=1+1", "+7 495", "-2", "@SUM(A1)", "\tx", "Кратово", 5, None)] == \
           ["'=1+1", "'+7 495", "'-2", "'@SUM(A1)", "'\tx", "Кратово", "5", ""]
    row = {"region_code": "RU-X", "region_name": "=HYPERLINK(\"http://evil\")", "district_name": "+cmd",
           "requests": 2, "unmet": 1, "settlements": [{"name": "@x", "unmet": 1}], "kinds": []}
    out = list(csv.reader(io.StringIO(gaps_csv([row], ["-h"]).lstrip("\ufeff"))))
    assert out[0] == ["'-h"] and out[1][1].startswith("'=") and out[1][2] == "'+cmd" and out[1][6] == "'@x (1)"


def test_referral_card_text_and_print_page(app, engine, registry, console):
    client, _ = console
    open_one = add_service(registry, 55.79, 38.45, "early_help", name="Служба ранней помощи «Тест»",
                           address="ул. Ленина, 1", schedule=WEEKDAYS_9_18,
                           phones=[{"number": "+74965551234", "kind": "main"}])
    secret = add_service(registry, 55.80, 38.46, "crisis_apartment", name="Кризисная квартира «Тест»",
                         confidential=True, address=SECRET_ADDRESS,
                         phones=[{"number": "+74965550001", "kind": "intake", "location": 0},
                                 {"number": "+74965550002", "kind": "main", "location": 0}])
    registry.commit()
    elektrostal = settlement_id(engine, "Электросталь", "RU-MOS")
    sal = f"{open_one['sal_id']},{secret['sal_id']}"
    answer = client.get(f"/dispatch/api/referral?sal={sal}&settlement={elektrostal}").json
    card = answer["text"]
    assert "Служба ранней помощи «Тест»" in card and "8 (496) 555-12-34" in card and "ул. Ленина, 1" in card
    assert "Пн–Пт 09:00–18:00" in card and "км" in card
    assert "адрес сообщается по телефону" in card and SECRET_ADDRESS not in card
    assert "8 (496) 555-00-01" in card and "8 (496) 555-00-02" not in card  # intake line only
    page = client.get(answer["print_url"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "referral.css" in html and SECRET_ADDRESS not in html
    assert "8 (496) 555-12-34" in html
    css = client.get("/static/dispatch/referral.css").get_data(as_text=True)
    assert "size: A5" in css
    assert client.get(f"/dispatch/referral?sal={sal}&origin=55.78,38.45").status_code == 200
    assert client.get("/dispatch/referral?sal=abc&origin=55.78,38.45").status_code == 400
    assert client.get("/dispatch/api/referral?sal=999999&origin=55.78,38.45").status_code == 404


def test_console_page_has_no_inline_scripts_styles_or_handlers(console):
    client, _ = console
    response = client.get("/dispatch")
    html = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html) and "style=" not in html
    assert 'data-key-code="Digit1"' in html and "leaflet.js" in html


@pytest.mark.parametrize("raw, expected", [
    ("55.78, 38.45", (55.78, 38.45)), ("55.78 38.45", (55.78, 38.45)), ("55,78 38,45", (55.78, 38.45)),
    ("55,78, 38,45", (55.78, 38.45)), ("55.78;38.45", (55.78, 38.45)), ("-33.9, 151.2", (-33.9, 151.2)),
    ("Кратово", None), ("95, 38", None), ("55.78", None),
])
def test_pasted_coordinates(raw, expected):
    assert parse_coordinates(raw) == expected


def test_next_opening_in_the_services_own_time_zone():
    weekdays = [Slot(d, 9 * 60, 18 * 60) for d in range(1, 6)]
    friday_evening_utc = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.timezone.utc)  # 19:00 Moscow, 23:00 Novosibirsk
    msk = opening(weekdays, "Europe/Moscow", friday_evening_utc)
    assert not msk.open_now and msk.next_open.isoformat() == "2026-11-30T09:00:00+03:00"  # Monday
    kgd = opening(weekdays, "Europe/Kaliningrad", friday_evening_utc)  # 18:00 there: just closed
    assert not kgd.open_now
    samara_morning = dt.datetime(2026, 11, 27, 6, 30, tzinfo=dt.timezone.utc)  # 10:30 in Samara
    smr = opening(weekdays, "Europe/Samara", samara_morning)
    assert smr.open_now and smr.closes_at.hour == 18 and smr.next_open.day == 30
    night = [Slot(d, 20 * 60, 1440) for d in range(1, 8)] + [Slot(d, 0, 8 * 60) for d in range(1, 8)]
    overnight = opening(night, "Europe/Moscow", dt.datetime(2026, 11, 27, 20, 0, tzinfo=dt.timezone.utc))
    assert overnight.open_now and overnight.closes_at.hour == 8  # 20:00–08:00 read as one stretch
    assert not opening([], "Europe/Moscow", friday_evening_utc).known
