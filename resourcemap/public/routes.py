"""The public pages for parents: the map with the nearest-help list (`/`), a page per organization
(`/org/<id>`), and the map's data for the visible area (`/map-data/locations`).

Views stay thin: parse the query, call a search/ function, show it through search/redaction (PUBLIC viewer), render.
Bad input gives a page with a plain message and the form, never a 500."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app, jsonify, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from .. import maps
from ..api.routes import ALTERNATIVES, PLACE_CANDIDATES, organization_view, settlement_view
from ..data.map import organization_extras, registry_has_synthetic
from ..data.organizations import organization_by_id
from ..db import get_read_session
from ..errors import ApiError, render_error
from ..limits import is_id
from ..question import Question, Wording, parse_nearest
from ..registry.vocabulary import CONDITIONS, COST_BASES, COSTS, choices
from ..registry.vocabulary import label as vocabulary_label
from ..search import reference
from ..search.map import BadBox, map_view, parse_bbox
from ..search.nearest import country_of, far_limits, helplines, mark_far, nearest_services
from ..search.settlements import AMBIGUOUS, FOUND, PlaceMatch, find_place
from ..search.redaction import PUBLIC, location_view, nearest_result_view
from . import bp
from .i18n import LANGUAGE_NAMES, kinds, page_lang, place_label, place_name, region_display_name

MAP_POINTS_LIMIT = 1500     # above this many locations in view, the map gets grid counts instead of points
MAP_GRID_CELLS = 8          # grid cells across the wider side of the view in that case
MAP_WIDE_GRID_DEG = 0.5     # views whose grid is this coarse get points only if the grid's whole cells hold few
AGE_CHOICES = [None, 6] + [12 * y for y in range(1, 18)]


def _settlement_unclear(**_v) -> str:
    return _("Не удалось понять, какой населённый пункт выбран. Найдите его по названию.")


def _age_unclear(**_v) -> str:
    return _("Возраст ребёнка: выберите из списка (от 0 до 18 лет).")


# The page's words for a question it cannot take (question.py); shown above the form, as is every not found.
PAGE = Wording(says={
    "settlement.invalid": _settlement_unclear, "settlement.range": _settlement_unclear,
    "place.bad": lambda **_v: _("Запрос содержит недопустимые символы или значения."),
    "point.half": lambda **_v: _("Для поиска по месту нужны обе координаты: широта и долгота."),
    "point.invalid": lambda name, **_v: _("Неверное значение %(name)s: нужна десятичная дробь.", name=name),
    "point.range": lambda name, **_v: _("Неверное значение %(name)s: вне допустимого диапазона.", name=name),
    "kinds.unknown": lambda code, **_v: _("Неизвестный вид помощи: %(code)s.", code=code[:40]),
    "age_months.invalid": _age_unclear, "age_months.range": _age_unclear,
    "needs.unknown": lambda what, code, **_v: (_("Неизвестное состояние ребёнка: %(code)s.", code=code[:40])
                                               if what == "condition" else
                                               _("Неизвестная стоимость: %(code)s.", code=code[:40])),
}, order=("origin", "kinds", "age", "options", "needs"), options=("open_now",), blank_is_absent=True,
    settlement_from=0, age_digits=3, skip_empty_codes=True)


class PlaceChoice(Exception):
    """A typed place that is not one settlement: the page offers the places it may be, never a guess."""

    def __init__(self, place: PlaceMatch):
        super().__init__(place.status)
        self.place = place


@dataclass
class Search:
    """The page's search as its form shows it (the question as asked, the found place filled in)."""

    settlement_id: int | None = None
    q: str = ""
    lat: float | None = None
    lon: float | None = None
    services: list[str] = field(default_factory=list)
    age_months: int | None = None
    open_now: bool = False
    conditions: list[str] = field(default_factory=list)  # the child's condition (registry/vocabulary.py)
    costs: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, question: Question) -> Search:
        return cls(settlement_id=question.settlement_id, q=question.place or "", lat=question.lat, lon=question.lon,
                   services=list(question.kinds), age_months=question.age_months, open_now=question.open_now,
                   conditions=list(question.conditions), costs=list(question.costs))

    @property
    def filtered(self) -> bool:
        """Whether the child's condition or the cost narrows the search."""
        return bool(self.conditions or self.costs)

    @property
    def asks(self) -> bool:
        return self.settlement_id is not None or bool(self.q) or self.lat is not None

    def query_args(self, **change) -> dict:
        args = {"settlement": self.settlement_id, "lat": self.lat, "lon": self.lon,
                "service": ",".join(self.services) or None, "age_months": self.age_months,
                "open_now": "1" if self.open_now else None, "condition": self.conditions or None,
                "cost": self.costs or None}
        if self.settlement_id is None and self.lat is None:
            args["q"] = self.q or None
        args.update(change)
        return {k: v for k, v in args.items() if v is not None}


