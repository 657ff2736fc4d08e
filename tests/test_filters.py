"""Filters by the child's condition and by cost (issue 22): the nearest matching services, checked against an
independent filter of the registry (every row filtered in Python, measured with pyproj.Geod), and bad values."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from resourcemap.registry.vocabulary import CONDITION_CODES, COST_CODES
from tests.factories import add_service, geodesic_km, nearest, random_points_in
from tests.staff import call, created, search


def _registry_with_needs(registry, engine, rng: random.Random) -> dict[int, dict]:
    """Services around Moscow with random conditions and costs (some with neither): by location id."""
    rows = {}
    for region, count in (("RU-MOS", 150), ("RU-TUL", 50)):
        for lat, lon in random_points_in(engine, region, count, seed=len(rows) + 11):
            kind = rng.choice(["early_help", "rehabilitation"])
            conditions = rng.sample(CONDITION_CODES, rng.choice([0, 1, 2, 3]))
            cost = rng.choice([None, *COST_CODES])
            ids = add_service(registry, lat, lon, kind, conditions=conditions, cost=cost)
            rows[ids["location_id"]] = {"lat": lat, "lon": lon, "kind": kind, "conditions": set(conditions),
                                        "cost": cost}
    registry.commit()
    return rows


def _expected(rows: dict, lat: float, lon: float, kinds, conditions=(), costs=(), limit=10) -> list[tuple]:
    """The independent answer: every row of these kinds that states all the conditions and one of the costs,
    nearest first by the geodesic on WGS84."""
    matching = [(geodesic_km(lat, lon, r["lat"], r["lon"]), loc_id) for loc_id, r in rows.items()
                if r["kind"] in kinds and set(conditions) <= r["conditions"] and (not costs or r["cost"] in costs)]
    return sorted(matching)[:limit]


def test_filters_match_an_independent_filter_of_the_registry(client, registry, engine):
    rng = random.Random(2212)
    rows = _registry_with_needs(registry, engine, rng)
    origins = [(rng.uniform(54.5, 56.5), rng.uniform(36, 39.5)) for _ in range(8)]
    asks = [(("hearing",), ()), ((), ("free",)), (("autism", "developmental_delay"), ()),
            (("motor",), ("free", "partly_paid")), (("down_syndrome", "vision"), ("paid",))]
    for lat, lon in origins:
        for kinds in (["early_help"], ["early_help", "rehabilitation"]):
            for conditions, costs in asks:
                expected = _expected(rows, lat, lon, kinds, conditions, costs)
                params = [("lat", lat), ("lon", lon), ("service", ",".join(kinds)), ("limit", 10)]
                params += [("condition", c) for c in conditions] + ([("cost", ",".join(costs))] if costs else [])
                response = client.get("/api/v1/nearest", query_string=params)
                assert response.status_code == 200, response.json
                got = response.json["results"]
                assert [r["location"]["id"] for r in got] == [loc_id for _, loc_id in expected], (conditions, costs)
                for r, (km, _) in zip(got, expected):
                    assert r["distance_km"] == pytest.approx(km, abs=0.0015)
                    assert set(conditions) <= set(r["service"]["conditions"])
                    assert not costs or r["service"]["cost"] in costs


def test_a_filter_that_drops_every_near_candidate_still_finds_the_true_nearest_matching(client, registry):
    """The 40 nearest services do not match: the KNN scan must go on past them (the filter is in its WHERE), not
    filter a first batch of candidates and come back short or with farther ones."""
    lat, lon = 55.75, 37.62
    for i in range(40):
        add_service(registry, lat + 0.002 * (i + 1), lon, "early_help", conditions=["motor"], cost="paid")
    far = [(lat - 0.3 - 0.05 * i, lon + 0.1 * i) for i in range(6)]
    far_ids = [add_service(registry, a, b, "early_help", conditions=["hearing", "motor"], cost="free")["location_id"]
               for a, b in far]
    registry.commit()
    expected = [loc for _, loc in sorted((geodesic_km(lat, lon, a, b), loc) for (a, b), loc in zip(far, far_ids))][:5]
    for params in ({"condition": "hearing"}, {"cost": "free"}, {"condition": "hearing", "cost": "free"}):
        got = nearest(client, lat=lat, lon=lon, service="early_help", limit=5, **params)["results"]
        assert [r["location"]["id"] for r in got] == expected
    assert nearest(client, lat=lat, lon=lon, service="early_help", limit=5, condition="autism")["results"] == []


def test_filters_in_the_index_scan_not_after_it(engine, registry):
    """The plan filters the per-kind KNN index scan itself: an index scan of ix_sal_knn_early_help whose filter
    names the copies (no sort of all rows, no join before the LIMIT)."""
    add_service(registry, 55.7, 37.6, "early_help", conditions=["hearing"], cost="free")
    registry.commit()
    from resourcemap.data.nearest import NearestQuery, _filters, _params, _statement

    q = NearestQuery(lat=55.75, lon=37.62, service_types=("early_help",), conditions=("hearing",), costs=("free",))
    sql = _statement("point", q.service_types, _filters(q), True)
    params = _params(q) | {"region": None, "settlement_id": None, "per_kind": 5}
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            plan = "\n".join(r[0] for r in cur.execute("EXPLAIN " + sql, params).fetchall())
    assert "ix_sal_knn_early_help" in plan
    assert "conditions @>" in plan and "cost = ANY" in plan


@pytest.mark.parametrize("query, field", [
    ("condition=", "condition"), ("condition=hearing&condition=", "condition"), ("condition=deaf", "condition"),
    ("condition=hearing,,motor", "condition"), ("cost=", "cost"), ("cost=cheap", "cost"), ("cost=free,gratis", "cost"),
])
def test_bad_filter_values_answer_400_json_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/nearest?lat=55.75&lon=37.62&service=early_help&{query}")
    assert response.status_code == 400
    assert response.is_json
    assert response.json["error"]["field"] == field
    assert response.json["error"]["code"] in ("empty_filter", f"unknown_{field}")


def test_the_copies_follow_an_edit_of_the_service(registry, engine):
    ids = add_service(registry, 55.7, 37.6, "early_help")
    registry.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE service SET conditions = '{autism}', cost = 'free' WHERE id = :s"),
                     {"s": ids["service_id"]})
        row = conn.execute(text("SELECT conditions, cost FROM service_at_location WHERE id = :i"),
                           {"i": ids["sal_id"]}).one()
    assert row == (["autism"], "free")
    with engine.begin() as conn:
        bad = conn.begin_nested()
        with pytest.raises(Exception):
            conn.execute(text("UPDATE service SET conditions = '{deafness}' WHERE id = :s"), {"s": ids["service_id"]})
        bad.rollback()


def test_the_dispatch_console_filters_by_condition_and_cost(engine, registry, console):
    client, token = console
    near = add_service(registry, 55.79, 38.45, "early_help", name="Рядом, платно", conditions=["motor"], cost="paid")
    free = add_service(registry, 55.9, 38.6, "early_help", name="Дальше, бесплатно", conditions=["motor", "autism"],
                       cost="free", cost_basis=["state_programme"])
    registry.commit()
    body = {"lat": 55.78, "lon": 38.45, "kinds": ["early_help"]}
    everything = search(client, token, **body).json["groups"][0]["results"]
    assert [r["organization_id"] for r in everything][:2] == [near["organization_id"], free["organization_id"]]
    for asked in ({"costs": ["free"]}, {"conditions": ["autism"]}, {"conditions": ["motor", "autism"]}):
        results = search(client, token, **body, **asked).json["groups"][0]["results"]
        assert [r["organization_id"] for r in results] == [free["organization_id"]]
        assert results[0]["needs"] == "Бесплатно, госпрограмма; НОДА, РАС"
    for bad in ({"costs": ["cheap"]}, {"conditions": "autism"}, {"conditions": [""]}):
        refused = search(client, token, **body, **bad)
        assert refused.status_code == 400 and refused.json["error"]["field"] in ("costs", "conditions")


def test_saving_an_unchanged_document_records_no_change_of_conditions(registry):
    """Codes are stored in the vocabulary's order whoever writes them, so a save that changes nothing records
    nothing (a set written in another order is not a change)."""
    from resourcemap.auth.policy import Viewer
    from resourcemap.registry import edit

    ids = add_service(registry, 55.7, 37.6, "early_help", conditions=["complex_needs", "hearing"],
                      cost_basis=["referral", "state_programme"])
    registry.commit()
    curator = Viewer(role="curator", account_id=None, email="c@example.org", regions=frozenset({"RU-MOW"}))
    doc = edit.organization_document(registry, ids["organization_id"])
    assert doc["services"][0]["conditions"] == ["hearing", "complex_needs"]
    assert doc["services"][0]["cost_basis"] == ["state_programme", "referral"]
    edit.save_document(registry, ids["organization_id"], doc, doc["version"], curator)
    registry.commit()
    assert registry.execute(text("SELECT count(*) FROM change WHERE field IN ('conditions', 'cost_basis')")).scalar() == 0


def test_the_staff_api_edits_conditions_and_cost_and_refuses_unknown_ones(client, tokens):
    org = created(client, tokens)
    doc = org["document"]
    doc["services"][0].update(conditions=["autism", "hearing"], cost="partly_paid", cost_basis=["referral"])
    saved = call(client, tokens, "curator_mos", "PUT", f"/api/v1/registry/organizations/{org['id']}", doc)
    assert saved.status_code == 200, saved.json
    service = saved.json["document"]["services"][0]
    assert (service["conditions"], service["cost"], service["cost_basis"]) == (["hearing", "autism"], "partly_paid",
                                                                                ["referral"])
    for bad, field in (({"conditions": ["deafness"]}, "services[0].conditions"), ({"cost": "cheap"}, "services[0].cost"),
                       ({"cost_basis": "referral"}, "services[0].cost_basis"),
                       ({"conditions": [1]}, "services[0].conditions[0]")):
        body = {**saved.json["document"], "services": [{**service, **bad}]}
        refused = call(client, tokens, "curator_mos", "PUT", f"/api/v1/registry/organizations/{org['id']}", body)
        assert refused.status_code in (400, 422) and refused.is_json, (bad, refused.status_code)
        assert field in {p["field"] for p in refused.json["error"]["problems"]}, refused.json
