"""The families' problem reports for curators: the queue of open reports of their regions, resolved one by one as
confirmed (the record is marked for re-checking) or rejected, with a note (registry/reports.py)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth.policy import current_viewer, may_edit_every_region, staff_page
from ..db import get_session
from ..errors import render_error
from ..limits import MAX_ID
from ..registry import reports as registry_reports
from . import bp
from .forms import ActionForm
from .routes import CURATORS, editable_regions, region_names


def report_kind_names() -> dict[str, str]:
    return {"no_answer": _("Телефон не отвечает"), "wrong_address": _("Адрес указан неверно"),
            "closed": _("Организация или услуга закрылась"), "other": _("Другое")}


def viewer_regions() -> list[str] | None:
    """The regions whose reports the viewer sees: every region for an admin (None), a curator's own."""
    viewer = current_viewer()
    return None if may_edit_every_region(viewer) else [r["code"] for r in editable_regions(viewer)]


@bp.get("/reports")
@staff_page(*CURATORS)
def reports():
    rows = registry_reports.open_reports(get_session(), viewer_regions())
    return render_template("curate/reports.html", rows=rows, kinds=report_kind_names(), regions=region_names(),
                           form=ActionForm())


@bp.post("/reports/<int:report_id>/resolve")
@staff_page(*CURATORS)
def resolve_report(report_id: int):
    """Resolve one report (the CSRF token is checked before, app-wide; another region's report: 403)."""
    session = get_session()
    if report_id > MAX_ID:
        return render_error(404, "not_found", _("Такого сообщения нет."), json=False, template="curate/error.html",
                            translate=False)
    try:
        done = registry_reports.resolve_report(session, report_id, request.form.get("resolution", ""),
                                               request.form.get("note", ""), current_viewer())
    except registry_reports.BadReport as bad:
        session.rollback()
        flash(bad.args[0], "bad")
        return redirect(url_for("curate.reports"))
    session.commit()
    flash(_("Сообщение подтвердилось: запись отмечена для перепроверки.") if done["resolution"] == "confirmed"
          else _("Сообщение не подтвердилось и закрыто."), "ok")
    return redirect(url_for("curate.reports"))
