"""After sign-in each role lands on its own pages (issue 18): a dispatcher on the console, a curator and an admin on
the registry, unless `next` says where; the account page links the role's pages."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account
from tests.conftest import ACCOUNT_TABLES

PASSWORD = "correct horse battery"
ACCOUNTS = {"dispatcher": [], "curator": ["RU-MOS"], "admin": []}


@pytest.fixture
def accounts(engine):
    with Session(engine) as session:
        for role, regions in ACCOUNTS.items():
            create_account(session, f"{role}@example.org", PASSWORD, role, regions)
        session.commit()
    yield
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {ACCOUNT_TABLES} RESTART IDENTITY CASCADE"))


def sign_in(client, role: str, query: str = ""):
    html = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    return client.post(f"/signin{query}", data={"email": f"{role}@example.org", "password": PASSWORD,
                                                 "csrf_token": token})


@pytest.mark.parametrize("role, home", [("dispatcher", "/dispatch"), ("curator", "/curate"), ("admin", "/curate")])
def test_each_role_lands_on_its_own_pages(app, accounts, role, home):
    response = sign_in(app.test_client(), role)
    assert response.status_code == 302 and response.headers["Location"] == home
    client = app.test_client()
    assert sign_in(client, role, "?next=//evil.example/x").headers["Location"] == home  # not off the site
    assert client.get(home).status_code == 200


def test_next_still_wins(app, accounts):
    response = sign_in(app.test_client(), "dispatcher", "?next=/dispatch/gaps")
    assert response.headers["Location"] == "/dispatch/gaps"


@pytest.mark.parametrize("role, links, absent", [
    ("dispatcher", ["/dispatch", "/dispatch/gaps"], ["/curate"]),
    ("curator", ["/curate", "/dispatch"], []),
    ("admin", ["/curate", "/dispatch", "/dispatch/gaps"], []),
])
def test_the_account_page_links_the_roles_pages(app, accounts, role, links, absent):
    client = app.test_client()
    sign_in(client, role)
    html = client.get("/account").get_data(as_text=True)
    hrefs = set(re.findall(r'<a [^>]*href="([^"]+)"', html[html.index("<h1"):]))
    assert set(links) <= hrefs and not set(absent) & hrefs, hrefs
