"""Accounts, roles and the security baseline: every role against every route, sessions, CSRF, limits, audit."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap import create_app
from resourcemap.auth.accounts import issue_token
from resourcemap.config import secret_key
from resourcemap.extensions import limiter
from tests.conftest import app_settings
from tests.factories import add_service
from tests.staff import ACCOUNTS, PASSWORD, ROLES, answers_of_routes, client_as, form_token, sign_in

CONFIDENTIAL_ADDRESS = "ул. Скрытая, 3"


@pytest.fixture
def world(staff, registry):
    """Four accounts, and a registry: a published org with a confidential place in Smolensk oblast, a draft and a
    published org in Moscow oblast."""
    smo = add_service(registry, 54.78, 32.05, "crisis_apartment", confidential=True, address=CONFIDENTIAL_ADDRESS,
                      phones=[{"number": "+74812000001", "kind": "intake", "location": 0}])
    mos_draft = add_service(registry, 55.79, 38.45, "early_help", status="draft")
    mos_published = add_service(registry, 55.80, 38.46, "early_help")
    registry.commit()
    return {"accounts": staff, "smo": smo["organization_id"], "mos_draft": mos_draft["organization_id"],
            "mos_published": mos_published["organization_id"]}


# (method, path template, expected status per role in ROLES order)
ROUTES = [
    ("GET", "/", [200, 200, 200, 200, 200]),
    ("GET", "/?lat=54.8&lon=32.0&service=crisis_apartment", [200, 200, 200, 200, 200]),
    ("GET", "/org/{smo}", [200, 200, 200, 200, 200]),
    ("GET", "/org/{mos_draft}", [404, 404, 404, 404, 404]),
    ("GET", "/map-data/locations?bbox=31.5,54.5,32.5,55.0", [200, 200, 200, 200, 200]),
    ("GET", "/dispatch", [302, 200, 200, 200, 200]),
    ("GET", "/dispatch/gaps", [302, 200, 200, 200, 200]),
    ("GET", "/dispatch/gaps.csv", [302, 200, 200, 200, 200]),
    ("GET", "/dispatch/api/settlements?q=Демидов", [401, 200, 200, 200, 200]),
    ("GET", "/signin", [200, 200, 200, 200, 200]),
    ("GET", "/account", [302, 200, 200, 200, 200]),
    ("GET", "/api/v1/health", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/service-types", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/regions", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/settlements?q=Демидов", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/nearest?lat=54.8&lon=32.0&service=crisis_apartment", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/organizations", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/organizations/{smo}", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/organizations/{mos_draft}", [404, 404, 404, 404, 404]),  # drafts are not public
    ("GET", "/api/v1/openapi.json", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/docs", [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/registry/organizations", [401, 200, 200, 200, 200]),
    ("GET", "/api/v1/registry/organizations?region=RU-MOS", [401, 200, 403, 200, 200]),
    ("GET", "/api/v1/registry/organizations?region=RU-SMO", [401, 200, 200, 403, 200]),
    ("GET", "/api/v1/registry/organizations/{mos_draft}", [401, 200, 403, 200, 200]),
    ("GET", "/api/v1/registry/organizations/{mos_published}", [401, 200, 403, 200, 200]),
    ("GET", "/api/v1/registry/organizations/{smo}", [401, 200, 200, 403, 200]),
    ("GET", "/api/v1/registry/organizations/999999", [401, 404, 404, 404, 404]),
    ("GET", "/curate", [302, 403, 200, 200, 200]),
    ("GET", "/curate/org/{mos_draft}", [302, 403, 403, 200, 200]),
    ("GET", "/curate/org/{smo}/history", [302, 403, 200, 403, 200]),
    ("GET", "/curate/import", [302, 403, 200, 200, 200]),
    ("GET", "/curate/export?region=RU-MOS&format=csv", [302, 403, 403, 200, 200]),
]


@pytest.mark.parametrize("role_index, who", list(enumerate(ROLES)))
def test_every_route_for_every_role(app, world, role_index, who):
    for path, response in answers_of_routes(client_as(app, who), who, role_index, ROUTES, world):
        if path.startswith("/api/") and response.status_code >= 400:
            assert response.json["error"]["code"] in ("unauthorized", "forbidden", "not_found")


def test_a_curator_gets_403_for_every_id_of_another_region(app, world, engine):
    client = client_as(app, "curator_smo")
    with engine.connect() as conn:
        other = conn.execute(text("SELECT id FROM organization WHERE region_code <> 'RU-SMO'")).scalars().all()
    assert other
    for org_id in other:
        assert client.get(f"/api/v1/registry/organizations/{org_id}").status_code == 403
    listed = client.get("/api/v1/registry/organizations").json["results"]
    assert {o["region"] for o in listed} == {"RU-SMO"}


def test_staff_see_confidential_addresses_the_public_does_not(app, world, engine):
    url = "/api/v1/nearest?lat=54.8&lon=32.0&service=crisis_apartment"
    public = app.test_client().get(url).get_data(as_text=True)
    assert CONFIDENTIAL_ADDRESS not in public
    staff = client_as(app, "dispatcher").get(url).json
    assert staff["results"][0]["location"]["address"] == CONFIDENTIAL_ADDRESS
    assert staff["results"][0]["location"]["approximate"] is False
    with engine.connect() as conn:
        events = conn.execute(text("SELECT email, details FROM audit_event WHERE action = 'confidential_view'")).all()
    assert [e.email for e in events] == ["dispatcher@example.org"]
    assert events[0].details["location_ids"]


def test_api_token_gives_exact_data_and_stops_working_when_revoked(app, world, engine, runner):
    with Session(engine) as session:
        from resourcemap.models import Account

        account = session.get(Account, world["accounts"]["dispatcher"])
        token, plain = issue_token(session, account, "call centre")
        session.commit()
        stored = session.execute(text("SELECT token_hash FROM api_token WHERE id = :i"), {"i": token.id}).scalar()
    assert plain not in stored  # only the hash is kept
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    answer = client.get("/api/v1/nearest?lat=54.8&lon=32.0&service=crisis_apartment", headers=headers).json
    assert answer["results"][0]["location"]["address"] == CONFIDENTIAL_ADDRESS
    assert client.get("/api/v1/registry/organizations", headers=headers).status_code == 200
    result = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert result.exit_code == 0, result.output
    response = client.get("/api/v1/nearest?lat=54.8&lon=32.0&service=crisis_apartment", headers=headers)
    assert response.status_code == 401 and response.json["error"]["field"] == "Authorization"
    assert client.get("/api/v1/organizations", headers={"Authorization": "Basic abc"}).status_code == 401
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_event ORDER BY id")).scalars().all()
    assert "token_revoked" in actions


def test_sign_in_starts_a_new_session_and_sign_out_really_ends_it(app, world):
    client = app.test_client()
    with client.session_transaction() as s:
        s["carried_over"] = "from before sign-in"
    assert sign_in(client, ACCOUNTS["dispatcher"][0]).status_code == 302
    with client.session_transaction() as s:
        assert "carried_over" not in s
    old_cookie = client.get_cookie("session").value
    assert client.get("/account").status_code == 200
    token = form_token(client.get("/account").get_data(as_text=True))
    assert client.post("/signout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/account").status_code == 302  # the stolen cookie is worthless after sign-out


def test_wrong_password_and_disabled_account(app, world, runner, engine):
    client = app.test_client()
    response = sign_in(client, ACCOUNTS["admin"][0], "wrong password!!")
    assert response.status_code == 401 and "Неверный адрес почты или пароль" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    signed_in = client_as(app, "curator_mos")
    assert runner.invoke(args=["users", "disable", ACCOUNTS["curator_mos"][0]]).exit_code == 0
    assert signed_in.get("/account").status_code == 302  # a disabled account's sessions end
    assert sign_in(app.test_client(), ACCOUNTS["curator_mos"][0]).status_code == 401
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_event ORDER BY id")).scalars().all()
    assert actions.count("sign_in_failed") == 2 and "account_disabled" in actions and "sign_in" in actions


@pytest.mark.parametrize("next_url, expected", [
    ("/api/v1/health", "/api/v1/health"),
    ("https://evil.example/", "/curate"),  # not off the site: the admin's own pages
    ("//evil.example/", "/curate"),
    ("/\\evil.example", "/curate"),
    ("javascript:alert(1)", "/curate"),
])
def test_next_is_checked_against_open_redirects(app, world, next_url, expected):
    response = sign_in(app.test_client(), ACCOUNTS["admin"][0], next_url=next_url)
    assert response.status_code == 302 and response.headers["Location"] == expected


def test_csrf_is_enforced_on_forms(app, world):
    client = app.test_client()
    response = client.post("/signin", data={"email": ACCOUNTS["admin"][0], "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302
    signed_in = client_as(app, "admin")
    assert signed_in.post("/signout").status_code == 400  # no token: still signed in
    assert signed_in.get("/account").status_code == 200


def test_session_cookie_flags(app, database_url, world):
    response = sign_in(app.test_client(), ACCOUNTS["admin"][0])
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https_app = create_app(app_settings(database_url, HTTPS=True))
    client = https_app.test_client()
    token = form_token(client.get("/signin", base_url="https://localhost").get_data(as_text=True))
    response = client.post("/signin", base_url="https://localhost",
                           data={"email": ACCOUNTS["admin"][0], "password": PASSWORD, "csrf_token": token},
                           headers={"Referer": "https://localhost/signin"})
    assert "Secure" in response.headers["Set-Cookie"]
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_security_headers_on_every_response(client):
    for path in ("/", "/signin", "/api/v1/health", "/api/v1/nowhere"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "tile.openstreetmap.org" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]


def test_the_n_plus_first_sign_in_attempt_gets_429(database_url, world):
    app = create_app(app_settings(database_url, SIGNIN_LIMIT_PER_ACCOUNT="3 per hour",
                                  SIGNIN_LIMIT_PER_ADDRESS="100 per hour"))
    limiter.reset()
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, ACCOUNTS["admin"][0], "not the password").status_code == 401
    response = sign_in(client, ACCOUNTS["admin"][0], PASSWORD)  # even the right password waits now
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert sign_in(client, ACCOUNTS["dispatcher"][0]).status_code == 302  # another account is not blocked


def test_public_api_limit_per_address(database_url):
    app = create_app(app_settings(database_url, API_RATE_LIMIT="5 per minute"))
    limiter.reset()  # counters of earlier tests' requests from 127.0.0.1 do not count here
    client = app.test_client()
    statuses = [client.get("/api/v1/service-types").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = client.get("/api/v1/service-types")
    assert response.json["error"]["code"] == "too_many_requests" and int(response.headers["Retry-After"]) > 0


def test_sign_in_limit_is_the_same_rule_with_redis_configured(database_url, world):
    import redis

    r = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    r.flushdb()
    settings = app_settings(database_url, REDIS_URL="redis://127.0.0.1:6379/15",
                            SIGNIN_LIMIT_PER_ACCOUNT="4 per hour", SIGNIN_LIMIT_PER_ADDRESS="100 per hour")
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    for client in (first, second, first, second):
        assert sign_in(client, ACCOUNTS["admin"][0], "not the password").status_code == 401
    assert sign_in(second, ACCOUNTS["admin"][0], "not the password").status_code == 429
    assert sign_in(first, ACCOUNTS["admin"][0], PASSWORD).status_code == 429
    assert r.dbsize() == 0  # sign-in failures are counted in the database whatever the API limiter's storage
    r.flushdb()


def test_users_cli(runner, world, engine):
    result = runner.invoke(args=["users", "add", "new.curator@example.org", "--role", "curator", "--region", "RU-TUL"],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "add", "x@example.org", "--role", "curator"], input="a long enough password\n")
    assert result.exit_code != 0 and "at least one region" in result.output
    result = runner.invoke(args=["users", "add", "y@example.org", "--role", "admin"], input="short\n")
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    assert runner.invoke(args=["users", "set-role", "new.curator@example.org", "dispatcher"]).exit_code == 0
    listing = runner.invoke(args=["users", "list"]).output
    assert "new.curator@example.org\tdispatcher\tactive" in listing
    with engine.connect() as conn:
        change = conn.execute(text("SELECT details FROM audit_event WHERE action = 'role_changed'")).scalar()
        stored = conn.execute(text("SELECT password_hash FROM account WHERE email = 'new.curator@example.org'")).scalar()
    assert change["before"]["role"] == "curator" and change["after"]["role"] == "dispatcher"
    assert stored.startswith("$argon2id$")


def test_no_default_secret_outside_demo_mode(tmp_path):
    with pytest.raises(RuntimeError, match="RESOURCEMAP_SECRET_KEY"):
        secret_key({"DATABASE_URL": "postgresql+psycopg://x@/y", "SECRET_KEY": None, "VAR_DIR": str(tmp_path)})
    demo = {"DATABASE_URL": None, "SECRET_KEY": None, "VAR_DIR": str(tmp_path)}
    first = secret_key(demo)
    assert len(first) >= 40 and secret_key(demo) == first  # generated once, then kept
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
