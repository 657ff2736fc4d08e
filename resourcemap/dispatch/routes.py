"""Views of the dispatch console. Thin: parse, call search/ (dispatch.py, gaps.py, settlements.py), shape with
present.py, render. The SQL lives in resourcemap/search/."""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import replace

from flask import Response, current_app, jsonify, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from .. import clock, maps
from ..api.routes import audit_confidential_views, settlement_match_view, settlement_view
from ..auth.policy import current_viewer, staff_api, staff_page
from ..db import get_session
from ..errors import N_, ApiError, render_error, stale_form_handler
from ..extensions import csrf
from ..limits import is_id
from ..public.i18n import LANGUAGES, MAIN_KINDS, place_label, place_name, region_display_name
from ..public.i18n import kinds
from ..question import Question, Wording, parse_coordinates, parse_nearest
from ..registry.vocabulary import CONDITIONS, COSTS, choices
from ..search import reference
from ..search.dispatch import log_place, nearest_by_kind, referral_services, schedules
from ..search.gaps import DISTANCES_KM, GapsQuery, count_within, gaps_csv, gaps_report, record_request
from ..search.nearest import far_limits, helplines, mark_far_rows
from ..search.settlements import AMBIGUOUS, FOUND, find_place, place_of_point, settlement_by_id
from . import bp
from .present import card_date, console_result, referral_item, referral_text
from .sms import sms

# Keys that toggle kinds of help (KeyboardEvent.code, so the keyboard layout does not matter) and their labels.
KIND_KEYS = [(f"Digit{d}", str(d)) for d in (1, 2, 3, 4, 5, 6, 7, 8, 9, 0)] + \
            [(f"Key{c}", c) for c in "QWETYU"]
PER_KIND = 5            # services per kind of help in the console (and counted in the request log)
SHOW_FAR = 3            # of a kind with nothing near, the nearest far ones shown (all are still logged)
MAX_REFERRAL = 12
SUGGESTIONS = 8         # places listed under "where is the family"
GAP_PERIODS = (30, 90, 365)


# --- errors: JSON for the console's calls, a page otherwise (errors.render_error; ApiError: the app's handler) ---
STALE_PAGE = N_("Страница устарела: обновите её (F5).")
bp.register_error_handler(CSRFError, stale_form_handler(N_("Форма устарела: обновите страницу."), STALE_PAGE))


# --- parsing ---------------------------------------------------------------------------------------------------
def _unreadable(**_v) -> str:
    return _("Неверное значение.")


def _out_of_range(**_v) -> str:
    return _("Значение вне допустимого диапазона.")


def _unknown_filter(name, **_v) -> str:
    return _("Неизвестное значение фильтра: %(name)s.", name=name)


# The console's words for a question it cannot take (question.py): JSON errors naming the field.
CONSOLE = Wording(says={
    "kinds.type": lambda **_v: _("Виды помощи: список кодов."),
    "kinds.unknown": lambda code, **_v: _("Неизвестный вид помощи: %(c)s.", c=code[:40]),
    "kinds.none": lambda **_v: _("Выберите хотя бы один вид помощи."),
    "age_months.invalid": _unreadable, "age_months.range": _out_of_range,
    "needs.unknown": _unknown_filter,
    "settlement.invalid": _unreadable, "settlement.range": _out_of_range,
    "origin.invalid": lambda **_v: _("Координаты: широта, долгота (например 55.78, 38.45)."),
    "point.invalid": lambda **_v: _("Нужно число."), "point.range": _out_of_range,
    "origin.none": lambda **_v: _("Укажите, где семья: населённый пункт или координаты."),
}, kinds="kinds", conditions="conditions", costs="costs", order=("kinds", "age", "needs", "origin"),
    codes={"kinds.unknown": "unknown_service"}, one_origin=True, origin_text=True)
WHERE = replace(CONSOLE, order=("origin",))  # the family's place alone (the referral card)


