"""Defects a hostile probe found (issue 17), each held by a test here:

1. staff views of a confidential place in the document, history and editor are written to the audit log;
2. a document with a value of the wrong JSON type anywhere is a 400 naming the field, never a 500;
3. every 405 says which methods are allowed (Allow, RFC 9110);
4. the OpenAPI document declares what the server enforces (region codes, lat/lon or settlement, versions);
5. health is not rate-limited, and every 503 carries Retry-After;
6. each export's Content-Type is exact (one charset, said once)."""
from __future__ import annotations

import copy
import re

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from resourcemap import create_app
from resourcemap.extensions import limiter
from tests.conftest import app_settings
from tests.factories import add_service, new_document
from tests.staff import ACCOUNTS, bearer, client_as

SECRET_ADDRESS = "ул. Неназываемая, 7"


@pytest.fixture
def orgs(tokens, registry):
    """In Moscow oblast: an organization with a confidential place (a crisis apartment) and one without."""
    secret = add_service(registry, 55.79, 38.45, "crisis_apartment", confidential=True, address=SECRET_ADDRESS)
    open_ = add_service(registry, 55.80, 38.46, "early_help")
    registry.commit()
    return {"secret": secret["organization_id"], "secret_location": secret["location_id"],
            "open": open_["organization_id"]}


def last_audit_event(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_event")).scalar()


def confidential_views(engine, path: str, after: int) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT email, details FROM audit_event WHERE action = 'confidential_view'"
                                 " AND details->>'path' = :path AND id > :after ORDER BY id"),
                            {"path": path, "after": after}).all()


# --- 1. staff views of exact confidential data are audited ------------------------------------------------------
STAFF_VIEWS = [
    ("dispatcher", "token", "/api/v1/registry/organizations/{org}/document"),
    ("dispatcher", "token", "/api/v1/registry/organizations/{org}/history"),
    ("curator_mos", "token", "/api/v1/registry/organizations/{org}/document"),
    ("curator_mos", "session", "/curate/org/{org}"),
    ("curator_mos", "session", "/curate/org/{org}/history"),
    ("admin", "session", "/curate/org/{org}"),
]


@pytest.mark.parametrize("who, how, template", STAFF_VIEWS)
def test_a_staff_view_of_a_confidential_place_is_audited(app, engine, tokens, orgs, who, how, template):
    client, headers = (client_as(app, who), {}) if how == "session" else (app.test_client(), bearer(tokens, who))
    path, before = template.format(org=orgs["secret"]), last_audit_event(engine)
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    if template.endswith("/document") or template == "/curate/org/{org}":
        assert SECRET_ADDRESS in response.get_data(as_text=True)
    events = confidential_views(engine, path, before)
    assert [(e.email, e.details["location_ids"]) for e in events] == [(ACCOUNTS[who][0], [orgs["secret_location"]])]
    # An organization without a confidential place is no confidential view.
    path = template.format(org=orgs["open"])
    assert client.get(path, headers=headers).status_code == 200
    assert confidential_views(engine, path, before) == []


# --- 2. values of the wrong JSON type in a staff document ---------------------------------------------------------
WRONG_TYPES = [  # (where in new_document(), the value put there)
    (("services", 0, "type"), ["early_help"]),
    (("services", 0, "type"), {"code": "early_help"}),
    (("services", 0, "delivery"), ["on_site"]),
    (("services", 0, "name"), 17),
    (("services", 0, "age_min_months"), [0]),
    (("services", 0, "location"), "0"),
    (("services", 0, "schedule"), "пн-пт 9-18"),
    (("services", 0, "schedule", 0, "opens"), 900),
    (("services", 0, "schedule", 0), ["1", "09:00", "18:00"]),
    (("services", 0, "capacity_total"), True),
    (("services", 1, "outreach_radius_km"), {"km": 30}),
    (("services", 0), None),
    (("phones", 0, "kind"), {"intake": True}),
    (("phones", 0, "number"), 74965700000),
    (("phones", 0, "location"), [0]),
    (("locations", 0, "lat"), [55.78]),
    (("locations", 0, "address"), True),
    (("locations", 0, "confidential"), {"yes": 1}),
    (("phones", 0, "service"), {"index": 0}),
    (("legal_form",), 5),
    (("description",), ["a", "list"]),
    (("verified_at",), 20240101),
    (("status",), ["published"]),
]


