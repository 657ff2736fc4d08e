"""Accounts and API tokens: creation, password checks (argon2id), session ids that sign-out rotates."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Account, AccountRegion, ApiToken, Region
from .policy import ROLES, role_needs_regions

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("no such account")  # equalizes timing for unknown e-mails
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"not an e-mail address: {email!r}")
    return email


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def _check_regions(session: Session, role: str, regions: list[str]) -> list[str]:
    codes = sorted({r.strip().upper() for r in regions if r.strip()})
    known = set(session.scalars(select(Region.code).where(Region.code.in_(codes))))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise AccountError(f"unknown region: {', '.join(unknown)}")
    if role_needs_regions(role) and not codes:
        raise AccountError("a curator needs at least one region (--region CODE)")
    return codes


def create_account(session: Session, email: str, password: str, role: str, regions: list[str]) -> Account:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    email = normalize_email(email)
    check_password_strength(password)
    if session.scalar(select(Account).where(Account.email == email)):
        raise AccountError(f"an account for {email} exists already")
    account = Account(email=email, password_hash=_hasher.hash(password), role=role, active=True,
                      session_token=secrets.token_urlsafe(16))
    account.regions = [AccountRegion(region_code=c) for c in _check_regions(session, role, regions)]
    session.add(account)
    session.flush()
    return account


def find_account(session: Session, email: str) -> Account | None:
    try:
        return session.scalar(select(Account).where(Account.email == normalize_email(email)))
    except AccountError:
        return None


def verify_password(session: Session, email: str, password: str) -> Account | None:
    """The active account whose password this is, or None (same work either way)."""
    account = find_account(session, email)
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or not account.active:
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return account


def set_role(session: Session, account: Account, role: str, regions: list[str] | None) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    codes = _check_regions(session, role, regions if regions is not None else [r.region_code for r in account.regions])
    account.role = role
    account.regions = [AccountRegion(region_code=c) for c in codes]
    rotate_session(account)


def rotate_session(account: Account) -> None:
    """A new session id for the account: every cookie issued before stops working."""
    account.session_token = secrets.token_urlsafe(16)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, account: Account, name: str) -> tuple[ApiToken, str]:
    """A new API token; the plain token is returned once and never stored."""
    plain = "rm_" + secrets.token_urlsafe(32)
    token = ApiToken(account_id=account.id, token_hash=_token_hash(plain), name=name)
    session.add(token)
    session.flush()
    return token, plain


def account_for_token(session: Session, plain: str) -> Account | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(plain),
                                                  ApiToken.revoked_at.is_(None)))
    if token is None:
        return None
    account = session.get(Account, token.account_id)
    return account if account and account.active else None


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountError(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = dt.datetime.now(dt.timezone.utc)
    return token
