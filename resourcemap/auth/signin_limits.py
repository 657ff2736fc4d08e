"""Limits on failed sign-ins, counted from the audit log: every worker process (and every app server) sees the same
counts, with or without Redis, and an attacker cannot lock the owner of an account out.

A *known device* is a browser that carries the device cookie of this account: signed with the app's secret key,
HttpOnly, sent only to /signin, set at each successful sign-in of the account (OWASP's "device cookie"). Each rule
counts the `sign_in_failed` events of its setting's window (config.py):

- from a known device, only that device's own failures count: SIGNIN_LIMIT_PER_ACCOUNT;
- from any other client: the failures at this account from this address (SIGNIN_LIMIT_PER_ACCOUNT), from this address
  at any account (SIGNIN_LIMIT_PER_ADDRESS), and at this account from all addresses (SIGNIN_LIMIT_ACCOUNT_WIDE).

An attacker spending an account's limits from many addresses thus stops the unknown devices only; the owner still
signs in from a browser they signed in with before. The check and the recording of a failure run under advisory
locks on the account (and the address), so that concurrent attempts in different workers cannot overrun a limit.
A refused attempt is answered before the password is checked, and is not itself counted."""
from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, Response, current_app, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import parse_many
from sqlalchemy import Interval, extract, func, literal, select
from sqlalchemy.orm import Session

from ..models import AuditEvent

FAILED = "sign_in_failed"
DEVICE_COOKIE = "rm_device"
_DEVICE_SALT = "resourcemap.signin-device"
_ADDRESS_LOCK, _ACCOUNT_LOCK = 1701, 1702  # advisory lock namespaces (two-key form: apart from one-key locks)
LIMIT_SETTINGS = ("SIGNIN_LIMIT_PER_ACCOUNT", "SIGNIN_LIMIT_PER_ADDRESS", "SIGNIN_LIMIT_ACCOUNT_WIDE")


@dataclass(frozen=True)
class Attempt:
    """Who is trying to sign in: the e-mail as typed (normalized), the client's address, and the device id when the
    browser is a known device of that e-mail's account."""

    email: str
    address: str
    device: str | None

    @property
    def details(self) -> dict:
        """What the audit events of this attempt carry besides e-mail and address."""
        return {"device": self.device} if self.device else {}


@dataclass(frozen=True)
class Refusal:
    rule: str
    retry_after_s: int

    @property
    def retry_after_min(self) -> int:
        return math.ceil(self.retry_after_s / 60)


def email_key(email: str | None) -> str:
    """The e-mail as failures are counted and recorded: the form of accounts.normalize_email, any text accepted."""
    return (email or "").strip().lower()[:254]


def check_settings(app: Flask) -> None:
    """Refuse to start with a limit that cannot be read, rather than fail at the first sign-in."""
    for name in LIMIT_SETTINGS:
        _limit(app.config[name], name)
    days = app.config["SIGNIN_DEVICE_DAYS"]
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ValueError(f"RESOURCEMAP_SIGNIN_DEVICE_DAYS must be a whole number of days (1 or more), not {days!r}")


@lru_cache(maxsize=32)
def _limit(text: str, name: str) -> tuple[int, int]:
    """(attempts, window in seconds) of a setting like '5 per 15 minutes'."""
    try:
        items = parse_many(str(text))
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(f"RESOURCEMAP_{name} must be one limit like '5 per 15 minutes', not {text!r}")
    return items[0].amount, items[0].get_expiry()


def attempt_of(email: str | None) -> Attempt:
    email = email_key(email)
    return Attempt(email=email, address=request.remote_addr or "", device=_known_device(email))


def refusal(db: Session, attempt: Attempt) -> Refusal | None:
    """Why this attempt is refused now (the rule that lasts longest), or None. Takes the locks that the caller's
    commit releases: record the attempt's outcome in the same transaction."""
    if not attempt.device:
        _lock(db, _ADDRESS_LOCK, attempt.address)
    _lock(db, _ACCOUNT_LOCK, attempt.email)
    refusals = [r for r in (_check(db, *rule) for rule in _rules(attempt)) if r is not None]
    return max(refusals, key=lambda r: r.retry_after_s, default=None)


def _rules(attempt: Attempt) -> list[tuple[str, str, tuple]]:
    """(name, setting, which failures count) of each rule that applies to this attempt."""
    at_account = AuditEvent.email == attempt.email
    from_address = AuditEvent.remote_addr == attempt.address
    if attempt.device:
        from_device = AuditEvent.details["device"].astext == attempt.device
        return [("device", "SIGNIN_LIMIT_PER_ACCOUNT", (at_account, from_device))]
    return [("account_and_address", "SIGNIN_LIMIT_PER_ACCOUNT", (at_account, from_address)),
            ("address", "SIGNIN_LIMIT_PER_ADDRESS", (from_address,)),
            ("account", "SIGNIN_LIMIT_ACCOUNT_WIDE", (at_account,))]


def _check(db: Session, rule: str, setting: str, conditions: tuple) -> Refusal | None:
    """Refused while the limit's last allowed failure is within the window: until it leaves the window."""
    attempts, window_s = _limit(current_app.config[setting], setting)
    window = literal(dt.timedelta(seconds=window_s), Interval())
    ends = db.scalar(
        select(extract("epoch", AuditEvent.at + window - func.now()))
        .where(AuditEvent.action == FAILED, AuditEvent.at > func.now() - window, *conditions)
        .order_by(AuditEvent.at.desc()).offset(attempts - 1).limit(1))
    return None if ends is None else Refusal(rule, max(1, math.ceil(ends)))


def _lock(db: Session, namespace: int, key: str) -> None:
    db.execute(select(func.pg_advisory_xact_lock(namespace, func.hashtext(key))))


def _device_max_age_s() -> int:
    return current_app.config["SIGNIN_DEVICE_DAYS"] * 86400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_DEVICE_SALT)


def _known_device(email: str) -> str | None:
    """The device id of this browser if its device cookie is genuine, recent and of this e-mail's account."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    try:
        data = _serializer().loads(cookie, max_age=_device_max_age_s())
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("email") != email or not isinstance(data.get("device"), str):
        return None
    return data["device"]


def remember_device(response: Response, attempt: Attempt) -> None:
    """After a successful sign-in: this browser is (still) a known device of the account, for the configured days."""
    device = attempt.device or secrets.token_urlsafe(16)
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps({"email": attempt.email, "device": device}),
                        max_age=_device_max_age_s(), path=url_for("auth.signin"),
                        httponly=True, secure=bool(current_app.config["HTTPS"]), samesite="Lax")
