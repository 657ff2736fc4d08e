"""Sign-in, sign-out and the account page."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..db import get_session
from ..extensions import limiter
from ..models import Account
from . import audit, bp
from .accounts import AccountError, normalize_email, rotate_session, verify_password
from .forms import SignInForm, SignOutForm
from .policy import staff_page
from .session import SignedInUser


def safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative '//evil', no backslash tricks."""
    if not target:
        return url_for("auth.account")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("auth.account")
    return target


def _account_key() -> str:
    try:
        return "signin:" + normalize_email(request.form.get("email", ""))
    except AccountError:
        return "signin:?"


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["SIGNIN_LIMIT_PER_ACCOUNT"], key_func=_account_key, methods=["POST"],
               deduct_when=_failed)
def signin():
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        db = get_session()
        account = verify_password(db, form.email.data, form.password.data)
        if account is None:
            audit.record(db, "sign_in_failed", email=(form.email.data or "")[:254].lower())
            db.commit()
            error = _("Неверный адрес почты или пароль.")
        else:
            account.last_sign_in_at = dt.datetime.now(dt.timezone.utc)
            audit.record(db, "sign_in", account=account)
            db.commit()
            session.clear()  # a new session: nothing from before sign-in carries over
            login_user(SignedInUser(account))
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        error = next(iter(form.errors.values()))[0] if form.errors else _("Проверьте форму.")
    status = 401 if error and request.method == "POST" else 200
    return render_template("auth/signin.html", form=form, error=error), status


@bp.post("/signout")
def signout():
    form = SignOutForm()
    if not form.validate_on_submit():
        return render_template("error.html", status=400, message=_("Форма устарела: обновите страницу.")), 400
    if current_user.is_authenticated:
        db = get_session()
        account = db.get(Account, current_user.account_id)
        if account is not None:
            rotate_session(account)  # the old cookie stops working everywhere
            audit.record(db, "sign_out", account=account)
            db.commit()
    logout_user()
    session.clear()
    return redirect(url_for("public.index"))


@bp.get("/account")
@staff_page()
def account():
    return render_template("auth/account.html", user=current_user, signout_form=SignOutForm())
