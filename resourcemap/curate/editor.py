"""The editor of one organization (new and existing) with its map, the conflict page and the carry-over of a
curator's edits onto a newer version, and the checks the editor's page asks while the curator types.
Thin: parse the form (forms.py), call registry/edit.py once per user action, show (present.py)."""
from __future__ import annotations

import json
import math
from collections import defaultdict

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import maps
from ..api.routes import settlement_view
from ..registry.vocabulary import CONDITIONS, COST_BASES, COSTS
from ..api.staff import audit_document_view
from ..auth.policy import current_viewer, staff_page
from ..db import committed, get_session
from ..errors import N_, render_error
from ..limits import is_id
from ..public.i18n import place_label
from ..registry import edit
from ..registry.phones import BadPhone, to_e164
from ..search.settlements import place_of_point, search_settlements, settlement_by_id
from ..search.phones import national_format
from . import bp
from .forms import (WEEKDAYS, ActionForm, Editor, FieldProblem, blank_location, blank_phone, blank_service, compact,
                    document_from_editor, editor_from_document, editor_from_form, new_editor)
from ..data.listing import region_center
from .merge import merge
from .present import DELIVERY_NAMES, PHONE_KINDS, STATUS_NAMES, conflict_sections, moscow_time, translated
from .routes import CURATORS, editable_document, editable_regions, kind_list, kind_names, region_names

STATUS_ACTIONS = {"publish": "published", "draft": "draft", "deactivate": "inactive"}
ADD_ROW = {"add_location": ("locations", blank_location), "add_service": ("services", blank_service),
           "add_phone": ("phones", blank_phone)}
SAVED = {"save": N_("Изменения сохранены."), "publish": N_("Сохранено и опубликовано: организация видна на карте."),
         "draft": N_("Сохранено; организация снята с карты и возвращена в черновики."),
         "deactivate": N_("Сохранено; организация отмечена как не действующая и снята с карты."),
         "verify": N_("Сохранено; отмечено, что данные проверены сегодня.")}
CREATED = {"save": N_("Организация добавлена в черновики: на карте её пока не видно."),
           "publish": N_("Организация добавлена и опубликована: она видна на карте."),
           "verify": N_("Организация добавлена в черновики; отмечено, что данные проверены сегодня.")}


# --- the page ------------------------------------------------------------------------------------------------
def _settlement_labels(editor: Editor) -> None:
    """The settlement's "name — district, region" beside each location that has one."""
    for row in editor.locations:
        sid = row.get("settlement_id", "")
        if is_id(sid) and not row.get("settlement_label"):
            settlement = settlement_by_id(get_session(), int(sid))
            row["settlement_label"] = place_label(settlement_view(settlement)) if settlement else ""


def _typed_settlements(editor: Editor) -> list:
    """A settlement typed but not picked from the suggestions (no JavaScript, or typed past them): look it up by
    name, in the organization's region first; a place with no coordinates yet is put at its centre."""
    problems = []
    for i, row in enumerate(editor.locations):
        typed = (row.get("settlement_label") or "").split(" — ")[0].strip()
        if row.get("settlement_id") or not typed:
            continue
        region = editor.org.get("region_code") or None
        found = search_settlements(get_session(), typed, region, 1) or search_settlements(get_session(), typed, None, 1)
        if not found:
            problems.append(FieldProblem(f"locations[{i}].settlement_id", "unknown_settlement",
                                     _("Не нашли населённый пункт «%(name)s»: выберите из подсказок или "
                                       "поставьте точку на карте.", name=typed[:60])))
            continue
        row["settlement_id"], row["settlement_label"] = str(found[0]["id"]), ""
        if not row.get("lat") and not row.get("lon"):
            row["lat"], row["lon"] = f"{found[0]['lat']:.6f}", f"{found[0]['lon']:.6f}"
    return problems


def _editor_page(editor: Editor, *, org_id: int | None, stored: dict | None, problems=(), status: int = 200,
                 base: str | None = None):
    """The editor. `base` is the document as the curator first opened it (JSON, kept in the form), which a later
    conflict needs to tell the curator's changes from a colleague's."""
    _settlement_labels(editor)
    by_field: dict[str, list[str]] = defaultdict(list)
    summary = []
    for p in problems:
        name = editor.field_name(p.field)
        by_field[name].append(p.message)
        summary.append({"field": name, "message": p.message})
    outside = any(getattr(p, "code", "") == "outside_region" for p in problems)
    org_region = editor.org.get("region_code") or ""
    return render_template(
        "curate/editor.html", ed=editor, org_id=org_id, stored=stored, problems=by_field, summary=summary,
        outside=outside, kinds=kind_list(), weekdays=[(day, _(name)) for day, name in WEEKDAYS],
        deliveries=translated(DELIVERY_NAMES), phone_kinds=translated(PHONE_KINDS), statuses=translated(STATUS_NAMES),
        form=ActionForm(),
        tile_url=current_app.config["TILE_URL"], attribution=maps.attribution(),
        center=region_center(get_session(), org_region), region_names=region_names(),
        blank={"location": blank_location(), "service": blank_service(), "phone": blank_phone()},
        needs_conditions=CONDITIONS, needs_costs=COSTS, needs_cost_bases=COST_BASES,
        base=request.form.get("base", "") if base is None else base), status


