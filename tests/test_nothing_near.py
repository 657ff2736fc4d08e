"""Issue 18, item 2: "nothing near" is said, and help is still offered.

A service beyond its kind's far limit (FAR_KM, 100 km by default; FAR_KM_BY_KIND per kind) is `far` unless it comes
to the family; an answer with no near result says `nothing_near` and offers the helplines (the `hotline` services
serving the family's region: national lines serve every region of their country). Only services in the family's
country are ranked, unless asked (`abroad`) or unless that country has none of the kind at all. Distances are
checked against pyproj's geodesic, apart from PostGIS."""
from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import Geod
from sqlalchemy import text

from resourcemap import create_app
from resourcemap.registry.demo import load_demo_registry
from tests.conftest import app_settings
from tests.factories import add_service
from tests.staff import search

ROOT = Path(__file__).resolve().parent.parent
GEOD = Geod(ellps="WGS84")


def settlement(engine, name: str, region: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lon FROM settlement"
                                " WHERE name_ru = :n AND region_code = :r ORDER BY population DESC NULLS LAST LIMIT 1"),
                           {"n": name, "r": region}).mappings().one()
    return dict(row)


@pytest.fixture
def demo(engine, registry):
    load_demo_registry(engine, ROOT / "data" / "demo" / "registry.json")
    return engine


def km_to(place: dict, result: dict) -> float:
    loc = result["location"]
    return GEOD.inv(place["lon"], place["lat"], loc["lon"], loc["lat"])[2] / 1000


def test_a_village_far_from_any_early_help_is_told_so_and_given_helplines(client, demo):
    tarbagatai = settlement(demo, "Тарбагатай", "RU-BU")
    answer = client.get(f"/api/v1/nearest?settlement={tarbagatai['id']}&service=early_help").json
    assert answer["nothing_near"] is True and answer["far_km"] == {"early_help": 100.0}
    assert answer["results"] and answer["abroad"] is False
    for row in answer["results"]:
        assert row["far"] is True and row["country"] == "RU"  # none across the border to Kazakhstan
        assert km_to(tarbagatai, row) > 100 and row["distance_km"] == pytest.approx(km_to(tarbagatai, row), abs=0.01)
    numbers = [p["number"] for line in answer["helplines"] for p in line["phones"]]
    assert "+78002000122" in numbers and "150" not in numbers


def test_abroad_only_when_asked(client, demo):
    tarbagatai = settlement(demo, "Тарбагатай", "RU-BU")
    url = f"/api/v1/nearest?settlement={tarbagatai['id']}&service=early_help&limit=40"
    assert {r["country"] for r in client.get(url).json["results"]} == {"RU"}
    assert "KZ" in {r["country"] for r in client.get(url + "&abroad=true").json["results"]}


def test_help_near_the_family_is_not_far_and_needs_no_helplines(client, demo):
    elektrostal = settlement(demo, "Электросталь", "RU-MOS")
    answer = client.get(f"/api/v1/nearest?settlement={elektrostal['id']}&service=early_help").json
    assert answer["nothing_near"] is False and answer["helplines"] == []
    first = answer["results"][0]
    assert first["far"] is False and km_to(elektrostal, first) < 100
    assert [r["far"] for r in answer["results"]] == [km_to(elektrostal, r) > 100 for r in answer["results"]]


def test_a_kazakh_family_gets_the_150_line(client, demo):
    karaganda = settlement(demo, "Караганда", "KZ-35")
    answer = client.get(f"/api/v1/nearest?settlement={karaganda['id']}&service=crisis_apartment").json
    assert answer["nothing_near"] is True
    numbers = [p["number"] for line in answer["helplines"] for p in line["phones"]]
    assert numbers == ["150"] and answer["helplines"][0]["phones"][0]["display"] == "150"
    # The demo registry has no crisis apartment in Kazakhstan: the nearest in Russia, and the answer says so.
    assert answer["abroad"] is True and {r["country"] for r in answer["results"]} == {"RU"}