def console_kinds() -> list[dict]:
    """Kinds of help in console order (the main ones first), each with its toggle key and colour."""
    every = kinds()
    ordered = [k for code in MAIN_KINDS for k in every if k["code"] == code] + [k for k in every if not k["main"]]
    return [{**k, "key": KIND_KEYS[i][1] if i < len(KIND_KEYS) else "",
             "key_code": KIND_KEYS[i][0] if i < len(KIND_KEYS) else ""} for i, k in enumerate(ordered)]


def _origin(args) -> dict:
    """Where the family is: {"settlement": id} or {"lat", "lon"} (also "origin=lat,lon") -> the origin with its
    label, region and settlement."""
    return _located(parse_nearest(args, WHERE, ()))


def _located(asked: Question) -> dict:
    s = get_session()
    if asked.settlement_id is not None:
        settlement = settlement_by_id(s, asked.settlement_id)
        if settlement is None:
            raise ApiError(_("Такого населённого пункта нет в справочнике."), "settlement", code="not_found",
                           status=404)
        view = settlement_view(settlement)
        return {"lat": settlement["lat"], "lon": settlement["lon"], "region": settlement["region_code"],
                "settlement": view, "by_point": False, "label": place_label(view), "short": place_name(view),
                "timezone": settlement["timezone"]}
    lat, lon = asked.lat, asked.lon
    region, settlement = place_of_point(s, lat, lon)
    view = settlement_view(settlement) if settlement else None
    point = f"{lat:.5f}, {lon:.5f}"
    label = _("Точка %(p)s", p=point) + (" · " + _("рядом: %(l)s", l=place_label(view)) if view else "")
    return {"lat": lat, "lon": lon, "region": region, "settlement": view, "by_point": True, "label": label,
            "short": (_("рядом: %(n)s", n=place_name(view)) if view else point),
            "timezone": settlement["timezone"] if settlement else None}


def _origin_query(origin: dict) -> dict:
    if origin["by_point"]:
        return {"origin": f"{origin['lat']:.6f},{origin['lon']:.6f}"}
    return {"settlement": origin["settlement"]["id"]}


def _sal_param(raw: str | None) -> list[int]:
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not parts:
        raise ApiError(_("Выберите хотя бы одну службу."), "sal")
    if len(parts) > MAX_REFERRAL or not all(is_id(p) for p in parts):
        raise ApiError(_("Неверный список служб."), "sal")
    return [int(p) for p in parts]


# --- the console ---------------------------------------------------------------------------------------------
@bp.get("")
@staff_page()
def console():
    viewer = current_viewer()
    return render_template("dispatch/console.html", kinds=console_kinds(), tile_url=current_app.config["TILE_URL"],
                           conditions=choices(CONDITIONS, str(get_locale())), costs=choices(COSTS, str(get_locale())),
                           attribution=maps.attribution(), viewer=viewer,
                           leaflet=(current_app.static_folder and _has_leaflet()))


def _has_leaflet() -> bool:
    from pathlib import Path

    return (Path(current_app.static_folder) / "vendor" / "leaflet" / "leaflet.js").is_file()


@bp.get("/api/settlements")
@staff_api()
def api_settlements():
    """Suggestions for "where is the family": settlements (with district and region), or the typed coordinates.
    `place` says what became of the typed name: found (the first suggestion is it), ambiguous (several namesakes,
    listed first: the consultant chooses) or not_found (only similar names), with the line to show above them."""
    q = (request.args.get("q") or "").strip()[:100]
    if not q:
        return jsonify({"point": None, "results": []})
    coords = parse_coordinates(q)
    if coords:
        origin = _origin({"lat": coords[0], "lon": coords[1]})
        return jsonify({"point": {"lat": coords[0], "lon": coords[1], "label": origin["label"]}, "results": []})
    place = find_place(get_session(), q, None, SUGGESTIONS)
    rows = (place.namesakes if place.status == AMBIGUOUS else place.rows)[:SUGGESTIONS]
    message = (None if place.status == FOUND or not rows else
               _("Несколько мест «%(q)s» — выберите:", q=place.reading.name) if place.status == AMBIGUOUS else
               _("Нет места «%(q)s». Похожие:", q=q))
    regions = {r["code"]: region_display_name(r) for r in reference.regions(get_session())}
    results = [settlement_match_view(r) for r in rows]
    for view in results:  # the region's name in the console's language
        view["region"]["name"] = regions.get(view["region"]["code"], view["region"]["name"])
        view["label"] = place_label(view)
    return jsonify({"point": None, "place": {"status": place.status, "message": message}, "results": results})


