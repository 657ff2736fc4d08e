"""Sign-in limits (resourcemap/auth/signin_limits.py): counted in the database, so they hold across worker processes
without Redis; an attacker spending an account's limit cannot lock its owner out of a known device; a refusal is a
429 with Retry-After, costs no password check and is in the audit log.

"Another worker" is an app made in a process of its own (multiprocessing, spawn), as under gunicorn: two apps in one
process would share Flask-Limiter's in-memory counters, which is exactly what separate workers do not."""
from __future__ import annotations

import multiprocessing
import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap import create_app
from resourcemap.auth import accounts
from resourcemap.auth.accounts import create_account
from resourcemap.auth.signin_limits import DEVICE_COOKIE
from tests.conftest import app_settings, empty_account_tables
from tests.staff import PASSWORD
from tests.staff import sign_in as staff_sign_in

OWNER = "owner@example.org"
WRONG = "not the password"
TOO_MANY = "Слишком много неудачных попыток входа"


@pytest.fixture
def owner(engine):
    """One account, and an audit log without the failures of earlier tests."""
    empty_account_tables(engine)
    with Session(engine) as session:
        create_account(session, OWNER, PASSWORD, "admin", [])
        session.commit()
    yield OWNER
    empty_account_tables(engine)


@pytest.fixture
def workers(database_url, owner):
    """Two app instances on one database and no Redis, in this process; default limits."""
    apps = [create_app(app_settings(database_url, REDIS_URL=None)) for _ in range(2)]
    yield apps
    for app in apps:
        app.extensions["resourcemap.engine"].dispose()


