"""GET /api/v1/coverage (issue 21): the numbers are resourcemap.coverage's figures; the public gets aggregates with
the public rounding and no settlement; staff get staff precision and the worst-served settlements of the regions
they study; bad input is a 400 naming the field."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap import coverage
from tests.factories import add_service
from tests.coverage_world import KIND, coverage_world

GROUP_KEYS = {"country", "region_code", "region_name", "district_id", "district_name", "settlements", "people",
              "children", "children_unknown", "without_any", "median_km", "p90_km", "beyond",
              "municipality",  # (a census municipality: the group of a region without district outlines)
              "online_services"}  # (the country and regions: online help, counted apart)


@pytest.fixture(scope="module")
def world(engine):
    with coverage_world(engine):
        yield


def _figures(engine, region, public, thresholds=coverage.DEFAULT_THRESHOLDS_KM) -> dict:
    body = coverage.figures(engine, KIND, region, thresholds, public=public).as_dict()
    return json.loads(json.dumps(body, default=_number))


def _number(value):
    """Sums as numbers (PostgreSQL's Decimal), times as text."""
    return int(value) if isinstance(value, Decimal) else str(value)


def _get(client, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/v1/coverage", query_string=params, headers=headers)


@pytest.mark.parametrize("region", ["RU-MOS", "RU-SA"])
def test_the_public_answer_is_the_public_figures(world, client, engine, region):
    response = _get(client, service=KIND, region=region)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    expected = _figures(engine, region, public=True)
    assert body["public"] is True
    for level in ("country", "regions", "districts"):
        assert body[level] == expected[level], level
    assert body["districts"] and body["regions"][0]["region_code"] == region
    assert sum(d["children"] for d in body["districts"]) == body["regions"][0]["children"]


def test_online_help_is_counted_apart_never_as_coverage(world, client, engine):
    """An online early-help service of Moscow oblast: counted for the region and the country, and no settlement of
    the region is any nearer to help."""
    before = _get(client, service=KIND, region="RU-MOS").get_json()
    with Session(engine) as session:
        made = add_service(session, 55.09, 38.76, KIND, delivery="online")  # in Коломна: serves Moscow oblast
        session.commit()
    try:
        with engine.connect() as conn:
            served = conn.execute(text("SELECT array_agg(region_code) FROM service_area WHERE service_id = :s"),
                                  {"s": made["service_id"]}).scalar_one()
        after = _get(client, service=KIND, region="RU-MOS").get_json()

        def online(body: dict) -> tuple[int, int]:
            return (next(g["online_services"] for g in body["country"] if g["country"] == "RU"),
                    body["regions"][0]["online_services"])
        assert served == ["RU-MOS"] and online(after) == tuple(n + 1 for n in online(before))
        assert [g["beyond"] for g in after["districts"]] == [g["beyond"] for g in before["districts"]]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE organization SET status = 'draft' WHERE id = :o"),
                         {"o": made["organization_id"]})


def test_the_public_answer_holds_no_settlement(world, client):
    body = _get(client, service=KIND, region="RU-SA", threshold_km=60).get_json()
    assert body["unserved"] == []
    for group in body["country"] + body["regions"] + body["districts"]:
        assert set(group) <= GROUP_KEYS
        for km in (group["median_km"], group["p90_km"]):
            assert km in (None, "none") or km % coverage.PUBLIC_ROUND_KM == 0
    # a group's own name may be a town's (a census municipality "Якутск" where a region has no district
    # outlines): an aggregate's label, so it is left out of the search for settlement-level data
    for group in body["districts"]:
        group.pop("district_name", None), group.pop("municipality", None)
    text = json.dumps(body, ensure_ascii=False)
    assert "settlement_id" not in text
    assert "distance_km" not in text
    assert "Якутск" not in text


def test_staff_get_staff_precision_and_the_worst_served(world, client, engine, staff_tokens):
    body = _get(client, staff_tokens["admin"], service=KIND, region="RU-SA",
                threshold_km=[30, 60, 100]).get_json()
    expected = _figures(engine, "RU-SA", public=False)
    assert body["public"] is False
    assert body["districts"] == expected["districts"] and body["regions"] == expected["regions"]
    assert body["unserved"] == expected["unserved"] and body["unserved"]
    assert all(row["region_code"] == "RU-SA" for row in body["unserved"])


def test_a_curator_sees_the_worst_served_only_of_their_regions(world, client, engine, staff_tokens):
    elsewhere = _get(client, staff_tokens["curator_mos"], service=KIND, region="RU-SA").get_json()
    assert elsewhere["public"] is False and elsewhere["unserved"] == []
    assert elsewhere["districts"] == _figures(engine, "RU-SA", public=False)["districts"]
    own = _get(client, staff_tokens["curator_mos"], service=KIND, region="RU-MOS").get_json()
    assert own["unserved"] == _figures(engine, "RU-MOS", public=False)["unserved"]
    # every region: the worst served of their own region, not the country's (whose largest are elsewhere)
    everywhere = _get(client, staff_tokens["curator_mos"], service=KIND).get_json()
    assert everywhere["unserved"] and everywhere["unserved"] == own["unserved"]


def test_a_threshold_of_its_own(world, client, engine, staff_tokens):
    body = _get(client, staff_tokens["admin"], service=KIND, region="RU-SA", threshold_km=250).get_json()
    assert body["thresholds_km"] == [250.0]
    expected = _figures(engine, "RU-SA", public=False, thresholds=[250.0])
    assert body["districts"] == expected["districts"]
    assert set(body["districts"][0]["beyond"]) == {"250"}


def test_the_public_may_not_draw_rings_with_thresholds_of_its_own(world, client):
    """Counts at freely chosen distances 1 km apart would ring a confidential place's exact point."""
    for km in (37, 250):
        response = _get(client, service=KIND, region="RU-SA", threshold_km=km)
        assert response.status_code == 400
        assert response.get_json()["error"]["field"] == "threshold_km"
    assert _get(client, service=KIND, region="RU-SA", threshold_km=[30, 100]).status_code == 200


@pytest.mark.parametrize("params, field", [
    ({"service": "no_such_kind"}, "service"),
    ({}, "service"),
    ({"service": KIND, "region": "RU-XXX"}, "region"),
    ({"service": KIND, "region": "nowhere-at-all"}, "region"),
    ({"service": KIND, "threshold_km": "far"}, "threshold_km"),
    ({"service": KIND, "threshold_km": "0"}, "threshold_km"),
    ({"service": KIND, "threshold_km": "100000"}, "threshold_km"),
    ({"service": KIND, "threshold_km": ["10", "20", "30", "40", "50", "60"]}, "threshold_km"),
])
def test_bad_input_is_a_400_naming_the_field(world, client, params, field):
    response = client.get("/api/v1/coverage", query_string=params)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    assert error["field"] == field, error


def test_the_openapi_document_describes_it(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/coverage"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"service", "region", "threshold_km"}
    assert "400" in operation["responses"] and "200" in operation["responses"]
