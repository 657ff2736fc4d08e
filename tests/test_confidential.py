"""A confidential place (a crisis apartment) never shows its exact point or street address to the public."""
from __future__ import annotations

import json
import re

import pytest
from pyproj import Geod
from sqlalchemy import text

from tests.factories import SECRET_ADDRESS, SECRET_LAT, SECRET_LON, add_crisis_apartment, add_service


@pytest.fixture
def apartment(registry):
    ids = add_crisis_apartment(registry)
    add_service(registry, 55.79, 38.44, "crisis_apartment", name="Открытый центр", address="пр. Ленина, 1")
    registry.commit()
    return ids


def leaks(body: str) -> list[str]:
    """Exact coordinates (to 4 decimals, either order, any rounding beyond) or the address found in a body."""
    found = []
    for value in (SECRET_LAT, SECRET_LON):
        if re.search(re.escape(f"{value:.4f}"), body):
            found.append(f"{value:.4f}")
    if "Тайная" in body:
        found.append("address")
    if "570-33-44" in body or "5703344" in body:
        found.append("non-intake phone")
    return found


def public_urls(engine) -> list[str]:
    with engine.connect() as conn:
        settlement = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Электросталь'")).scalar()
        org = conn.execute(text("SELECT organization_id FROM location WHERE confidential")).scalar()
    return [
        f"/api/v1/nearest?settlement={settlement}&service=crisis_apartment",
        "/api/v1/nearest?lat=55.8001&lon=38.4402&service=crisis_apartment",  # a family next door
        "/api/v1/nearest?lat=55.8&lon=38.44&service=crisis_apartment,early_help&limit=100",
        "/api/v1/nearest?lat=55.8&lon=38.44&service=crisis_apartment&within_km=1",
        "/api/v1/organizations",
        "/api/v1/organizations?service=crisis_apartment",
        "/api/v1/organizations?bbox=38.3,55.7,38.6,55.9",
        "/api/v1/organizations?region=RU-MOS",
        f"/api/v1/organizations/{org}",
        "/api/v1/settlements?q=Электросталь",
        "/",
    ]


def test_no_public_response_holds_the_exact_point_or_address(client, engine, apartment):
    for url in public_urls(engine):
        response = client.get(url)
        assert response.status_code == 200, url
        assert leaks(response.get_data(as_text=True)) == [], url


def test_the_public_gets_the_town_an_approximate_point_and_the_intake_phone(client, engine, apartment):
    with engine.connect() as conn:
        settlement = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Электросталь'")).scalar()
    answer = client.get(f"/api/v1/nearest?settlement={settlement}&service=crisis_apartment").json
    row = next(r for r in answer["results"] if r["location"]["id"] == apartment["location_id"])
    loc = row["location"]
    assert loc["confidential"] is True and loc["approximate"] is True
    assert loc["address"] is None and loc["name"] is None
    assert loc["settlement"]["name"] == "Электросталь"
    offset_km = Geod(ellps="WGS84").inv(SECRET_LON, SECRET_LAT, loc["lon"], loc["lat"])[2] / 1000
    assert offset_km <= 5.0  # snapped to the centre of a 5 km cell: near, but not the door
    assert row["distance_km"] == float(round(row["distance_km"]))  # whole kilometres
    published_km = Geod(ellps="WGS84").inv(answer["origin"]["lon"], answer["origin"]["lat"], loc["lon"], loc["lat"])[2] / 1000
    assert row["distance_km"] == round(published_km)  # computed from the published point, never the true one
    assert [p["number"] for p in row["phones"]] == ["+74965701122"]
    assert row["phones"][0]["display"] == "8 (496) 570-11-22"


def test_the_snapped_point_does_not_depend_on_where_the_family_is(client, apartment):
    points = set()
    for lat, lon in ((55.7, 38.3), (56.0, 38.9), (55.80, 38.44)):
        answer = client.get(f"/api/v1/nearest?lat={lat}&lon={lon}&service=crisis_apartment&limit=5").json
        row = next(r for r in answer["results"] if r["location"]["id"] == apartment["location_id"])
        points.add((row["location"]["lat"], row["location"]["lon"]))
    assert len(points) == 1


def test_consultant_view_from_the_same_query_is_exact(app, registry, apartment):
    from resourcemap.search.nearest import NearestQuery, nearest_services
    from resourcemap.auth.policy import PUBLIC, Viewer
    from resourcemap.search.redaction import nearest_result_view, snap_point

    CONSULTANT = Viewer(role="dispatcher", account_id=1, email="d@example.org")

    query = NearestQuery(lat=55.8, lon=38.44, service_types=("crisis_apartment",))
    with app.app_context():
        rows = nearest_services(registry, query, "RU-MOS", exact=True).results
        public_rows = nearest_services(registry, query, "RU-MOS").results
    row = next(r for r in rows if r["location_id"] == apartment["location_id"])
    exact = nearest_result_view(row, CONSULTANT)
    assert exact["location"]["address"] == SECRET_ADDRESS
    assert (exact["location"]["lat"], exact["location"]["lon"]) == (SECRET_LAT, SECRET_LON)
    assert len(exact["phones"]) == 2
    assert leaks(json.dumps(nearest_result_view(row, PUBLIC), ensure_ascii=False)) == []
    # The public statement's rows hold only the public point, whoever shows them.
    public_row = next(r for r in public_rows if r["location_id"] == apartment["location_id"])
    published = snap_point(SECRET_LAT, SECRET_LON)
    assert (round(public_row["lat"], 4), round(public_row["lon"], 4)) == published
    assert nearest_result_view(public_row, CONSULTANT)["location"]["lat"] == round(public_row["lat"], 6)
