"""After sign-in each role lands on its own pages (issue 18): a dispatcher on the console, a curator and an admin on
the registry, unless `next` says where; the account page links the role's pages."""
from __future__ import annotations

import re

import pytest

from tests.staff import ACCOUNTS
from tests.staff import sign_in as staff_sign_in

# The staff account that signs in for each role (a curator: the one of Moscow oblast).
ACCOUNT_OF = {"dispatcher": "dispatcher", "curator": "curator_mos", "admin": "admin"}


def sign_in(client, role: str, next_url: str | None = None):
    """Sign in as the staff account of `role`."""
    return staff_sign_in(client, ACCOUNTS[ACCOUNT_OF[role]][0], next_url=next_url)


@pytest.mark.parametrize("role, home", [("dispatcher", "/dispatch"), ("curator", "/curate"), ("admin", "/curate")])
def test_each_role_lands_on_its_own_pages(app, staff, role, home):
    response = sign_in(app.test_client(), role)
    assert response.status_code == 302 and response.headers["Location"] == home
    client = app.test_client()
    assert sign_in(client, role, "//evil.example/x").headers["Location"] == home  # not off the site
    assert client.get(home).status_code == 200


def test_next_still_wins(app, staff):
    response = sign_in(app.test_client(), "dispatcher", "/dispatch/gaps")
    assert response.headers["Location"] == "/dispatch/gaps"


@pytest.mark.parametrize("role, links, absent", [
    ("dispatcher", ["/dispatch", "/dispatch/gaps"], ["/curate"]),
    ("curator", ["/curate", "/dispatch"], []),
    ("admin", ["/curate", "/dispatch", "/dispatch/gaps"], []),
])
def test_the_account_page_links_the_roles_pages(app, staff, role, links, absent):
    client = app.test_client()
    sign_in(client, role)
    html = client.get("/account").get_data(as_text=True)
    hrefs = set(re.findall(r'<a [^>]*href="([^"]+)"', html[html.index("<h1"):]))
    assert set(links) <= hrefs and not set(absent) & hrefs, hrefs
