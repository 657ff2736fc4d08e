"""/coverage: where help is missing, for staff (issue 21). Curators study their regions, admins and dispatchers
every region (auth/policy.py coverage_regions). A kind of help, a region and a distance: the districts' map and
table, the worst-served settlements, and beside them the dispatch console's unmet requests of the same districts;
the district table as CSV and GeoJSON."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from flask_babel import gettext

from .. import clock
from ..auth.policy import coverage_regions, current_viewer, may_study_coverage_of, staff_page
from ..data.coverage_views import district_shapes, unmet_requests
from ..db import get_read_session
from ..errors import N_
from ..maps import attribution, static_assets
from ..public.i18n import kind_display, region_display_name
from ..search import reference
from . import DEFAULT_THRESHOLDS_KM, UNSERVED_KM
from .answer import for_viewer
from .present import district_rows, districts_csv, features, legend, map_script

bp = Blueprint("coverage", __name__, url_prefix="/coverage")

DEFAULT_KIND = "early_help"
DEFAULT_KM = 60
MAX_KM = 1000
LOG_DAYS = 365  # the request log's period beside the figures


@dataclass(frozen=True)
class Choice:
    service: str
    region: str | None
    km: int


class BadChoice(Exception):
    pass


def _engine():
    """The figures are read-only: a replica's when one will do (db.get_read_session)."""
    return get_read_session().get_bind()


def _regions() -> list[dict]:
    """The regions the viewer studies, as reference.regions has them, with their names in the page's language."""
    allowed = coverage_regions(current_viewer())
    return [{**r, "name": region_display_name(r)} for r in reference.regions(get_read_session())
            if allowed is None or r["code"] in allowed]


def _in_page_language(body: dict) -> dict:
    """The figures with the regions' names in the page's language (the API gives them in Russian)."""
    names = {r["code"]: region_display_name(r) for r in reference.regions(get_read_session())}
    for group in body["regions"] + body["districts"]:
        group["region_name"] = names.get(group["region_code"], group["region_name"])
    return body


def _choice(args) -> Choice:
    """The kind, region and distance asked; BadChoice for an unknown one, 403 for a region the viewer does not
    study."""
    service = (args.get("service") or DEFAULT_KIND).strip()
    if service not in {t["code"] for t in reference.service_types(get_read_session())}:
        raise BadChoice(N_("Такого вида помощи нет."))
    region = (args.get("region") or "").strip().upper() or None
    if region and region not in {r["code"] for r in reference.regions(get_read_session())}:
        raise BadChoice(N_("Такого региона нет."))
    if region and not may_study_coverage_of(current_viewer(), region):
        abort(403)
    km = (args.get("threshold_km") or str(DEFAULT_KM)).strip()
    if not km.isdecimal() or not 1 <= int(km) <= MAX_KM:
        raise BadChoice(N_("Расстояние — целое число километров от 1 до 1000."))
    return Choice(service, region, int(km))


def _district_rows(choice: Choice) -> tuple[dict, list[dict]]:
    """The figures as the viewer may see them, and the region's district rows with the request log beside."""
    thresholds = sorted({*DEFAULT_THRESHOLDS_KM, float(choice.km)})
    body = _in_page_language(for_viewer(_engine(), current_viewer(), choice.service, choice.region, thresholds))
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=LOG_DAYS)
    with _engine().connect() as conn:
        unmet = [dict(r) for r in unmet_requests(conn, choice.service, choice.region, log_km(choice.km), since)]
    return body, district_rows(body, float(choice.km), unmet)


def _overview(choice: Choice) -> list[dict]:
    """The regions the viewer studies, with their children beyond the distance (no region chosen yet)."""
    allowed = {r["code"] for r in _regions()}
    body = _in_page_language(for_viewer(_engine(), current_viewer(), choice.service, None, [float(choice.km)]))
    rows = []
    for group in body["regions"]:
        if group["region_code"] in allowed:
            far = group["beyond"][f"{float(choice.km):g}"]
            rows.append({**group, "far": far, "share": far["children"] / group["children"] if group["children"]
                         else None})
    return rows


def log_km(km: int) -> int:
    """The distance of the request log (30 or 100 km) that answers for `km`."""
    return 30 if km <= 30 else 100


def _args(choice: Choice) -> dict:
    return {"service": choice.service, "region": choice.region, "threshold_km": choice.km}


def _bad(error: BadChoice):
    return render_template("error.html", status=400, message=gettext(str(error))), 400


@bp.get("")
@staff_page()
def index():
    try:
        choice = _choice(request.args)
    except BadChoice as error:
        return _bad(error)
    kinds = [{**t, "name": kind_display(t)[0]} for t in reference.service_types(get_read_session())]
    page = {"choice": choice, "kinds": kinds, "regions": _regions(), "unserved_km": UNSERVED_KM,
            "kind_name": next(t["name"] for t in kinds if t["code"] == choice.service),
            "log_km": log_km(choice.km), "log_days": LOG_DAYS, "legend": legend(choice.km)}
    if choice.region is None:
        return render_template("coverage/index.html", **page, body=None, rows=[], overview=_overview(choice))
    body, rows = _district_rows(choice)
    with _engine().connect() as conn:
        shapes = district_shapes(conn, choice.region)
    scripts, styles = static_assets()
    unmet = {row["district_id"]: row["unmet"] for row in rows}
    return render_template(
        "coverage/index.html", **page, body=body, rows=rows, unmet=unmet,
        missing=[row for row in rows if row["missing"]], thresholds=body["thresholds_km"],
        map_script=map_script(rows, shapes, float(choice.km), current_app.config["TILE_URL"], attribution()),
        map_scripts=scripts[:1], map_styles=styles[:1],
        csv_url=url_for("coverage.districts_csv_export", **_args(choice)),
        geojson_url=url_for("coverage.districts_geojson", **_args(choice)))


def _download():
    """(choice, rows) of a download; BadChoice without a region."""
    choice = _choice(request.args)
    if choice.region is None:
        raise BadChoice(N_("Выберите регион."))
    return choice, _district_rows(choice)[1]


def _name(choice: Choice, ext: str) -> str:
    return f"coverage-{choice.service}-{choice.region}-{choice.km}km-{clock.local_date(clock.MOSCOW).isoformat()}.{ext}"


def _attachment(ext: str, mimetype: str, body) -> Response:
    """The district table of the chosen kind and region as a download: `body(choice, rows)` makes its text."""
    try:
        choice, rows = _download()
    except BadChoice as error:
        return _bad(error)
    return Response(body(choice, rows), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{_name(choice, ext)}"'})


def _geojson(choice: Choice, rows: list[dict]) -> str:
    with _engine().connect() as conn:
        return json.dumps(features(rows, district_shapes(conn, choice.region), float(choice.km)), ensure_ascii=False)


@bp.get("/districts.csv")
@staff_page()
def districts_csv_export():
    return _attachment("csv", "text/csv", lambda _choice, rows: districts_csv(rows))


@bp.get("/districts.geojson")
@staff_page()
def districts_geojson():
    return _attachment("geojson", "application/geo+json", _geojson)