def parse_search(args, known_kinds: set[str]) -> Search:
    """The page's query (question.parse_nearest in the page's words); ApiError for a part it cannot take."""
    return Search.of(parse_nearest(args, PAGE, known_kinds))


def _nearest(search: Search, all_kinds: list[str]) -> dict:
    """Find the family's place, then the nearest help. Returns what the page shows."""
    session = get_read_session()
    found: dict = {"origin": None, "alternatives": [], "results": [], "online": []}
    settlement_id, lat, lon = search.settlement_id, search.lat, search.lon
    if settlement_id is None and lat is None:
        place = find_place(session, search.q, None, PLACE_CANDIDATES)
        if place.status != FOUND and not place.candidates:
            raise ApiError(_("Не нашли «%(q)s». Проверьте название или напишите его иначе.", q=search.q), "q",
                           code="not_found", status=404)
        if place.status != FOUND:
            raise PlaceChoice(place)
        settlement_id = place.settlement["id"]
        found["alternatives"] = [settlement_view(r) for r in place.candidates[:ALTERNATIVES]]
    asked = Question(kinds=tuple(search.services or all_kinds), age_months=search.age_months,
                     open_now=search.open_now, conditions=tuple(search.conditions), costs=tuple(search.costs))
    q = asked.query(lat or 0.0, lon or 0.0, outreach_equivalent_km=current_app.config["OUTREACH_EQUIVALENT_KM"])
    answer = nearest_services(session, q, locate=True, settlement_id=settlement_id)
    if answer is None:
        raise ApiError(_("Такого населённого пункта нет в справочнике. Найдите его по названию."), "settlement",
                       code="not_found", status=404)
    config = current_app.config
    mark_far(answer, far_limits(q.service_types, config["FAR_KM"], config["FAR_KM_BY_KIND"]))
    lines = (helplines(session, q, answer.region_code, leave_out=frozenset(r["sal_id"] for r in answer.online))
             if answer.nothing_near else [])
    found["origin"] = {"lat": round(answer.lat, 5), "lon": round(answer.lon, 5), "region": answer.region_code,
                       "settlement": settlement_view(answer.settlement) if answer.settlement else None,
                       "by_point": search.lat is not None, "country": country_of(answer.region_code)}
    found["results"] = [nearest_result_view(r, PUBLIC) for r in answer.results]
    found["online"] = [nearest_result_view(r, PUBLIC) for r in answer.online]
    found.update(nothing_near=answer.nothing_near, abroad=answer.abroad,
                 far_km=round(max(answer.far_km.values())), helplines=[nearest_result_view(r, PUBLIC) for r in lines])
    return found


def place_choice(place: PlaceMatch, typed: str) -> dict:
    """What the page says of a typed place that is not one settlement, with the places it offers: the namesakes
    (ambiguous, 200) or the closest names (not found, 404)."""
    places = [settlement_view(r) for r in place.candidates[:PLACE_CANDIDATES]]
    if place.status == AMBIGUOUS:
        return {"status": 200, "error": None, "places": places,
                "title": _("Найдено несколько мест «%(q)s» — выберите:", q=place.reading.name)}
    return {"status": 404, "error": _("Не нашли «%(q)s». Возможно, вы имели в виду:", q=typed), "places": places,
            "title": None}


def _map_context() -> dict:
    scripts, styles = maps.static_assets()
    return {"map_script": maps.map_script(current_app.config["TILE_URL"], maps.attribution()), "map_scripts": scripts,
            "map_styles": styles, "map_var": maps.MAP_VAR, "cluster_var": maps.CLUSTER_VAR}


