"""Views of the curators' registry: who may see what, the list of organizations, the stale list, the history
with one-click revert; the pages' error handlers. The editor is in editor.py, import and export in spreadsheets.py.
Thin: parse, call registry/edit.py or data/listing.py, show (present.py). One transaction per user action."""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from ..api.staff import audit_document_view
from ..auth.policy import EDITOR_ROLES, Viewer, current_viewer, may_edit_every_region, staff_page
from ..db import committed, get_session
from ..errors import N_, ApiError, render_error, stale_form_handler
from ..limits import MAX_ID, STALE_AFTER_DAYS, is_id
from ..public.i18n import kind_display, region_display_name
from ..registry import edit, reports
from ..search import reference
from ..search.phones import national_format
from . import bp
from .forms import ActionForm
from ..data.listing import PER_PAGE, ListFilter, registry_page
from .present import STATUS_NAMES, history_rows, translated

CURATORS = EDITOR_ROLES


# --- errors are pages (errors.render_error) -----------------------------------------------------------------------
PAGE = "curate/error.html"
bp.register_error_handler(CSRFError, stale_form_handler(
    N_("Форма устарела или открыта в другом окне входа: обновите страницу и повторите. Введённые данные не сохранены."),
    template=PAGE))


def _page(status: int, message: str):
    return render_error(status, "error", message, json=False, template=PAGE, translate=False)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    message = _("Эта запись относится к региону, который вам не назначен.") if error.status == 403 else error.message
    return _page(error.status, message)


@bp.errorhandler(edit.Forbidden)
def _forbidden(error):
    return _page(403, _("Этот регион вам не назначен: изменять его записи нельзя."))


@bp.errorhandler(edit.NotFound)
def _not_found(error):
    return _page(404, str(error) or _("Такой записи нет."))


@bp.errorhandler(403)
def _role_forbidden(error):
    return _page(403, _("Реестр ведут кураторы регионов и администраторы; вашей роли он недоступен."))


@bp.errorhandler(404)
def _page_not_found(error):
    return _page(404, getattr(error, "description", "") or _("Такой страницы нет."))


@bp.errorhandler(413)
def _too_large(error):
    return _page(413, _("Файл слишком большой. Разделите таблицу на части."))


@bp.app_template_filter("curate_date")
def curate_date(value) -> str:
    """A date (or its ISO text) as 24.11.2026."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y")


@bp.app_template_filter("curate_phone")
def curate_phone(number: str) -> str:
    return national_format(number) if number else ""


# --- who may do what -------------------------------------------------------------------------------------------
def all_regions() -> list[dict]:
    return reference.regions(get_session())


def region_names() -> dict[str, str]:
    """Every region's name in the page's language, by code."""
    return {r["code"]: region_display_name(r) for r in all_regions()}


def kind_names() -> dict[str, str]:
    """Every kind of help's name in the page's language, by code."""
    return {t["code"]: kind_display(t)[0] for t in reference.service_types(get_session())}


def kind_list() -> list[dict]:
    """The kinds of help for a page's choices: code and name in the page's language."""
    return [{"code": code, "name": name} for code, name in kind_names().items()]


def editable_regions(viewer: Viewer) -> list[dict]:
    """The regions whose registry this viewer edits: a curator's own, every region for an admin."""
    return [r for r in all_regions() if viewer.may_edit_region(r["code"])]


def editable_document(org_id: int) -> dict:
    """The organization's document, after the object-level check: 404 if none, 403 for another region."""
    doc = edit.organization_document(get_session(), org_id) if 0 < org_id <= MAX_ID else None
    if doc is None:
        abort(404, _("Такой организации нет в реестре."))
    if not current_viewer().may_edit_region(doc["region_code"]):
        raise ApiError("forbidden", None, code="forbidden", status=403)
    return doc


