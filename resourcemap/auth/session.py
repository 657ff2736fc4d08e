"""Flask-Login glue: the session cookie holds "<account id>:<session token>", so rotating the token at sign-out
(or on a role change) makes every older cookie worthless."""
from __future__ import annotations

from flask_login import UserMixin

from ..db import get_session
from ..extensions import login_manager
from ..models import Account
from .policy import Viewer, viewer_of


class SignedInUser(UserMixin):
    def __init__(self, account: Account):
        self.account_id = account.id
        self.email = account.email
        self.role = account.role
        self.session_token = account.session_token
        self.viewer: Viewer = viewer_of(account)

    def get_id(self) -> str:
        return f"{self.account_id}:{self.session_token}"


@login_manager.user_loader
def load_user(user_id: str) -> SignedInUser | None:
    account_id, _, token = (user_id or "").partition(":")
    if not account_id.isdigit() or not token:
        return None
    account = get_session().get(Account, int(account_id))
    if account is None or not account.active or account.session_token != token:
        return None
    return SignedInUser(account)