@bp.get("/")
def index():
    kind_list = kinds()
    codes = [k["code"] for k in kind_list]
    error, status, search, found, choice = None, 200, Search(), None, None
    try:
        search = parse_search(request.args, set(codes))
        if search.asks:
            found = _nearest(search, codes)
            if search.settlement_id is None and search.lat is None and found["origin"]["settlement"]:
                search.settlement_id = found["origin"]["settlement"]["id"]
                search.q = place_name(found["origin"]["settlement"])
    except ApiError as bad:  # the question or its place: said above the form
        error, status = bad.message, bad.status
    except PlaceChoice as asked:
        choice = place_choice(asked.place, search.q)
        error, status = choice["error"], choice["status"]
    if search.settlement_id is not None and not search.q and found and found["origin"]["settlement"]:
        search.q = place_name(found["origin"]["settlement"])
    results = (found or {}).get("results", []) + (found or {}).get("online", [])
    synthetic = any(r["organization"]["synthetic"] for r in results) or registry_has_synthetic(get_read_session())
    # The map first shows the family's place and the nearest results (public, redacted points) that are not far
    # beyond the first one.
    near = [r for r in (found or {}).get("results", []) if r["service"]["delivery"] != "online" and not r["far"]]
    reach = max(30.0, 2 * near[0]["distance_km"]) if near else 0
    focus = [[r["location"]["lat"], r["location"]["lon"]] for r in near[:3] if r["distance_km"] <= reach]
    return render_template("index.html", kinds=kind_list, kinds_by_code={k["code"]: k for k in kind_list},
                           search=search, found=found, error=error, synthetic=synthetic, focus=focus,
                           age_choices=AGE_CHOICES, choice=choice, conditions=needs(CONDITIONS), costs=needs(COSTS),
                           **_map_context()), status


def needs(vocabulary) -> list[dict]:
    """A vocabulary of registry/vocabulary.py in the page's language: [{"code", "name"}]."""
    return choices(vocabulary, current_lang())


@bp.app_template_global()
def needs_labels() -> dict[str, str]:
    """Every condition, cost and cost basis label in the page's language, by code (for the page's script)."""
    return {t.code: t.label(current_lang()) for t in CONDITIONS + COSTS + COST_BASES}


@bp.app_template_filter("needs_label")
def needs_label(code: str) -> str:
    """The label of a condition, cost or cost basis code in the page's language."""
    return vocabulary_label(code, current_lang())


def _schedule_lines(schedule: list[dict]) -> list[tuple[str, str]]:
    """Weekly hours grouped: [("Пн–Пт", "09:00–18:00"), ("Сб", "10:00–14:00")]."""
    names = [_("Пн"), _("Вт"), _("Ср"), _("Чт"), _("Пт"), _("Сб"), _("Вс")]
    by_day: dict[int, list[str]] = {}
    for slot in schedule:
        by_day.setdefault(slot["weekday"], []).append(
            f"{slot['opens_minute'] // 60:02d}:{slot['opens_minute'] % 60:02d}–"
            f"{slot['closes_minute'] // 60:02d}:{slot['closes_minute'] % 60:02d}")
    lines: list[tuple[list[int], str]] = []
    for day in range(1, 8):
        hours = ", ".join(by_day.get(day, [])) or None
        if hours and lines and lines[-1][1] == hours and lines[-1][0][-1] == day - 1:
            lines[-1][0].append(day)
        elif hours:
            lines.append(([day], hours))
    return [(names[d[0] - 1] + (f"–{names[d[-1] - 1]}" if len(d) > 1 else ""), h) for d, h in lines]


@bp.get("/org/<org_id>")
def organization(org_id: str):
    org = None
    if is_id(org_id):
        org = organization_by_id(get_read_session(), int(org_id))
    if org is None:
        return render_error(404, "not_found", _("Такой организации нет в реестре. Возможно, ссылка устарела."),
                            translate=False)
    view = organization_view(org, PUBLIC)
    extras = organization_extras(get_read_session(), org["id"])
    kind_list = kinds()
    return render_template("org.html", org=view, extras=extras,
                           kinds_by_code={k["code"]: k for k in kind_list},
                           schedule_lines=_schedule_lines, synthetic=view["synthetic"],
                           back=request.args.get("back", "") if request.args.get("back", "").startswith("/?") else "")