def client_at(app, address="127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, email=OWNER, password=PASSWORD):
    """Sign in as the owner unless told otherwise."""
    return staff_sign_in(client, email, password)


def with_device_cookie(client, value):
    client.set_cookie(DEVICE_COOKIE, value, path="/signin")
    return client


def audit_actions(engine, action):
    with engine.connect() as conn:
        return conn.execute(text("SELECT remote_addr, details FROM audit_event WHERE action = :a ORDER BY id"),
                            {"a": action}).all()


@pytest.fixture(scope="module")
def worker_processes(database_url):
    """Two worker processes, each with an app of its own on the test database and no Redis."""
    pool = multiprocessing.get_context("spawn").Pool(2, initializer=_start_worker, initargs=(database_url,))
    yield pool
    pool.close()
    pool.join()


def in_workers(pool, *plans):
    """Each plan, a list of (address, e-mail, password) to sign in with, run by a worker process, all at once;
    the status codes of each plan."""
    return pool.map(_sign_in_plan, plans, chunksize=1)


_worker_app = None


def _start_worker(database_url):
    global _worker_app
    _worker_app = create_app(app_settings(database_url, REDIS_URL=None))


def _sign_in_plan(plan):
    return [sign_in(client_at(_worker_app, address), email, password).status_code for address, email, password in plan]


def test_the_limit_per_account_and_address_holds_across_worker_processes(app, worker_processes, owner, engine):
    first, second = in_workers(worker_processes, [("127.0.0.1", OWNER, WRONG)] * 3, [("127.0.0.1", OWNER, WRONG)] * 2)
    assert first + second == [401] * 5  # 5 failures, spread over two workers
    assert sign_in(client_at(app), password=WRONG).status_code == 429  # the 6th, in this process
    assert in_workers(worker_processes, [("127.0.0.1", OWNER, PASSWORD)] * 2) == [[429] * 2]  # even the right one
    assert len(audit_actions(engine, "sign_in_failed")) == 5
    refused = audit_actions(engine, "sign_in_refused")
    assert len(refused) == 3 and {r.details["rule"] for r in refused} == {"account_and_address"}
    assert sign_in(client_at(app, "198.51.100.9")).status_code == 302  # another address is not held


def test_concurrent_attempts_in_two_workers_cannot_overrun_the_limit(worker_processes, owner, engine):
    plan = [("127.0.0.1", OWNER, WRONG)] * 5
    statuses = sum(in_workers(worker_processes, plan, plan), [])
    assert sorted(statuses) == [401] * 5 + [429] * 5
    assert len(audit_actions(engine, "sign_in_failed")) == 5


def test_an_attacker_on_many_addresses_does_not_lock_the_owner_out_of_a_known_device(workers, engine):
    owner_laptop = client_at(workers[0], "192.0.2.10")
    assert sign_in(owner_laptop).status_code == 302  # the laptop becomes a known device of the account
    cookie = owner_laptop.get_cookie(DEVICE_COOKIE, path="/signin")
    assert cookie is not None and cookie.http_only and cookie.max_age and cookie.max_age > 30 * 86400

    for n in range(10):  # the account-wide limit (10 per 15 minutes), 2 failures from each of 5 addresses
        attacker = client_at(workers[n % 2], f"203.0.113.{n // 2 + 1}")
        assert sign_in(attacker, password=WRONG).status_code == 401
    assert sign_in(client_at(workers[1], "203.0.113.99"), password=WRONG).status_code == 429
    assert sign_in(client_at(workers[1], "192.0.2.10")).status_code == 429  # the owner on a new device waits

    assert sign_in(owner_laptop).status_code == 302
    assert sign_in(with_device_cookie(client_at(workers[1], "192.0.2.10"), cookie.value)).status_code == 302
    assert sign_in(with_device_cookie(client_at(workers[0], "203.0.113.1"), cookie.value)).status_code == 302


def test_a_known_device_has_its_own_limit_and_another_cookie_is_no_device(workers, engine):
    laptop = client_at(workers[0], "192.0.2.10")
    assert sign_in(laptop).status_code == 302
    cookie = laptop.get_cookie(DEVICE_COOKIE, path="/signin").value
    stolen = with_device_cookie(client_at(workers[1], "203.0.113.50"), cookie)
    for _ in range(5):
        assert sign_in(stolen, password=WRONG).status_code == 401
    assert sign_in(stolen).status_code == 429  # the device's own 5 failures: held, whichever address it uses
    assert audit_actions(engine, "sign_in_refused")[-1].details["rule"] == "device"

    for value, email in ((cookie, "other@example.org"), ("not.a.signed.cookie", OWNER),
                         (cookie.replace(".", ".x", 1), OWNER)):  # another account's; garbage; tampered with
        client = with_device_cookie(client_at(workers[0], "198.51.100.7"), value)
        assert sign_in(client, email, WRONG).status_code == 401  # an unknown device, not an error
        assert "device" not in audit_actions(engine, "sign_in_failed")[-1].details


def test_the_limit_per_address_holds_across_worker_processes(app, worker_processes, owner, engine):
    spray = [("203.0.113.7", f"guess{n}@example.org", WRONG) for n in range(20)]  # one failure at each of 20
    assert in_workers(worker_processes, spray[:10], spray[10:]) == [[401] * 10] * 2
    assert sign_in(client_at(app, "203.0.113.7"), "guess99@example.org", WRONG).status_code == 429
    assert sign_in(client_at(app, "203.0.113.7")).status_code == 429  # a real account's right password too
    assert audit_actions(engine, "sign_in_refused")[-1].details["rule"] == "address"
    assert sign_in(client_at(app, "203.0.113.8")).status_code == 302


def test_a_refusal_is_a_readable_429_with_retry_after_and_no_password_check(workers, engine, monkeypatch):
    client = client_at(workers[0], "198.51.100.20")
    for _ in range(5):
        sign_in(client, password=WRONG)
    checks = []
    monkeypatch.setattr(accounts, "_hasher", _CountingHasher(accounts._hasher, checks))
    response = sign_in(client)
    assert response.status_code == 429 and checks == []
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    page = response.get_data(as_text=True)
    assert TOO_MANY in page and re.search(r"через \d+ мин", page) and 'name="email"' in page
    refused = audit_actions(engine, "sign_in_refused")[-1]
    assert refused.remote_addr == "198.51.100.20" and refused.details["retry_after_s"] > 0


def test_refusals_do_not_count_and_the_limit_has_a_window(database_url, owner, engine):
    app = create_app(app_settings(database_url, SIGNIN_LIMIT_PER_ACCOUNT="2 per hour"))
    client = client_at(app)
    for _ in range(2):
        assert sign_in(client, password=WRONG).status_code == 401
    response = sign_in(client, password=WRONG)
    assert response.status_code == 429 and 3500 < int(response.headers["Retry-After"]) <= 3600
    with engine.begin() as conn:  # the failures age past the window; the refusal just now does not count
        conn.execute(text("UPDATE audit_event SET at = at - interval '61 minutes' WHERE action = 'sign_in_failed'"))
    assert sign_in(client).status_code == 302
    app.extensions["resourcemap.engine"].dispose()


@pytest.mark.parametrize("setting, value", [("SIGNIN_LIMIT_PER_ADDRESS", "lots"),
                                            ("SIGNIN_LIMIT_PER_ACCOUNT", "0 per minute"),
                                            ("SIGNIN_LIMIT_ACCOUNT_WIDE", "5 per minute; 9 per hour"),
                                            ("SIGNIN_DEVICE_DAYS", 0)])
def test_a_bad_limit_setting_stops_the_start_with_its_name(database_url, setting, value):
    with pytest.raises(ValueError, match=f"RESOURCEMAP_{setting}"):
        create_app(app_settings(database_url, **{setting: value}))


class _CountingHasher:
    """The account module's argon2 hasher, noting each password check."""

    def __init__(self, hasher, checks: list):
        self._hasher, self._checks = hasher, checks

    def verify(self, *args):
        self._checks.append(args)
        return self._hasher.verify(*args)

    def __getattr__(self, name):
        return getattr(self._hasher, name)
