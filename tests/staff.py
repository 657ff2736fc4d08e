"""The staff of the tests: one account per role, signing in through the form as a person does, the CSRF tokens of
the staff's pages, and the calls of the dispatch console and the editing API. The fixtures that make the accounts
(`staff`, `staff_tokens`) and hand out signed-in clients (`signed_in`, `console`) are in tests/conftest.py."""
from __future__ import annotations

import html as htmllib
import re

from resourcemap.auth.accounts import create_account, issue_token
from tests.factories import new_document

PASSWORD = "correct horse battery"
# key: (e-mail, role, regions) — an admin, a dispatcher and a curator of Smolensk and of Moscow oblast.
ACCOUNTS = {
    "admin": ("admin@example.org", "admin", []),
    "dispatcher": ("dispatcher@example.org", "dispatcher", []),
    "curator_smo": ("curator.smo@example.org", "curator", ["RU-SMO"]),
    "curator_mos": ("curator.mos@example.org", "curator", ["RU-MOS"]),
}
# The order of the per-role tables of expected statuses (test_auth, test_curate_pages, test_edit_api).
ROLES = ["anonymous", "dispatcher", "curator_smo", "curator_mos", "admin"]
FORM_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PAGE_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def create_staff(session, password: str = PASSWORD) -> dict:
    """The accounts of ACCOUNTS, flushed (not committed); the Account rows by key."""
    return {key: create_account(session, email, password, role, regions)
            for key, (email, role, regions) in ACCOUNTS.items()}


def issue_staff_tokens(session, label: str = "tests") -> dict[str, str]:
    """The accounts of ACCOUNTS, each with an API token; the plain tokens by key. Flushed, not committed."""
    return {key: issue_token(session, account, label)[1] for key, account in create_staff(session).items()}


def form_token(html: str) -> str:
    """The CSRF token of a page's form (the hidden csrf_token input: sign-in, the curators' forms)."""
    return FORM_TOKEN.search(html).group(1)


def page_token(html: str) -> str:
    """The CSRF token a page gives its scripts (<meta name="csrf-token">: the dispatch console)."""
    return PAGE_TOKEN.search(html).group(1)


def sign_in(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    """Post the sign-in form as a browser would (its CSRF token first; ?next= when given); the response."""
    token = form_token(client.get("/signin").get_data(as_text=True))
    url = "/signin" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def client_as(app, who: str):
    """A test client signed in as ACCOUNTS[who] (its accounts made by the `staff` fixture or a test's own), or not
    signed in for "anonymous"."""
    client = app.test_client()
    if who != "anonymous":
        response = sign_in(client, ACCOUNTS[who][0])
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def answers_of_routes(client, who: str, role_index: int, routes: list, values: dict):
    """Open each (method, path template, expected status per role) of `routes` as `who` (the role at `role_index`
    of the table's order), asserting the status; yields (path, response) for the test's further checks."""
    for method, template, statuses in routes:
        path = template.format(**values)
        response = client.open(path, method=method)
        assert response.status_code == statuses[role_index], f"{who} {method} {path}: {response.status_code}"
        yield path, response


def search(client, token: str, **body):
    """The dispatch console's search call (POST /dispatch/api/search) with the console's CSRF token."""
    return client.post("/dispatch/api/search", json=body, headers={"X-CSRFToken": token})


def bearer(tokens: dict, who: str) -> dict:
    """The Authorization header of ACCOUNTS[who]'s API token; none for "anonymous"."""
    return {} if who == "anonymous" else {"Authorization": f"Bearer {tokens[who]}"}


def call(client, tokens: dict, who: str, method: str, path: str, body=None):
    """An API call as `who` with its bearer token (a JSON body when given)."""
    return client.open(path, method=method, json=body, headers=bearer(tokens, who))


def created(client, tokens: dict, doc=None, who: str = "curator_mos") -> dict:
    """An organization created through the editing API (a new_document() unless `doc`); its document."""
    response = call(client, tokens, who, "POST", "/api/v1/registry/organizations", doc or new_document())
    assert response.status_code == 201, response.json
    return response.json


def editor_form(client, org_id) -> dict:
    """The editor's form as the browser would post it (every input and selected option)."""
    return editor_form_from(client.get(f"/curate/org/{org_id}").get_data(as_text=True))


def editor_form_from(html: str) -> dict:
    """The curators' editor form in `html` as the browser would post it."""
    form_html = html[html.index('<form method="post" id="editor"'):html.index("</form>")]
    data: dict[str, str] = {}
    for m in re.finditer(r'<input ([^>]*)>', form_html):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', m.group(1)))
        kind, name = attrs.get("type", "text"), attrs.get("name")
        if not name or kind == "submit":
            continue
        if kind in ("checkbox", "radio"):
            if " checked" in m.group(1):
                data[name] = attrs.get("value", "on")
            continue
        data[name] = attrs.get("value", "")
    for m in re.finditer(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form_html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', m.group(2)) or re.search(r'<option value="([^"]*)"',
                                                                                          m.group(2))
        data[m.group(1)] = chosen.group(1) if chosen else ""
    for m in re.finditer(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form_html, re.S):
        data[m.group(1)] = m.group(2)
    return {k: htmllib.unescape(v) for k, v in data.items()}
