"""Who may use the dispatch console: every dispatch route for every role. Pages send the public to sign-in (302),
the JSON calls answer 401 JSON; dispatchers, curators and admins get 200."""
from __future__ import annotations

import pytest

from tests.factories import add_service
from tests.staff import client_as, page_token

ROLES = ["anonymous", "dispatcher", "curator_smo", "admin"]


@pytest.fixture
def world(staff, registry):
    sal = add_service(registry, 55.79, 38.45, "early_help")["sal_id"]
    registry.commit()
    return {"sal": sal}


# (method, path, JSON?) — every route of the dispatch blueprint.
ROUTES = [
    ("GET", "/dispatch", False),
    ("GET", "/dispatch/referral?sal={sal}&origin=55.78,38.45", False),
    ("GET", "/dispatch/gaps", False),
    ("GET", "/dispatch/gaps?km=100&days=all", False),
    ("GET", "/dispatch/gaps.csv", False),
    ("GET", "/dispatch/api/settlements?q=Кратово", True),
    ("GET", "/dispatch/api/referral?sal={sal}&origin=55.78,38.45", True),
    ("POST", "/dispatch/api/search", True),
]


def test_the_table_covers_every_dispatch_route(app):
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("dispatch.")}
    assert rules == {path.split("?")[0] for _, path, _ in ROUTES}


@pytest.mark.parametrize("who", ROLES)
def test_every_dispatch_route_for_every_role(app, world, who):
    client = client_as(app, who)
    token = None
    if who != "anonymous":
        token = page_token(client.get("/dispatch").get_data(as_text=True))
    for method, template, is_json in ROUTES:
        path = template.format(**world)
        if method == "POST":
            response = client.post(path, json={"lat": 55.78, "lon": 38.45, "kinds": ["early_help"]},
                                   headers={"X-CSRFToken": token} if token else {})
        else:
            response = client.get(path)
        if who == "anonymous":
            if is_json:
                assert response.status_code == 401, f"{who} {method} {path}: {response.status_code}"
                assert response.json["error"]["code"] == "unauthorized"
            else:
                assert response.status_code == 302, f"{who} {method} {path}: {response.status_code}"
                assert response.headers["Location"].startswith("/signin?next=")
        else:
            assert response.status_code == 200, f"{who} {method} {path}: {response.status_code}"
            if is_json:
                assert response.is_json