@bp.post("/api/search")
@csrf.exempt  # checked below, after the sign-in check, so that the public gets 401 rather than a CSRF error
@staff_api()
def api_search():
    """The console's search: the nearest services of each asked kind, the region's online services; writes the
    anonymous request log row (one per consultation: `call` is the console's id of the current call)."""
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError:
        return render_error(400, "csrf", _(STALE_PAGE))
    started = time.perf_counter()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(_("Нужен JSON-объект."), None)
    asked = parse_nearest(body, CONSOLE, {t["code"] for t in reference.service_types(get_session())})
    types = list(asked.kinds)
    origin = _located(asked)
    db = get_session()
    q = asked.query(origin["lat"], origin["lon"], limit=PER_KIND,
                    outreach_equivalent_km=current_app.config["OUTREACH_EQUIVALENT_KM"])
    answer = nearest_by_kind(db, q, origin["region"])
    limits = far_limits(types, current_app.config["FAR_KM"], current_app.config["FAR_KM_BY_KIND"])
    nothing_near = {kind: mark_far_rows(answer.by_kind[kind], limits) for kind in types}
    lines = (helplines(db, q, origin["region"], exact=True, leave_out=frozenset(r["sal_id"] for r in answer.online))
             if any(nothing_near.values()) else [])
    rows = [r for rs in answer.by_kind.values() for r in rs] + answer.online + lines
    hours = schedules(db, {r["service_id"] for r in rows})
    now = clock.utc_now()
    viewer = current_viewer()

    found = {kind: count_within(answer.by_kind[kind]) for kind in types}
    _log_consultation(db, str(body.get("call") or "")[:64], origin, asked.age_months, found)
    audit_confidential_views(viewer, {r["location_id"] for r in rows if r["confidential"]})

    names = {k["code"]: k for k in console_kinds()}
    return jsonify({
        "origin": {"lat": origin["lat"], "lon": origin["lon"], "label": origin["label"], "short": origin["short"],
                   "region": origin["region"], "settlement": origin["settlement"], "by_point": origin["by_point"],
                   "query": _origin_query(origin)},
        "groups": [{"kind": kind, "name": names[kind]["name"], "key": names[kind]["key"],
                    "within_30": found[kind][0], "within_100": found[kind][1],
                    "nothing_near": nothing_near[kind], "far_km": round(limits[kind]),
                    "results": [dict(console_result(r, viewer, hours.get(r["service_id"], []), now), far=r["far"])
                                for r in _shown(answer.by_kind[kind])]} for kind in types],
        "online": [console_result(r, viewer, hours.get(r["service_id"], []), now) for r in answer.online],
        "helplines": [console_result(r, viewer, hours.get(r["service_id"], []), now) for r in lines],
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    })


def _log_consultation(db, call: str, origin: dict, age: int | None, found: dict) -> None:
    """The anonymous request log row of a search: one per consultation (`call` is the console's id of the current
    call: a search in the same call updates its row)."""
    place = log_place(db, settlement_id=origin["settlement"]["id"] if not origin["by_point"] else None,
                      lat=origin["lat"], lon=origin["lon"])
    previous = session.get("dispatch_call") or {}
    log_id = record_request(db, origin="point" if origin["by_point"] else "settlement", place=place,
                            age_months=age, found=found,
                            continue_id=previous.get("log") if call and previous.get("call") == call else None)
    db.commit()
    session["dispatch_call"] = {"call": call, "log": log_id}


def _shown(rows: list[dict]) -> list[dict]:
    """Rows worth reading out: the near ones (nearest.mark_far_rows), and at least the nearest SHOW_FAR."""
    return [r for i, r in enumerate(rows) if i < SHOW_FAR or not r["far"]]


