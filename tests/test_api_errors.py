"""Bad input answers 400 (or 404) with {"error": {"code", "message", "field"}}; never a 500."""
from __future__ import annotations

import pytest

BAD_REQUESTS = [
    ("/api/v1/nearest?lat=91&lon=37&service=early_help", 400, "lat"),
    ("/api/v1/nearest?lat=-90.0001&lon=37&service=early_help", 400, "lat"),
    ("/api/v1/nearest?lat=55&lon=abc&service=early_help", 400, "lon"),
    ("/api/v1/nearest?lat=55&lon=181&service=early_help", 400, "lon"),
    ("/api/v1/nearest?lat=NaN&lon=37&service=early_help", 400, "lat"),
    ("/api/v1/nearest?lat=55&lon=Infinity&service=early_help", 400, "lon"),
    ("/api/v1/nearest?lat=55&lon=37&service=teleportation", 400, "service"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help,' OR 1=1 --", 400, "service"),
    ("/api/v1/nearest?lat=55&lon=37&service=", 400, "service"),
    ("/api/v1/nearest?lat=55&lon=37&service=,,,", 400, "service"),
    ("/api/v1/nearest?lat=55&lon=37", 400, "service"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&limit=1000000", 400, "limit"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&limit=0", 400, "limit"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&limit=-5", 400, "limit"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&within_km=0", 400, "within_km"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&within_km=-3", 400, "within_km"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&age_months=-1", 400, "age_months"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&age_months=ten", 400, "age_months"),
    ("/api/v1/nearest?lat=55&lon=37&service=early_help&open_now=maybe", 400, "open_now"),
    ("/api/v1/nearest?lat=55&service=early_help", 400, "lon"),
    ("/api/v1/nearest?service=early_help", 400, "lat"),
    ("/api/v1/nearest?settlement=abc&service=early_help", 400, "settlement"),
    ("/api/v1/nearest?settlement=99999999999&service=early_help", 400, "settlement"),
    ("/api/v1/nearest?settlement=1&lat=55&lon=37&service=early_help", 400, "settlement"),
    ("/api/v1/nearest?settlement=2147483647&service=early_help", 404, "settlement"),
    ("/api/v1/settlements?q=", 400, "q"),
    ("/api/v1/settlements?q=%20%20%20", 400, "q"),
    ("/api/v1/settlements", 400, "q"),
    ("/api/v1/settlements?q=" + "я" * 10_000, 400, "q"),
    ("/api/v1/settlements?q=Москва&limit=100000", 400, "limit"),
    ("/api/v1/settlements?q=Москва&region=XX-NOPE", 400, "region"),
    ("/api/v1/organizations?bbox=1,2,3,4,5", 400, "bbox"),
    ("/api/v1/organizations?bbox=30,60,40,50", 400, "bbox"),
    ("/api/v1/organizations?bbox=1,2,3", 400, "bbox"),
    ("/api/v1/organizations?bbox=a,b,c,d", 400, "bbox"),
    ("/api/v1/organizations?bbox=nan,1,2,3", 400, "bbox"),
    ("/api/v1/organizations?bbox=-200,1,2,3", 400, "bbox"),
    ("/api/v1/organizations?limit=100000", 400, "limit"),
    ("/api/v1/organizations?offset=-1", 400, "offset"),
    ("/api/v1/organizations?service=nope", 400, "service"),
    ("/api/v1/organizations?region=RU-XXX", 400, "region"),
    ("/api/v1/organizations/999999", 404, "id"),
    ("/api/v1/organizations/99999999999999999999", 404, "id"),
]


@pytest.mark.parametrize("url, status, field", BAD_REQUESTS)
def test_bad_input_gets_a_clear_error(client, url, status, field):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.json["error"]
    assert error["field"] == field
    assert error["code"] and error["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_sql_in_the_settlement_query_is_just_text(client, engine):
    from sqlalchemy import text

    before = engine.connect().execute(text("SELECT count(*) FROM settlement")).scalar()
    response = client.get("/api/v1/settlements", query_string={"q": "Москва'; DROP TABLE settlement; --"})
    assert response.status_code == 200
    assert isinstance(response.json["results"], list)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM settlement")).scalar() == before


def test_unknown_route_and_method(client):
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    response = client.post("/api/v1/nearest")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_a_page_error_is_a_readable_page_not_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html" and "Ошибка 404" in response.get_data(as_text=True)


def test_openapi_document_is_generated_from_the_code(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/health", "/api/v1/service-types", "/api/v1/regions", "/api/v1/settlements",
                 "/api/v1/nearest", "/api/v1/organizations", "/api/v1/organizations/{org_id}"):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/v1/nearest"]["get"]["parameters"]}
    assert {"lat", "lon", "settlement", "service", "age_months", "open_now", "limit", "within_km"} <= params
    assert client.get("/api/v1/docs").status_code == 200


def test_health_and_reference_lists(client):
    assert client.get("/api/v1/health").json == {"status": "ok", "database": "ok"}
    codes = {t["code"] for t in client.get("/api/v1/service-types").json["results"]}
    assert {"early_help", "crisis_apartment", "rental_point", "rehabilitation", "family_support", "social_nanny",
            "respite_care", "day_care", "psychological_help", "legal_help", "parent_club", "addiction_rehab",
            "palliative_care", "mobile_team", "humanitarian_aid", "hotline"} <= codes
    regions = {r["code"]: r for r in client.get("/api/v1/regions").json["results"]}
    assert len([c for c in regions if c.startswith("RU-")]) == 85
    assert len([c for c in regions if c.startswith("KZ-")]) == 20
    assert regions["RU-CR"]["settlement_count"] > 0 and regions["RU-SEV"]["country"] == "RU"


def test_health_answers_503_when_the_database_is_down(database_url):
    from sqlalchemy.engine import make_url

    from resourcemap import create_app

    dead = make_url(database_url).set(host="/nonexistent-socket-dir", query={"port": "1"})
    app = create_app({"DATABASE_URL": dead.render_as_string(hide_password=False), "SECRET_KEY": "x"})
    client = app.test_client()
    response = client.get("/api/v1/health")
    assert response.status_code == 503 and response.json["database"] == "unavailable"
    response = client.get("/api/v1/nearest?lat=55&lon=37&service=early_help")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"]