# --- the list --------------------------------------------------------------------------------------------------
def _list_filter(args, regions: list[str]) -> ListFilter:
    f = ListFilter(q=(args.get("q") or "").strip()[:100])
    region = (args.get("region") or "").strip().upper()
    f.region = region if region in regions else None
    kind = (args.get("kind") or "").strip()
    f.kind = kind if kind in kind_names() else None
    status = (args.get("status") or "").strip()
    f.status = status if status in STATUS_NAMES else None
    f.stale = (args.get("stale") or "") in ("1", "on")
    page = (args.get("page") or "1").strip()
    f.page = int(page) if page.isdecimal() and len(page) <= 5 and 0 < int(page) < 100000 else 1
    return f


@bp.get("")
@staff_page(*CURATORS)
def index():
    viewer = current_viewer()
    regions = editable_regions(viewer)
    codes = [r["code"] for r in regions]
    f = _list_filter(request.args, codes)
    rows, total = registry_page(get_session(), f, None if may_edit_every_region(viewer) else codes)
    pages = max(1, math.ceil(total / PER_PAGE))
    args = {"q": f.q or None, "region": f.region, "kind": f.kind, "status": f.status, "stale": "1" if f.stale else None}
    args = {k: v for k, v in args.items() if v}
    stale = edit.stale_organizations(get_session(), codes, days=STALE_AFTER_DAYS) if codes else []
    stale_by_region: dict[str, int] = defaultdict(int)
    for org in stale:
        stale_by_region[org.get("region_code")] += 1
    open_reports = defaultdict(int, reports.open_counts(get_session(), codes)) if codes else {}
    return render_template("curate/index.html", rows=rows, total=total, f=f, pages=pages, args=args,
                           regions=regions, kinds=kind_list(), kind_names=kind_names(), statuses=translated(STATUS_NAMES),
                           stale_by_region=stale_by_region, stale_days=STALE_AFTER_DAYS, open_reports=open_reports)


@bp.get("/stale")
@staff_page(*CURATORS)
def stale():
    """Per region, the entries nobody has checked for 180 days: whom to call first."""
    regions = editable_regions(current_viewer())
    rows = edit.stale_organizations(get_session(), [r["code"] for r in regions], days=STALE_AFTER_DAYS)
    by_region = {r["code"]: {"name": region_display_name(r), "code": r["code"], "orgs": []} for r in regions}
    for org in rows:
        if org.get("region_code") in by_region:
            by_region[org["region_code"]]["orgs"].append(org)
    return render_template("curate/stale.html", regions=[g for g in by_region.values() if g["orgs"]],
                           stale_days=STALE_AFTER_DAYS, total=len(rows), statuses=translated(STATUS_NAMES))


# --- history ---------------------------------------------------------------------------------------------------
@bp.get("/org/<int:org_id>/history")
@staff_page(*CURATORS)
def history(org_id: int):
    doc = editable_document(org_id)
    audit_document_view(current_viewer(), doc)  # old and new values show the confidential places exact
    changes = edit.history(get_session(), org_id)
    return render_template("curate/history.html", org=doc, org_id=org_id,
                           rows=history_rows(changes, kind_names(), region_names()), form=ActionForm(),
                           statuses=translated(STATUS_NAMES))


@bp.post("/org/<int:org_id>/history/<int:change_id>/revert")
@staff_page(*CURATORS)
def revert(org_id: int, change_id: int):
    viewer = current_viewer()
    doc = editable_document(org_id)
    session = get_session()
    if change_id > 2**62 or change_id not in {c["id"] for c in edit.history(session, org_id)}:
        abort(404, _("Такого изменения нет в истории этой организации."))
    version = request.form.get("version", "")
    expected = int(version) if is_id(version) else doc["version"]
    try:
        with committed(session):
            edit.revert_change(session, change_id, expected, viewer)
    except edit.Conflict:
        flash(_("Запись изменилась, пока открыта была история: проверьте изменения ниже и повторите."), "bad")
    except edit.InvalidDocument as invalid:
        flash(_("Вернуть это значение нельзя: %(why)s", why="; ".join(p.message for p in invalid.problems)), "bad")
    except (ValueError, LookupError) as error:
        flash(_("Вернуть это значение нельзя: %(why)s", why=error), "bad")
    else:
        flash(_("Значение возвращено. Возврат записан в историю как новое изменение."), "ok")
    return redirect(url_for("curate.history", org_id=org_id))
