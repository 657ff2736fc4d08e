"""Sign-in, sign-out and the account page."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..db import get_session
from ..errors import render_error
from ..models import Account
from . import audit, bp, signin_limits
from .accounts import rotate_session, verify_password
from .forms import SignInForm, SignOutForm
from .policy import staff_page
from .session import SignedInUser


HOMES = {"dispatcher": "dispatch.console", "curator": "curate.index", "admin": "curate.index"}


def home_of(role: str) -> str:
    """Where a role's work starts: the console for dispatchers, the registry for curators and admins."""
    return url_for(HOMES.get(role, "auth.account"))


def safe_next(target: str | None, home: str | None = None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative '//evil', no backslash tricks; else
    `home` (the account page)."""
    home = home or url_for("auth.account")
    if not target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    return target


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        db = get_session()
        attempt = signin_limits.attempt_of(form.email.data)
        refused = signin_limits.refusal(db, attempt)  # before the password is checked: no argon2 work when refused
        if refused is not None:
            return _too_many_attempts(db, form, attempt, refused)
        account = verify_password(db, form.email.data, form.password.data)
        if account is None:
            audit.record(db, signin_limits.FAILED, email=attempt.email, **attempt.details)
            db.commit()
            error = _("Неверный адрес почты или пароль.")
        else:
            account.last_sign_in_at = dt.datetime.now(dt.timezone.utc)
            audit.record(db, "sign_in", account=account, **attempt.details)
            db.commit()
            session.clear()  # a new session: nothing from before sign-in carries over
            login_user(SignedInUser(account))
            response = redirect(safe_next(request.args.get("next"), home_of(account.role)))
            signin_limits.remember_device(response, attempt)
            return response
    elif request.method == "POST":
        error = next(iter(form.errors.values()))[0] if form.errors else _("Проверьте форму.")
    status = 401 if error and request.method == "POST" else 200
    return render_template("auth/signin.html", form=form, error=error), status


def _too_many_attempts(db, form: SignInForm, attempt: signin_limits.Attempt, refused: signin_limits.Refusal):
    audit.record(db, "sign_in_refused", email=attempt.email, rule=refused.rule, retry_after_s=refused.retry_after_s,
                 **attempt.details)
    db.commit()
    error = _("Слишком много неудачных попыток входа. Попробуйте снова через %(minutes)s мин.",
              minutes=refused.retry_after_min)
    return (render_template("auth/signin.html", form=form, error=error), 429,
            {"Retry-After": str(refused.retry_after_s)})


@bp.post("/signout")
def signout():
    form = SignOutForm()
    if not form.validate_on_submit():
        return render_error(400, "csrf", _("Форма устарела: обновите страницу."), json=False, translate=False)
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
