"""The curators' editing API (api/staff.py): every role against every editing route, conflicts as 409 with the
current document, bad input as JSON errors with the field at fault."""
from __future__ import annotations

import copy

import pytest

from tests.factories import NOGINSK, SMOLENSK, new_document
from tests.staff import ROLES, bearer, call, created



def test_every_editing_route_for_every_role(client, tokens):
    expected = {  # status per role in ROLES order
        "create": [401, 403, 422, 201, 201],
        "save": [401, 403, 403, 200, 200],
        "status": [401, 403, 403, 200, 200],
        "verify": [401, 403, 403, 200, 200],
        "history": [401, 200, 403, 200, 200],
        "document": [401, 200, 403, 200, 200],
        "revert": [401, 403, 403, 200, 200],
        "stale": [401, 200, 403, 200, 200],
        "stale_all": [401, 200, 200, 200, 200],
    }
    org = created(client, tokens)
    org_id = org["id"]
    for index, who in enumerate(ROLES):
        history = call(client, tokens, "admin", "GET", f"/api/v1/registry/organizations/{org_id}/history").json
        newest_change = history["results"][0]["id"]
        document = _document(client, tokens, org_id)
        document["description"] = f"правка {who}"
        answers = {
            "create": call(client, tokens, who, "POST", "/api/v1/registry/organizations", new_document()),
            "save": call(client, tokens, who, "PUT", f"/api/v1/registry/organizations/{org_id}", document),
        }
        version = _version(client, tokens, org_id)
        answers["status"] = call(client, tokens, who, "POST", f"/api/v1/registry/organizations/{org_id}/status",
                                 {"status": "published", "version": version})
        answers["verify"] = call(client, tokens, who, "POST", f"/api/v1/registry/organizations/{org_id}/verify")
        answers["history"] = call(client, tokens, who, "GET", f"/api/v1/registry/organizations/{org_id}/history")
        answers["document"] = call(client, tokens, who, "GET", f"/api/v1/registry/organizations/{org_id}/document")
        answers["revert"] = call(client, tokens, who, "POST", f"/api/v1/registry/changes/{newest_change}/revert",
                                 {"version": _version(client, tokens, org_id)})
        answers["stale"] = call(client, tokens, who, "GET", "/api/v1/registry/stale?region=RU-MOS")
        answers["stale_all"] = call(client, tokens, who, "GET", "/api/v1/registry/stale")
        for route, response in answers.items():
            assert response.status_code == expected[route][index], (who, route, response.json)
            if response.status_code >= 400:
                error = response.json["error"]
                assert error["code"] == {401: "unauthorized", 403: "forbidden", 422: "invalid"}[response.status_code]
                if response.status_code == 422:
                    assert error["field"] == "locations[0].lat" and error["problems"][0]["code"] == "outside_region"
    # The curator of Smolensk oblast sees only their region in the stale list, an admin every region.
    smo = call(client, tokens, "curator_smo", "GET", "/api/v1/registry/stale").json["results"]
    assert all(r["region_code"] == "RU-SMO" for r in smo)
    every = call(client, tokens, "admin", "GET", "/api/v1/registry/stale").json["results"]
    assert org_id not in {r["id"] for r in every}  # verified today
    assert len(every) == 2 and all(r["region_code"] == "RU-MOS" for r in every)  # the two created ones


def _document(client, tokens, org_id) -> dict:
    """The current document, as the editor reads it."""
    response = call(client, tokens, "admin", "GET", f"/api/v1/registry/organizations/{org_id}/document")
    assert response.status_code == 200 and response.json["version"] == response.json["document"]["version"]
    return response.json["document"]


def _version(client, tokens, org_id) -> int:
    return _document(client, tokens, org_id)["version"]


