"""Spreadsheet import and export pages: upload a file for one of the curator's regions, read the dry run row by
row, apply it; download a region as CSV, GeoJSON or Open Referral HSDS.

Between the dry run and "apply" the uploaded file waits in the database (pending_import, migration 0022: any app
instance behind a load balancer can apply what another checked) under the SHA-256 of a random token, with who
uploaded it for which region; "apply" reads that file again (never anything the browser sends back but the token)
and checks the same rights again, and takes it in the import's own transaction. Files older than a day are
removed."""
from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from flask import Response, abort, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _

from ..auth import audit
from ..auth.policy import Forbidden, current_viewer, may_export_all, staff_page
from ..data import pending_imports
from ..db import committed, get_session
from ..errors import N_
from ..exchange import (FORMATS, ExportError, ImportFileError, ImportRejected, apply_import, export_region,
                        plan_import, read_table)
from . import bp
from .forms import ActionForm
from .routes import CURATORS, editable_regions, region_names

KEEP_UPLOADS_S = 24 * 3600
SHOWN_ROWS = 500  # rows of a dry-run report listed one by one (the rows with problems always are)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
ACTION_NAMES = {"create": N_("будет добавлена"), "update": N_("будет обновлена"), "unchanged": N_("без изменений"),
                "error": N_("ошибка")}  # translated where shown
DONE_NAMES = {"create": N_("добавлено"), "update": N_("обновлено"), "unchanged": N_("без изменений"),
              "error": N_("ошибка")}