@bp.get("/map-data/locations")
def map_data_locations():
    """The published locations in the visible area, as the public sees them (redaction.location_view):
    {"mode": "points", "items": [{id, org, name, lat, lon, types, place, approximate, synthetic}]} or, when
    there are more than MAP_POINTS_LIMIT, {"mode": "clusters", "items": [{lat, lon, count}]}."""
    try:
        bbox = parse_bbox(request.args.get("bbox", ""))
    except BadBox as bad:
        return render_error(400, "invalid", str(bad), "bbox", json=True)
    codes = {k["code"] for k in kinds()}
    services = [c for c in (request.args.get("service") or "").split(",") if c]
    if any(c not in codes for c in services):
        return render_error(400, "invalid", "service: unknown kind of help", "service", json=True)
    view = map_view(get_read_session(), bbox, services, points_limit=MAP_POINTS_LIMIT, cells_across=MAP_GRID_CELLS,
                    wide_grid_deg=MAP_WIDE_GRID_DEG)
    if view["mode"] == "points":
        items = []
        for row in view["rows"]:
            loc = location_view(row, PUBLIC)
            items.append({"id": loc["id"], "org": row["organization_id"], "name": row["organization_name"],
                          "lat": loc["lat"], "lon": loc["lon"], "types": sorted(row["types"]),
                          "place": (loc["settlement"] or {}).get("name"),
                          "place_kk": (loc["settlement"] or {}).get("name_kk"),
                          "approximate": bool(loc["approximate"]), "synthetic": row["is_synthetic"]})
        body = {"mode": "points", "items": items}
    else:
        body = {"mode": "clusters", "items": [
            {"lat": round(c["lat"], 4), "lon": round(c["lon"], 4), "count": c["count"]} for c in view["cells"]]}
    response = jsonify(body)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.app_template_global()
def lang_url(lang: str) -> str:
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    return url_for(request.endpoint or "public.index", **(request.view_args or {}), **args)


@bp.app_template_global()
def country_name(code: str | None) -> str:
    return {"RU": _("Россия"), "KZ": _("Казахстан")}.get(code or "", code or "")


@bp.app_template_global()
def current_lang() -> str:
    return page_lang()


@bp.app_template_global()
def languages() -> list[tuple[str, str]]:
    """The language switcher's choices: (code, name in its own language)."""
    return list(LANGUAGE_NAMES.items())


@bp.app_template_global("place_name")
def place_name_global(place: dict | None) -> str:
    return place_name(place)


bp.add_app_template_global(place_label)


@bp.app_template_filter("km")
def format_km(value: float, approximate: bool = False) -> str:
    if approximate:  # a confidential place: whole kilometres from its published point, never "10 m"
        return "≈ " + _("%(km)s км", km=f"{max(1, round(value)):d}")
    if value < 1:
        text_ = _("%(m)s м", m=int(round(value * 1000, -1)) or 10)
    elif value < 10:
        text_ = _("%(km)s км", km=f"{value:.1f}".replace(".", "." if current_lang() == "en" else ","))
    else:
        text_ = _("%(km)s км", km=f"{round(value):d}")
    return text_


@bp.app_template_filter("age_label")
def age_label(months: int | None) -> str:
    if months is None:
        return _("любой")
    if months < 12:
        return _("до 1 года")
    years = months // 12
    return _("%(n)s год", n=years) if years % 10 == 1 and years != 11 else (
        _("%(n)s года", n=years) if years % 10 in (2, 3, 4) and years not in (12, 13, 14) else _("%(n)s лет", n=years))


def _age_genitive(months: int) -> str:
    """"6 месяцев", "1 года", "3 лет" (after "до"/"от"); English "6 months", "1 year", "3 years"."""
    by_months = months < 24 and months % 12
    n = months if by_months else months // 12
    one = n == 1 if current_lang() == "en" else (n % 10 == 1 and n % 100 != 11)
    if by_months:
        return _("%(n)s месяца", n=n) if one else _("%(n)s месяцев", n=n)
    return _("%(n)s года", n=n) if one else _("%(n)s лет", n=n)


@bp.app_template_filter("age_range")
def age_range(service: dict) -> str:
    lo, hi = service.get("age_min_months"), service.get("age_max_months")
    if lo is None and hi is None:
        return _("любой возраст")
    if lo in (None, 0) and hi is not None:
        return _("от рождения до %(hi)s", hi=_age_genitive(hi))
    if hi is None:
        return _("от %(lo)s", lo=_age_genitive(lo))
    return _("от %(lo)s до %(hi)s", lo=_age_genitive(lo), hi=_age_genitive(hi))


@bp.app_template_filter("datefmt")
def date_format(iso: str) -> str:
    return format_date(dt.date.fromisoformat(iso[:10]), format="long")


@bp.app_template_global()
def region_names() -> dict[str, str]:
    """Every region's name in the page's language, by code (for the page's script)."""
    return {r["code"]: region_display_name(r) for r in reference.regions(get_read_session())}


@bp.app_template_global()
def region_name(code: str | None) -> str:
    for r in reference.regions(get_read_session()):
        if r["code"] == code:
            return region_display_name(r)
    return code or ""
