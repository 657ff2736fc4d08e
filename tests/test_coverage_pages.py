"""/coverage (issue 21): the public is sent to sign in; a curator studies only their regions, admins and dispatchers
every region; the page's table, the CSV and the GeoJSON carry the API's numbers; where the figures and the request
log both say help is missing, the page says so."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests import staff as staff_accounts
from tests.conftest import LOG_TABLES, empty_account_tables
from tests.coverage_world import KIND, coverage_world

PAGE = "/coverage"


@pytest.fixture(scope="module")
def world(engine):
    with coverage_world(engine):
        yield


@pytest.fixture(scope="module")
def as_who(app, engine, world):
    """as_who("curator_mos") -> a client signed in as that account (the accounts live for the module: the
    registry of `world` must outlive each test)."""
    with Session(engine) as session:
        staff_accounts.create_staff(session)
        session.commit()
    clients = {}

    def client(who: str):
        if who not in clients:
            clients[who] = staff_accounts.client_as(app, who)
        return clients[who]

    yield client
    empty_account_tables(engine, LOG_TABLES)


def test_the_public_is_sent_to_sign_in(world, client):
    for url in (PAGE, f"{PAGE}?region=RU-MOS", f"{PAGE}/districts.csv?region=RU-MOS",
                f"{PAGE}/districts.geojson?region=RU-MOS"):
        response = client.get(url)
        assert response.status_code == 302 and "/signin" in response.headers["Location"], url


def test_a_curator_studies_only_their_regions(as_who):
    curator = as_who("curator_mos")
    html = curator.get(PAGE).get_data(as_text=True)
    assert "Московская область" in html and "Смоленская область" not in html and "Якутия" not in html
    assert html.count("<tr data-region=") == 1 and 'data-region="RU-MOS"' in html
    assert curator.get(f"{PAGE}?region=RU-SA").status_code == 403
    assert curator.get(f"{PAGE}/districts.csv?region=RU-SA").status_code == 403
    page = curator.get(f"{PAGE}?region=RU-MOS&service={KIND}&threshold_km=30")
    assert page.status_code == 200
    assert 'id="districts"' in page.get_data(as_text=True)


@pytest.mark.parametrize("who", ["admin", "dispatcher"])
def test_admins_and_dispatchers_study_every_region(as_who, who):
    html = as_who(who).get(f"{PAGE}?service={KIND}&threshold_km=60").get_data(as_text=True)
    assert "Московская область" in html and "Смоленская область" in html
    assert 'data-region="RU-SA"' in html and 'data-region="RU-SMO"' in html
    page = as_who(who).get(f"{PAGE}?region=RU-SA&service={KIND}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="map_coverage"' in html and "L.geoJson" in html and "нет детей дальше 60 км" in html
    assert "cdn" not in html.lower()


@pytest.mark.parametrize("query", ["threshold_km=far", "threshold_km=0", "service=no_such_kind", "region=RU-XXX"])
def test_bad_choices_are_a_400_page(as_who, query):
    region = "" if query.startswith("region=") else "region=RU-MOS&"
    response = as_who("admin").get(f"{PAGE}?{region}{query}")
    assert response.status_code == 400


def _api(client, region: str, km: int) -> dict:
    response = client.get("/api/v1/coverage", query_string={"service": KIND, "region": region, "threshold_km": km})
    assert response.status_code == 200
    return {(d["district_id"], d["district_name"] or None): d for d in response.get_json()["districts"]}


@pytest.mark.parametrize("region", ["RU-MOS", "RU-SA"])
def test_the_csv_carries_the_apis_numbers(as_who, region):
    admin = as_who("admin")
    response = admin.get(f"{PAGE}/districts.csv?service={KIND}&region={region}&threshold_km=60")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    api = _api(admin, region, 60)
    assert rows and len(rows) == len(api)
    for row in rows:
        district = api[(int(row["district_id"]) if row["district_id"] else None, row["district_name"] or None)]
        for field in ("settlements", "people", "children"):
            assert int(row[field]) == district[field]
            assert int(row[f"{field}_beyond_60_km"]) == district["beyond"]["60"][field]
        assert row["median_km"] == str(district["median_km"] if district["median_km"] is not None else "")


@pytest.mark.parametrize("region", ["RU-MOS", "RU-SA"])
def test_the_geojson_has_every_district_with_its_outline(as_who, region):
    """(Yakutia's data has no districts: its settlements are one group, outlined by the region's boundary.)"""
    admin = as_who("admin")
    response = admin.get(f"{PAGE}/districts.geojson?service={KIND}&region={region}&threshold_km=60")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    collection = response.get_json()
    api = _api(admin, region, 60)
    assert collection["type"] == "FeatureCollection"
    keys = [(f["properties"]["district_id"], f["properties"]["district_name"] or None) for f in collection["features"]]
    assert sorted(map(str, keys)) == sorted(map(str, api))
    for feature in collection["features"]:
        district = api[(feature["properties"]["district_id"], feature["properties"]["district_name"] or None)]
        assert feature.get("id") == district["district_id"]
        if district.get("municipality"):  # a census municipality: no outline in the data
            assert feature["geometry"] is None
        else:
            assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert feature["properties"]["children_beyond_60_km"] == district["beyond"]["60"]["children"]


def test_where_the_figures_and_the_request_log_both_say_missing(as_who, engine):
    admin = as_who("admin")
    api = _api(admin, "RU-MOS", 30)
    far = max((d for d in api.values() if d["district_id"]), key=lambda d: d["beyond"]["30"]["children"])
    assert far["beyond"]["30"]["children"] > 0
    html = admin.get(f"{PAGE}?service={KIND}&region=RU-MOS&threshold_km=30").get_data(as_text=True)
    assert "Нет районов, где и расчёт, и журнал" in html
    with engine.begin() as conn:
        request_id = conn.execute(text(
            "INSERT INTO request_log (origin, district_id, region_code) VALUES ('point', :d, 'RU-MOS') RETURNING id"),
            {"d": far["district_id"]}).scalar_one()
        conn.execute(text("INSERT INTO request_log_kind VALUES (:r, :k, 0, 0)"), {"r": request_id, "k": KIND})
    html = admin.get(f"{PAGE}?service={KIND}&region=RU-MOS&threshold_km=30").get_data(as_text=True)
    both = html[html.index('id="both"'):html.index('id="map_coverage"')]
    assert far["district_name"] in both and "обращений без помощи в радиусе 30 км: 1" in both


def test_a_request_from_a_census_municipality_is_counted_there(as_who, engine):
    """Yakutia has no district outlines: its figures are per census municipality, and so are its unmet requests
    (from the settlement the console logged)."""
    with engine.begin() as conn:
        sid, municipality = conn.execute(text(
            "SELECT id, municipality FROM settlement WHERE region_code = 'RU-SA' AND district_id IS NULL"
            " ORDER BY population DESC NULLS LAST, id LIMIT 1")).one()
        request_id = conn.execute(text(
            "INSERT INTO request_log (origin, settlement_id, region_code) VALUES ('settlement', :s, 'RU-SA')"
            " RETURNING id"), {"s": sid}).scalar_one()
        conn.execute(text("INSERT INTO request_log_kind VALUES (:r, :k, 0, 0)"), {"r": request_id, "k": KIND})
    try:
        response = as_who("admin").get(f"{PAGE}/districts.csv?service={KIND}&region=RU-SA&threshold_km=30")
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        asked = {(row["district_name"] or None): int(row["unmet_requests"]) for row in rows if not row["district_id"]}
        assert asked[municipality] == 1 and sum(asked.values()) == 1
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM request_log WHERE id = :r"), {"r": request_id})


def test_the_page_speaks_english_on_request(as_who):
    html = as_who("dispatcher").get(f"{PAGE}?service={KIND}&region=RU-MOS&threshold_km=60&lang=en").get_data(
        as_text=True)
    assert "Coverage of help by district" in html and "no children farther than 60 km" in html
    assert "Охват помощи по районам" not in html
    # the kinds of help and the regions by their English names
    assert ">Early help</option>" in html and ">Moscow Oblast</option>" in html
    assert ">Ранняя помощь</option>" not in html and ">Московская область</option>" not in html


def test_the_overview_of_regions_carries_the_apis_numbers(as_who):
    admin = as_who("admin")
    html = admin.get(f"{PAGE}?service={KIND}&threshold_km=60").get_data(as_text=True)
    region = admin.get("/api/v1/coverage", query_string={"service": KIND, "region": "RU-SA",
                                                        "threshold_km": 60}).get_json()["regions"][0]
    row = html[html.index('<tr data-region="RU-SA">'):]
    row = row[:row.index("</tr>")]
    values = re.findall(r'data-v="([^"]*)"', row)
    assert values[1:4] == [str(region["settlements"]), str(region["children"]),
                           str(region["beyond"]["60"]["children"])]


def test_a_region_without_district_outlines_is_coloured_as_a_whole(app):
    """Yakutia's map is one shape: coloured by its municipalities' children added up, not left grey."""
    from resourcemap.coverage.present import band, features

    def row(municipality, far, children):
        return {"district_id": None, "municipality": municipality, "region_code": "RU-SA", "region_name": "Якутия",
                "district_name": municipality or "", "far": {"children": far}, "children": children, "unmet": 0}
    rows = [row("Мирнинский район", 10, 100), row("Якутск", 0, 200), row(None, 290, 300)]
    shapes = [{"district_id": None, "region_code": "RU-SA", "name": "Якутия",
               "geojson": '{"type": "Polygon", "coordinates": [[[120, 60], [130, 60], [130, 65], [120, 60]]]}'}]
    with app.test_request_context():
        drawn = features(rows, shapes, 60.0, label=True)["features"]
    assert len(drawn) == 1 and drawn[0]["properties"]["fill"] == band(300 / 600)[1] != band(None)[1]
    assert "300 из 600" in drawn[0]["properties"]["label"]