def test_create_save_conflict_history_revert_round_trip(client, tokens):
    org = created(client, tokens, new_document(status="draft"))
    org_id, first = org["id"], org["document"]
    assert org["version"] == 1 and first["status"] == "draft" and first["phones"][0]["number"] == "+74965700000"

    mine, theirs = copy.deepcopy(first), copy.deepcopy(first)
    mine["name"] = "Центр «Радуга» (новое название)"
    saved = call(client, tokens, "curator_mos", "PUT", f"/api/v1/registry/organizations/{org_id}",
                 {**mine, "change_note": "уточнили название"})
    assert saved.status_code == 200 and saved.json["version"] == 2
    assert saved.json["document"]["name"] == "Центр «Радуга» (новое название)"

    theirs["website"] = "https://other.example.ru"
    conflict = call(client, tokens, "admin", "PUT", f"/api/v1/registry/organizations/{org_id}", theirs)
    assert conflict.status_code == 409
    assert conflict.json["error"]["code"] == "conflict" and conflict.json["error"]["field"] == "version"
    assert conflict.json["current"]["version"] == 2 and conflict.json["current"]["name"] == mine["name"]
    assert conflict.json["current"]["website"] == first["website"]  # nothing of the loser was written

    history = call(client, tokens, "curator_mos", "GET", f"/api/v1/registry/organizations/{org_id}/history").json
    newest = history["results"][0]
    assert (newest["entity"], newest["field"], newest["old"], newest["new"], newest["note"], newest["actor_email"]) == (
        "organization", "name", first["name"], mine["name"], "уточнили название", "curator.mos@example.org")
    limited = call(client, tokens, "curator_mos", "GET",
                   f"/api/v1/registry/organizations/{org_id}/history?limit=2&before={newest['id']}").json["results"]
    assert len(limited) == 2 and all(r["id"] < newest["id"] for r in limited)

    reverted = call(client, tokens, "curator_mos", "POST", f"/api/v1/registry/changes/{newest['id']}/revert",
                    {"version": 2})
    assert reverted.status_code == 200 and reverted.json["document"]["name"] == first["name"]
    assert reverted.json["version"] == 3
    stale_revert = call(client, tokens, "curator_mos", "POST", f"/api/v1/registry/changes/{newest['id']}/revert",
                        {"version": 2})
    assert stale_revert.status_code == 409

    published = call(client, tokens, "curator_mos", "POST", f"/api/v1/registry/organizations/{org_id}/status",
                     {"status": "published", "version": 3})
    assert published.json == {"id": org_id, "version": 4}
    found = client.get(f"/api/v1/nearest?lat={NOGINSK[0]}&lon={NOGINSK[1]}&service=early_help").json["results"]
    assert org_id in {r["organization"]["id"] for r in found}
    verified = call(client, tokens, "curator_mos", "POST", f"/api/v1/registry/organizations/{org_id}/verify")
    assert verified.status_code == 200 and verified.json["verified_at"]


def test_region_exception_through_the_api(client, tokens):
    doc = new_document(point=SMOLENSK)
    refused = call(client, tokens, "curator_mos", "POST", "/api/v1/registry/organizations", doc)
    assert refused.status_code == 422 and refused.json["error"]["problems"][0]["code"] == "outside_region"
    accepted = call(client, tokens, "curator_mos", "POST", "/api/v1/registry/organizations",
                    {**doc, "region_exception_reason": "Головной офис в Москве, филиал в Смоленске"})
    assert accepted.status_code == 201 and accepted.json["document"]["region_code"] == "RU-SMO"
    history = call(client, tokens, "curator_smo", "GET",
                   f"/api/v1/registry/organizations/{accepted.json['id']}/history").json["results"]
    assert all("Головной офис в Москве" in r["note"] for r in history)


@pytest.mark.parametrize("method, path, body, status, field", [
    ("PUT", "/api/v1/registry/organizations/{id}", {"name": "без версии"}, 400, "version"),
    ("PUT", "/api/v1/registry/organizations/{id}", {"version": "одна"}, 400, "version"),
    ("PUT", "/api/v1/registry/organizations/{id}", {"version": 1, "name": ""}, 422, "name"),
    ("PUT", "/api/v1/registry/organizations/{id}", {"version": 1, "locations": "везде"}, 400, "locations"),
    ("PUT", "/api/v1/registry/organizations/999999", {"version": 1}, 404, "id"),
    ("PUT", "/api/v1/registry/organizations/99999999999", {"version": 1}, 404, "id"),
    ("POST", "/api/v1/registry/organizations", [1, 2], 400, None),
    ("POST", "/api/v1/registry/organizations", {"name": "x" * 600, "locations": []}, 422, "name"),
    ("POST", "/api/v1/registry/organizations/{id}/status", {"status": "deleted", "version": 1}, 422, "status"),
    ("POST", "/api/v1/registry/organizations/{id}/status", {"status": "draft"}, 400, "version"),
    ("POST", "/api/v1/registry/changes/987654321/revert", {"version": 1}, 404, "id"),
    ("POST", "/api/v1/registry/changes/{change}/revert", {}, 400, "version"),
    ("GET", "/api/v1/registry/organizations/999999/history", None, 404, "id"),
    ("GET", "/api/v1/registry/organizations/999999/document", None, 404, "id"),
    ("GET", "/api/v1/registry/stale?region=XX-NOPE", None, 400, "region"),
    ("GET", "/api/v1/registry/stale?days=0", None, 400, "days"),
])
def test_bad_input_gets_a_json_error_with_its_field(client, tokens, method, path, body, status, field):
    org = created(client, tokens)
    change = call(client, tokens, "admin", "GET", f"/api/v1/registry/organizations/{org['id']}/history").json
    url = path.format(id=org["id"], change=change["results"][0]["id"])
    response = call(client, tokens, "curator_mos", method, url, body)
    assert response.status_code == status, response.json
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]


def test_a_body_that_is_not_json_is_a_400(client, tokens):
    org = created(client, tokens)
    for data in (b"{not json", b"\xff\xfe\x00", "null"):
        response = client.put(f"/api/v1/registry/organizations/{org['id']}", data=data,
                              headers={**bearer(tokens, "curator_mos"), "Content-Type": "application/json"})
        assert response.status_code == 400 and response.json["error"]["code"] in ("invalid", "error")
