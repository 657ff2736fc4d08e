""""Report a problem" (issue 22): a family tells that an organization's phone does not answer, its address is wrong,
it closed, or something else, without an account. Spam is held off by a honeypot field and rate limits (per address
and per organization, Flask-Limiter, RESOURCEMAP_REPORT_RATE_LIMIT…), not by a third-party CAPTCHA. Nothing is
kept about the person but what they wrote (registry/reports.py)."""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _

from ..db import get_session
from ..errors import render_error
from ..extensions import limiter
from ..limits import is_id
from ..registry.reports import MAX_TEXT, BadReport, file_report
from ..data.organizations import organization_by_id
from . import bp

HONEYPOT = "website"  # a field people do not see; a bot that fills every field fills it


def problem_kinds() -> list[tuple[str, str]]:
    return [("no_answer", _("Телефон не отвечает")), ("wrong_address", _("Адрес указан неверно")),
            ("closed", _("Организация или услуга закрылась")), ("other", _("Другое"))]


def _organization(org_id: str) -> dict | None:
    if not is_id(org_id):
        return None
    return organization_by_id(get_session(), int(org_id))


def _back() -> str:
    back = request.values.get("back", "")
    return back if back.startswith("/?") or back.startswith("/org/") else ""


def _page(org: dict, status: int = 200, **context):
    return render_template("report.html", org=org, kinds=problem_kinds(), max_text=MAX_TEXT, back=_back(),
                           honeypot=HONEYPOT, synthetic=org["is_synthetic"], **context), status


def _organization_key() -> str:
    return "report-org:" + str((request.view_args or {}).get("org_id", ""))


@bp.route("/org/<org_id>/report", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REPORT_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["REPORT_RATE_LIMIT_PER_ORGANIZATION"], methods=["POST"],
               key_func=_organization_key)
def report_problem(org_id: str):
    org = _organization(org_id)
    if org is None:
        return render_error(404, "not_found", _("Такой организации нет в реестре. Возможно, ссылка устарела."),
                            translate=False)
    if request.method == "GET":
        return _page(org, kind=request.args.get("kind", ""), body="")
    kind, body = request.form.get("kind", ""), request.form.get("body", "")
    if request.form.get(HONEYPOT):
        return _page(org, sent=True)  # looks taken; nothing is stored
    try:
        if file_report(get_session(), org["id"], kind, body) is None:
            return _page(org, 404, error=_("Такой организации нет в реестре. Возможно, ссылка устарела."),
                         kind=kind, body=body)
    except BadReport as bad:
        message = {"kind": _("Выберите, что не так."),
                   "body": _("Напишите, что не так.") if len(body.strip()) <= MAX_TEXT
                   else _("Не больше %(n)s знаков, сейчас %(len)s.", n=MAX_TEXT, len=len(body.strip()))}[bad.field]
        return _page(org, 400, error=message, field=bad.field, kind=kind, body=body)
    get_session().commit()
    return _page(org, sent=True)


@bp.errorhandler(429)
def _too_many(error):
    """Only the report form is limited among the public pages."""
    return render_error(429, "too_many_requests", _("Сообщений с этого адреса или об этой организации слишком много. "
                                                    "Попробуйте позже или позвоните на горячую линию региона."),
                        translate=False)