def test_a_kind_missing_in_the_family_country_is_found_abroad_and_says_so(client, engine, registry):
    add_service(registry, 43.24, 76.95, "addiction_rehab", name="Центр в Алма-Ате")  # Kazakhstan only
    registry.commit()
    answer = client.get("/api/v1/nearest?lat=55.78&lon=38.44&service=addiction_rehab").json
    assert answer["abroad"] is True and [r["country"] for r in answer["results"]] == ["KZ"]
    assert answer["results"][0]["far"] is True and answer["nothing_near"] is True


def test_a_service_that_comes_to_the_family_is_never_far(client, registry):
    add_service(registry, 56.9, 38.44, "mobile_team", delivery="outreach", radius_km=150)  # ~124 km north
    registry.commit()
    answer = client.get("/api/v1/nearest?lat=55.78&lon=38.44&service=mobile_team").json
    (row,) = answer["results"]
    assert row["reaches_you"] is True and row["distance_km"] > 100 and row["far"] is False
    assert answer["nothing_near"] is False


def test_the_far_limit_is_set_per_kind(database_url, registry):
    add_service(registry, 56.9, 38.44, "rehabilitation")  # ~124 km north of the family
    registry.commit()
    app = create_app(app_settings(database_url, FAR_KM_BY_KIND={"rehabilitation": 150.0}))
    try:
        answer = app.test_client().get("/api/v1/nearest?lat=55.78&lon=38.44&service=rehabilitation").json
    finally:
        app.extensions["resourcemap.engine"].dispose()
    assert answer["far_km"] == {"rehabilitation": 150.0}
    assert answer["results"][0]["far"] is False and answer["nothing_near"] is False


def results_section(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True).split('id="results"')[1].split("</section>")[0]


def test_the_public_page_says_nothing_is_near_and_offers_the_helpline(client, demo):
    tarbagatai = settlement(demo, "Тарбагатай", "RU-BU")
    html = results_section(client, f"/?settlement={tarbagatai['id']}&service=early_help")
    assert "Ближе 100 км такой помощи нет." in html and "Нашли" not in html
    helplines = html.split('id="helpline-list"')[1].split("</ol>")[0]
    assert "tel:+78002000122" in helplines
    far = html.split('id="far-list"')[1].split("</ol>")[0]
    api = client.get(f"/api/v1/nearest?settlement={tarbagatai['id']}&service=early_help").json
    assert far.count('<li class="card">') == len(api["results"]) >= 1 and 'class="fact region"' in far
    assert html.split('id="result-list"')[1].split("</ol>")[0].count('<li class="card">') == 0


def test_the_public_page_has_no_nothing_near_box_when_help_is_near(client, demo):
    elektrostal = settlement(demo, "Электросталь", "RU-MOS")
    html = results_section(client, f"/?settlement={elektrostal['id']}&service=early_help")
    assert "такой помощи нет" not in html and 'id="result-list"' in html and 'id="helpline-list"' not in html


def test_the_console_says_nothing_near_per_kind_offers_helplines_and_logs_the_request_as_unmet(app, demo, engine,
                                                                                              console):
    client, token = console
    tarbagatai = settlement(demo, "Тарбагатай", "RU-BU")
    body = search(client, token, settlement=tarbagatai["id"], kinds=["early_help"]).json
    (group,) = body["groups"]
    assert group["nothing_near"] is True and group["far_km"] == 100
    assert 1 <= len(group["results"]) <= 3 and all(r["far"] for r in group["results"])
    assert "+78002000122" in [p["number"] for line in body["helplines"] for p in line["phones"]]
    with engine.connect() as conn:
        logged = conn.execute(text("SELECT within_100_km FROM request_log_kind WHERE type_code = 'early_help'")).all()
    assert logged == [(0,)]  # unmet: the gaps report counts it
    near = search(client, token, settlement=settlement(demo, "Электросталь", "RU-MOS")["id"], kinds=["early_help"]).json
    assert near["groups"][0]["nothing_near"] is False and near["helplines"] == []