def _put(doc, where: tuple, value) -> dict:
    doc = copy.deepcopy(doc)
    target = doc
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    return doc


def _field(where: tuple) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else (f".{s}" if i else s) for i, s in enumerate(where))


@pytest.mark.parametrize("where, value", WRONG_TYPES, ids=[f"{_field(w)}={v!r}" for w, v in WRONG_TYPES])
def test_a_value_of_the_wrong_json_type_is_a_400_naming_the_field(app, tokens, orgs, where, value):
    client, headers = app.test_client(), bearer(tokens, "curator_mos")
    response = client.post("/api/v1/registry/organizations", json=_put(new_document(), where, value), headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:500]
    assert response.mimetype == "application/json" and "Traceback" not in body
    error = response.json["error"]
    assert error["code"] == "invalid" and error["message"] and error["field"] == _field(where), error


def test_a_wrong_type_in_a_saved_document_is_a_400_too(app, tokens, orgs):
    client, headers = app.test_client(), bearer(tokens, "curator_mos")
    created = client.post("/api/v1/registry/organizations", json=new_document(), headers=headers).json
    doc = {**created["document"], "version": created["version"]}
    for where, value in ((("services", 0, "type"), ["early_help"]), (("locations", 0, "id"), "1"),
                         (("phones", 0, "id"), [1])):
        response = client.put(f"/api/v1/registry/organizations/{created['id']}", json=_put(doc, where, value),
                              headers=headers)
        assert response.status_code == 400 and response.json["error"]["field"] == _field(where), response.json
    # A document of the right types with wrong values is still a 422 with every problem.
    response = client.put(f"/api/v1/registry/organizations/{created['id']}",
                          json=_put(doc, ("services", 0, "type"), "teleportation"), headers=headers)
    assert response.status_code == 422 and response.json["error"]["field"] == "services[0].type"