@bp.get("/org/new")
@staff_page(*CURATORS)
def new():
    regions = editable_regions(current_viewer())
    wanted = (request.args.get("region") or "").upper()
    region = wanted if wanted in {r["code"] for r in regions} else (regions[0]["code"] if regions else "")
    return _editor_page(new_editor(region), org_id=None, stored=None)[0]


@bp.get("/org/<int:org_id>")
@staff_page(*CURATORS)
def organization(org_id: int):
    doc = editable_document(org_id)
    audit_document_view(current_viewer(), doc)
    return _editor_page(editor_from_document(doc), org_id=org_id, stored=doc, base=_base_json(doc))[0]


def _base_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, default=str, separators=(",", ":"))


def _posted_base() -> dict | None:
    """The document the curator started from, as the form kept it; None if missing or unreadable."""
    try:
        base = json.loads(request.form.get("base") or "null")
    except ValueError:
        return None
    return base if isinstance(base, dict) and isinstance(base.get("locations"), list) else None


def _rerender(editor: Editor, action: str, org_id: int | None, stored: dict | None):
    """Actions that only change the form (add a row without JavaScript, review after a conflict)."""
    if action in ADD_ROW:
        kind, blank = ADD_ROW[action]
        getattr(editor, kind).append(blank())
    return _editor_page(editor, org_id=org_id, stored=stored)


def _apply_action(session, org_id: int, action: str, status: str, version: int | None, viewer) -> None:
    """After the document is written, the button's own part: a new status (publish, back to draft, deactivate) when
    it differs from `status`, or "checked today"; `version` is the one just written (None: read it)."""
    if action in STATUS_ACTIONS and STATUS_ACTIONS[action] != status:
        if version is None:
            version = edit.organization_document(session, org_id)["version"]
        edit.set_status(session, org_id, STATUS_ACTIONS[action], version, viewer)
    elif action == "verify":
        edit.mark_verified(session, org_id, viewer)


@bp.post("/org/new")
@staff_page(*CURATORS)
def create():
    viewer = current_viewer()
    action = request.form.get("action", "save")
    editor = editor_from_form(request.form)
    if action in ADD_ROW or action == "review":
        return _rerender(editor, action, None, None)
    editor = compact(editor)
    typed = _typed_settlements(editor)
    doc, problems = document_from_editor(editor)
    problems += typed
    doc.update(id=None, version=None, status="draft")
    if problems:
        return _editor_page(editor, org_id=None, stored=None, problems=problems, status=422)
    try:
        with committed(get_session()) as session:
            org_id = edit.create_document(session, doc, viewer, region_exception_reason=editor.reason or None,
                                          change_note=editor.note)
            _apply_action(session, org_id, action, "draft", None, viewer)
    except edit.InvalidDocument as invalid:
        return _editor_page(editor, org_id=None, stored=None, problems=invalid.problems, status=422)
    flash(_(CREATED.get(action, CREATED["save"])), "ok")
    return redirect(url_for("curate.organization", org_id=org_id))


@bp.post("/org/<int:org_id>")
@staff_page(*CURATORS)
def save(org_id: int):
    viewer = current_viewer()
    stored = editable_document(org_id)
    action = request.form.get("action", "save")
    editor = editor_from_form(request.form)
    if action == "review":
        return _carry_over(editor, org_id, stored)
    if action in ADD_ROW or action == "back":
        return _rerender(editor, action, org_id, stored)
    if action == "deactivate" and request.form.get("confirmed") != "1":
        return _confirm_deactivation(org_id, stored)
    editor = compact(editor)
    typed = _typed_settlements(editor)
    doc, problems = document_from_editor(editor)
    problems += typed
    doc["id"] = org_id
    if doc["version"] is None:
        problems.append(FieldProblem("version", "version", _("Форма без номера версии: откройте запись заново.")))
    if problems:
        return _editor_page(editor, org_id=org_id, stored=stored, problems=problems, status=422)
    try:
        with committed(get_session()) as session:
            version = edit.save_document(session, org_id, doc, doc["version"], viewer,
                                         region_exception_reason=editor.reason or None, change_note=editor.note)
            _apply_action(session, org_id, action, stored["status"], version, viewer)
    except edit.Conflict as conflict:
        return _conflict_page(org_id, conflict, doc, editor)
    except edit.InvalidDocument as invalid:
        return _editor_page(editor, org_id=org_id, stored=stored, problems=invalid.problems, status=422)
    flash(_(SAVED.get(action, SAVED["save"])), "ok")
    return redirect(url_for("curate.organization", org_id=org_id))