FORMAT_NAMES = {
    "csv": (N_("Таблица CSV"), N_("Открывается в Excel и LibreOffice; тот же формат, что у загрузки.")),
    "geojson": ("GeoJSON", N_("Точки для ГИС (QGIS) и веб-карт.")),
    "hsds-json": ("Open Referral HSDS 3.0, JSON", N_("Стандарт обмена данными о социальных услугах.")),
    "hsds-csv": (N_("Open Referral HSDS 3.0, CSV-пакет"), N_("Архив ZIP: таблицы HSDS и datapackage.json.")),
}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _templates() -> list[dict]:
    """The template files curators may download (data/templates/), by name."""
    folder = Path(current_app.root_path).parent / "data" / "templates"
    if not folder.is_dir():
        return []
    return [{"name": p.name, "size_kb": max(1, p.stat().st_size // 1024)} for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".")]


def _region_param(value: str | None) -> str:
    """A region the curator may import into, else 403."""
    code = (value or "").strip().upper()
    if code not in {r["code"] for r in editable_regions(current_viewer())}:
        raise Forbidden(_("Этот регион вы не курируете: загрузка в него недоступна."))
    return code


def _upload_page(message: str | None = None, status: int = 200, region: str | None = None):
    regions = editable_regions(current_viewer())
    return render_template("curate/import.html", regions=regions, region=region, message=message,
                           templates=_templates(), form=ActionForm()), status


@bp.get("/import")
@staff_page(*CURATORS)
def import_upload():
    return _upload_page(region=(request.args.get("region") or "").upper() or None)[0]


@bp.post("/import")
@staff_page(*CURATORS)
def import_check():
    """The dry run: what each row would do, and every problem with its row and column. Nothing is written."""
    region = _region_param(request.form.get("region"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page(_("Выберите файл: таблицу CSV или XLSX, или GeoJSON."), 400, region)
    data = upload.read()
    if not data:
        return _upload_page(_("Файл пустой."), 400, region)
    try:
        table = read_table(upload.filename, data)
    except ImportFileError as bad:
        return _upload_page(_("Файл не прочитан: %(why)s", why=bad), 422, region)
    viewer = current_viewer()
    session = get_session()
    plan = plan_import(session, table, region, viewer)
    session.rollback()  # the dry run writes nothing to the registry; leave no transaction open
    token = None
    if plan.ok and (plan.counts["create"] or plan.counts["update"]):
        token = secrets.token_urlsafe(32)
        pending_imports.forget_older_than(session, KEEP_UPLOADS_S)
        pending_imports.keep(session, _token_hash(token), viewer.account_id, region, upload.filename, data)
        session.commit()
    return _report_page(plan, token=token, status=200 if plan.ok else 422)


def _report_page(plan, *, token: str | None, status: int, applied: bool = False):
    by_row: dict[int | None, list] = {}
    for p in plan.problems:
        by_row.setdefault(p.row, []).append(p)
    rows = [{"row": r.row, "action": r.action, "external_id": r.external_id, "organization": r.organization,
             "changes": plan.changed_columns(r), "problems": by_row.get(r.row, [])} for r in plan.rows]
    listed = [r for r in rows if r["problems"] or r["action"] == "error"]
    others = [r for r in rows if not (r["problems"] or r["action"] == "error")]
    shown = sorted(listed + others[:max(0, SHOWN_ROWS - len(listed))], key=lambda r: r["row"])
    known_rows = {r.row for r in plan.rows}
    orphan = [p for row, ps in by_row.items() if row is not None and row not in known_rows for p in ps]
    return render_template(
        "curate/import_report.html", plan=plan, rows=shown, hidden=len(rows) - len(shown), with_problems=len(listed),
        problem_kinds=plan.problem_kinds(), file_problems=by_row.get(None, []) + orphan, token=token,
        applied=applied,
        names=DONE_NAMES if applied else ACTION_NAMES, region_name=region_names().get(plan.region_code, ""),
        form=ActionForm()), status


@bp.post("/import/apply")
@staff_page(*CURATORS)
def import_apply():
    """Apply the file of a dry run, all or nothing; the history records it as "import <file>"."""
    token = request.form.get("token", "")
    viewer = current_viewer()
    session = get_session()
    pending = (pending_imports.take(session, _token_hash(token), viewer.account_id, KEEP_UPLOADS_S)
               if TOKEN.match(token) else None)
    if pending is None:
        someone_else = TOKEN.match(token) and pending_imports.owner(session, _token_hash(token), KEEP_UPLOADS_S)
        session.rollback()
        if someone_else:
            abort(404, _("Такой проверки файла нет."))
        return _upload_page(_("Эта проверка файла устарела или уже применена. Загрузите файл ещё раз."), 410)
    try:
        with committed(session):  # the import and the file taken, together: applied once
            region = _region_param(pending.region_code)
            plan = apply_import(session, read_table(pending.filename, pending.data), region, viewer)
    except ImportRejected as rejected:  # rolled back: the file stays for another try, as the registry does
        return _report_page(rejected.plan, token=None, status=409)
    return _report_page(plan, token=None, status=200, applied=True)


@bp.get("/import/template/<name>")
@staff_page(*CURATORS)
def import_template(name: str):
    if name not in {t["name"] for t in _templates()}:
        abort(404, _("Такого шаблона нет."))
    return send_file(Path(current_app.root_path).parent / "data" / "templates" / name, as_attachment=True,
                     download_name=name)


@bp.get("/export")
@staff_page(*CURATORS)
def export():
    """The export form; with `format` (and `region`) the file itself."""
    viewer = current_viewer()
    regions = editable_regions(viewer)
    fmt = request.args.get("format")
    if not fmt:
        return render_template("curate/export.html", regions=regions, formats=FORMAT_NAMES, message=None,
                               admin=may_export_all(viewer))
    region = (request.args.get("region") or "").strip().upper()
    if region == "ALL" and may_export_all(viewer):
        codes = None
    elif region in {r["code"] for r in regions}:
        codes = [region]
    elif region in region_names() or region == "ALL":
        raise Forbidden(_("Этот регион вы не курируете: выгрузка недоступна."))
    else:
        return render_template("curate/export.html", regions=regions, formats=FORMAT_NAMES, admin=may_export_all(viewer),
                               message=_("Выберите регион из списка.")), 400
    if fmt not in FORMATS:
        return render_template("curate/export.html", regions=regions, formats=FORMAT_NAMES, admin=may_export_all(viewer),
                               message=_("Выберите формат из списка.")), 400
    session = get_session()
    try:
        data, content_type, filename = export_region(session, codes, fmt, viewer)
    except ExportError as bad:
        return render_template("curate/export.html", regions=regions, formats=FORMAT_NAMES, admin=may_export_all(viewer),
                               message=str(bad)), 400
    audit.record(session, "registry_export", account_id=viewer.account_id, email=viewer.email,
                 regions=codes or "all", format=fmt, path=url_for("curate.export"))
    session.commit()
    return Response(data, content_type=content_type,  # as the export says it (a mimetype= would add a charset)
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