# --- the referral card -----------------------------------------------------------------------------------------
def _referral(args) -> tuple[dict, list[dict], str, str]:
    """The chosen services as the family gets them: (origin, items, plain text, the card's date)."""
    sal_ids = _sal_param(args.get("sal"))
    origin = _origin(args)
    db = get_session()
    rows = referral_services(db, sal_ids, origin["lat"], origin["lon"])
    if not rows:
        raise ApiError(_("Выбранные службы не найдены в реестре."), "sal", code="not_found", status=404)
    hours = schedules(db, {r["service_id"] for r in rows})
    now = clock.utc_now()
    names = {k["code"]: k["name"] for k in console_kinds()}
    items = [referral_item(r, hours.get(r["service_id"], []), names, now) for r in rows]
    date = card_date(now, origin["timezone"], rows[0]["timezone"])
    return origin, items, referral_text(items, origin["short"], date), date


def card_language(args) -> str | None:
    """The language the family gets the card in (`card_lang=ru|kk|en`), if asked: the console's own stays."""
    lang = args.get("card_lang")
    return lang if lang in LANGUAGES else None


@bp.get("/api/referral")
@staff_api()
def api_referral():
    lang = card_language(request.args)
    with force_locale(lang) if lang else nullcontext():
        origin, items, text, _date = _referral(request.args)
        card_sms = sms(items)
    query = {"sal": ",".join(str(i["sal_id"]) for i in items), **_origin_query(origin),
             **({"card_lang": lang} if lang else {})}
    return jsonify({"text": text, "sms": card_sms, "items": items,
                    "print_url": url_for("dispatch.referral", **query)})


@bp.get("/referral")
@staff_page()
def referral():
    lang = card_language(request.args)
    with force_locale(lang) if lang else nullcontext():
        try:
            origin, items, text, date = _referral(request.args)
        except ApiError as error:  # the page in the card's language
            return render_error(error.status, error.code, error.message, translate=False)
        return render_template("dispatch/referral.html", origin=origin, items=items, text=text, today=date)


# --- the gaps report -------------------------------------------------------------------------------------------
def _gaps_query(args) -> GapsQuery:
    km = args.get("km", "30")
    km = int(km) if km.isdecimal() and len(km) <= 4 and int(km) in DISTANCES_KM else 30
    days = args.get("days", "90")
    days = int(days) if days.isdecimal() and len(days) <= 4 and int(days) in GAP_PERIODS else None
    region = (args.get("region") or "").strip().upper() or None
    if region and region not in {r["code"] for r in reference.regions(get_session())}:
        region = None
    service = (args.get("service") or "").strip() or None
    if service and service not in {t["code"] for t in reference.service_types(get_session())}:
        service = None
    return GapsQuery(within_km=km, days=days, region_code=region, service_type=service)


GAPS_HEADER = [N_("Код региона"), N_("Регион"), N_("Район"), N_("Запросов"), N_("Без помощи в радиусе"), N_("Доля, %"),
               N_("Населённые пункты (запросов без помощи)"), N_("Чего не нашлось (запросов)")]


@bp.get("/gaps")
@staff_page()
def gaps():
    q = _gaps_query(request.args)
    rows = gaps_report(get_session(), q)
    regions_out: list[dict] = []
    for r in rows:
        if not regions_out or regions_out[-1]["code"] != r["region_code"]:
            regions_out.append({"code": r["region_code"], "name": r["region_name"], "districts": []})
        regions_out[-1]["districts"].append(r)
    args = {"km": q.within_km, "days": q.days or "all", "region": q.region_code or "", "service": q.service_type or ""}
    return render_template("dispatch/gaps.html", q=q, regions=regions_out, periods=GAP_PERIODS,
                           distances=DISTANCES_KM, all_regions=reference.regions(get_session()), kinds=console_kinds(),
                           csv_url=url_for("dispatch.gaps_csv_export", **{k: v for k, v in args.items() if v}))


@bp.get("/gaps.csv")
@staff_page()
def gaps_csv_export():
    q = _gaps_query(request.args)
    body = gaps_csv(gaps_report(get_session(), q), [_(h) for h in GAPS_HEADER])
    name = f"gaps-{q.within_km}km-{clock.local_date(clock.MOSCOW).isoformat()}.csv"  # the consultants' date
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