# --- 3. 405 with Allow ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("TRACE", "/api/v1/nearest"), ("POST", "/api/v1/health"), ("DELETE", "/api/v1/organizations/1"),
    ("PATCH", "/api/v1/registry/organizations/1"), ("TRACE", "/"), ("PUT", "/curate"), ("TRACE", "/signin"),
    ("DELETE", "/dispatch/api/settlements"),
])
def test_every_405_says_which_methods_are_allowed(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert "GET" in allowed or "PUT" in allowed, response.headers
    assert method not in allowed


# --- 4. the OpenAPI document declares what the server enforces -------------------------------------------------
def _parameters(spec, path: str, method: str = "get") -> dict:
    return {p["name"]: p for p in spec["paths"][path][method].get("parameters", [])}


def _body_schema(spec, path: str, method: str) -> tuple[dict, dict]:
    body = spec["paths"][path][method]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    return body, spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_the_openapi_document_declares_region_codes_origins_and_versions(client):
    spec = client.get("/api/v1/openapi.json").json
    codes = {r["code"] for r in client.get("/api/v1/regions").json["results"]}
    for path in ("/api/v1/settlements", "/api/v1/organizations", "/api/v1/registry/organizations",
                 "/api/v1/registry/stale"):
        schema = _parameters(spec, path)["region"]["schema"]
        assert set(schema["enum"]) == codes, path
        assert all(re.fullmatch(schema["pattern"], code) for code in codes), path
    nearest = _parameters(spec, "/api/v1/nearest")
    for name, other in (("lat", "settlement"), ("lon", "settlement"), ("settlement", "lat")):
        assert other in nearest[name]["description"], name
    for path, method in (("/api/v1/registry/changes/{change_id}/revert", "post"),
                         ("/api/v1/registry/organizations/{org_id}/status", "post"),
                         ("/api/v1/registry/organizations/{org_id}", "put")):
        body, schema = _body_schema(spec, path, method)
        assert body.get("required") is True and "version" in schema["required"], path
        assert schema["properties"]["version"]["minimum"] >= 0 and schema["properties"]["version"]["maximum"] < 2**31
    _, create = _body_schema(spec, "/api/v1/registry/organizations", "post")
    assert "version" not in create.get("required", [])


def test_every_region_code_the_document_declares_is_accepted(client):
    spec = client.get("/api/v1/openapi.json").json
    for code in _parameters(spec, "/api/v1/settlements")["region"]["schema"]["enum"]:
        response = client.get("/api/v1/settlements", query_string={"q": "а", "region": code})
        assert response.status_code == 200, (code, response.json)


# --- 5. health is not rate-limited; every 503 says when to retry ------------------------------------------------
def test_health_is_not_rate_limited(database_url):
    app = create_app(app_settings(database_url, API_RATE_LIMIT="2 per minute"))
    limiter.reset()
    client = app.test_client()
    assert [client.get("/api/v1/health").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/api/v1/service-types").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/health").status_code == 200  # still, after the address hit its limit
    limiter.reset()


def test_every_503_while_the_database_is_down_says_when_to_retry(database_url, tokens):
    dead = make_url(database_url).set(host="/nonexistent-socket-dir", query={"port": "1"})
    app = create_app(app_settings(dead.render_as_string(hide_password=False)))
    client = app.test_client()
    for path, headers in (("/api/v1/health", {}), ("/api/v1/nearest?lat=55&lon=37&service=early_help", {}),
                          ("/api/v1/registry/organizations", bearer(tokens, "admin")), ("/", {}),
                          ("/?q=Москва", {})):
        response = client.get(path, headers=headers)
        assert response.status_code == 503, (path, response.status_code)
        assert int(response.headers["Retry-After"]) > 0, path
    assert client.get("/api/v1/health").json == {"status": "degraded", "database": "unavailable"}


# --- 6. exports say their Content-Type once ---------------------------------------------------------------------
EXPORTS = [
    ("/curate/export?region=RU-MOS&format=csv", "text/csv; charset=utf-8"),
    ("/curate/export?region=RU-MOS&format=geojson", "application/geo+json"),
    ("/curate/export?region=RU-MOS&format=hsds-json", "application/json"),
    ("/curate/export?region=RU-MOS&format=hsds-csv", "application/zip"),
    ("/curate/import/template/registry-template.csv", "text/csv; charset=utf-8"),
    ("/curate/import/template/registry-template.xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("/dispatch/gaps.csv", "text/csv; charset=utf-8"),
]


@pytest.mark.parametrize("path, content_type", EXPORTS)
def test_each_export_has_its_exact_content_type(app, orgs, path, content_type):
    response = client_as(app, "curator_mos").get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_an_editing_answer_with_the_exact_document_is_audited(app, engine, tokens, orgs):
    """Saving answers with the whole document, confidential place included: a staff view like any other."""
    client, headers = app.test_client(), bearer(tokens, "curator_mos")
    path = f"/api/v1/registry/organizations/{orgs['secret']}"
    doc = client.get(path + "/document", headers=headers).json["document"]
    before = last_audit_event(engine)
    saved = client.put(path, json={**doc, "name": doc["name"] + " (проверено)"}, headers=headers)
    assert saved.status_code == 200 and SECRET_ADDRESS in saved.get_data(as_text=True)
    assert [e.email for e in confidential_views(engine, path, before)] == [ACCOUNTS["curator_mos"][0]]
    stale = client.put(path, json={**doc, "name": "Другое имя"}, headers=headers)  # the old version: a conflict
    assert stale.status_code == 409 and SECRET_ADDRESS in stale.get_data(as_text=True)
    assert len(confidential_views(engine, path, before)) == 2