def _carry_over(editor: Editor, org_id: int, stored: dict):
    """After a conflict: the curator's changes (against the version they opened) applied to the stored version,
    in the editor for review; nothing is saved yet."""
    base = _posted_base()
    mine, problems = document_from_editor(compact(editor))
    if base is None or problems:
        editor.org["version"] = str(stored["version"])
        flash(_("Ваша версия открыта поверх версии %(v)s: сравните с сохранённой и сохраните.", v=stored["version"]),
              "bad")
        return _editor_page(editor, org_id=org_id, stored=stored, base=_base_json(stored))
    merged = editor_from_document(merge(base, stored, mine))
    merged.reason, merged.note = editor.reason, editor.note
    flash(_("Ваши изменения перенесены на версию %(v)s; изменения коллеги сохранены. "
            "Проверьте и нажмите «Сохранить».", v=stored["version"]), "ok")
    return _editor_page(merged, org_id=org_id, stored=stored, base=_base_json(stored))


def _posted_fields(*left_out: str) -> list[tuple[str, str]]:
    """The curator's form as posted, (name, value) pairs, for a page that carries it on hidden to the next step."""
    return [(k, v) for k in request.form.keys() if k not in ("csrf_token", "action", *left_out)
            for v in request.form.getlist(k)]


def _confirm_deactivation(org_id: int, stored: dict):
    """«Больше не действует» asks first, on a page of its own (no JavaScript needed): what will happen, with the
    curator's form carried on, so that «Да» saves it and deactivates, «Нет» goes back to it."""
    return render_template("curate/deactivate.html", org_id=org_id, stored=stored, posted=_posted_fields(),
                           form=ActionForm(), statuses=translated(STATUS_NAMES))


def _conflict_page(org_id: int, conflict, yours: dict, editor: Editor):
    """Someone saved this organization since the curator opened it: both versions side by side; the curator's
    form comes along (hidden) so that it can be reviewed on top of the new version, or dropped."""
    current = getattr(conflict, "current", None) or getattr(conflict, "current_document", None) or \
        edit.organization_document(get_session(), org_id)
    settlements: dict[int, str] = {}
    for loc in (current.get("locations") or []) + (yours.get("locations") or []):
        sid = loc.get("settlement_id")
        if sid and sid not in settlements:
            row = settlement_by_id(get_session(), sid)
            settlements[sid] = row["name"] if row else str(sid)
    sections = conflict_sections(current, yours, kind_names(), region_names(), settlements, _posted_base())
    posted = _posted_fields("version")
    latest = edit.history(get_session(), org_id, limit=1)
    changed_by = (_("сохранил(а) %(who)s, %(at)s", who=latest[0]["actor_email"] or _("система"),
                    at=moscow_time(latest[0]["at"])) if latest else None)
    return render_template("curate/conflict.html", org_id=org_id, current=current, yours=yours,
                           sections=sections, posted=posted, form=ActionForm(), changed_by=changed_by,
                           statuses=translated(STATUS_NAMES)), 409



# --- checks the editor asks while the curator types ------------------------------------------------------------
@bp.get("/check/point")
@staff_page(*CURATORS)
def check_point():
    """Where is this point: its region (and whether the curator may place an entry there), the nearest
    settlement."""
    try:
        lat, lon = float(request.args.get("lat", "")), float(request.args.get("lon", ""))
    except ValueError:
        return render_error(400, "invalid", _("Нужны широта и долгота."), "lat", json=True)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return render_error(400, "invalid", _("Координаты вне допустимого диапазона."), "lat", json=True)
    region, settlement = place_of_point(get_session(), lat, lon)
    viewer = current_viewer()
    names = region_names()
    may = bool(region) and viewer.may_edit_region(region)
    if not region:
        message = _("Точка вне известных регионов России и Казахстана.")
    elif may:
        message = names.get(region, region)
    else:
        message = _("Точка в регионе «%(region)s» — это не ваш регион. Если место действительно "
                    "там, подтвердите исключение и укажите причину внизу формы.", region=names.get(region, region))
    return jsonify({"region": {"code": region, "name": names.get(region, region)} if region else None,
                    "may_edit": may, "message": message,
                    "settlement": settlement_view(settlement) if settlement else None})


@bp.get("/check/phone")
@staff_page(*CURATORS)
def check_phone():
    """A phone as it will be stored (E.164) and dialled (national format), or why it is not a phone."""
    raw = (request.args.get("number") or "").strip()[:40]
    country = "KZ" if (request.args.get("region") or "").upper().startswith("KZ") else "RU"
    if not raw:
        return jsonify({"ok": False, "message": _("Введите номер.")})
    try:
        e164 = to_e164(raw, country)
    except BadPhone:
        return jsonify({"ok": False, "message": _("Не похоже на телефонный номер: проверьте код города и число цифр.")})
    return jsonify({"ok": True, "e164": e164, "display": national_format(e164), "message": national_format(e164)})
