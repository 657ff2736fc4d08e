"""The nearest-help question, read one way wherever it is asked: the API (/api/v1/nearest), the parents' page (/)
and the consultants' console (/dispatch/api/search). parse_nearest reads where the family is (a settlement, a
typed place, a point), the kinds of help, the child's age and needs, and raises ApiError (code, message, field)
for the first part it cannot take. Each surface words those errors its own way (a Wording: the API in English,
the page and the console in Russian) and shows them its own way (JSON, or the page's message); where the surfaces
take a part differently (the console's `origin` text, the page's empty fields), the Wording says so."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .errors import ApiError
from .limits import MAX_AGE_MONTHS, MAX_ID, MAX_ID_DIGITS
from .registry.vocabulary import CONDITIONS, COSTS, BadCode, read_codes
from .search.nearest import NearestQuery

PLACE_CHARS = 100  # of a typed place name: the rest is cut off


@dataclass(frozen=True)
class Question:
    """What the family asks, its place not yet found: a settlement, a typed place or a point (the page keeps all
    three as typed; the others give one)."""

    settlement_id: int | None = None
    place: str | None = None  # a place name as typed
    lat: float | None = None
    lon: float | None = None
    kinds: tuple[str, ...] = ()
    age_months: int | None = None
    open_now: bool = False
    conditions: tuple[str, ...] = ()
    costs: tuple[str, ...] = ()
    limit: int = 10
    within_km: float | None = None
    abroad: bool = False

    def query(self, lat: float, lon: float, *, outreach_equivalent_km: float, kinds=None,
              limit: int | None = None) -> NearestQuery:
        """The search of the nearest help from (lat, lon) (search/nearest.py)."""
        return NearestQuery(lat=lat, lon=lon, service_types=tuple(kinds or self.kinds), age_months=self.age_months,
                            open_now=self.open_now, limit=limit or self.limit, within_km=self.within_km,
                            abroad=self.abroad, conditions=self.conditions, costs=self.costs,
                            outreach_equivalent_km=outreach_equivalent_km)


@dataclass(frozen=True)
class Wording:
    """How one surface names the question's parts, in which order it reads them, and what it says of a bad one.

    `says` maps a reason to its message, called with the reason's values at the request (so that it is in the
    request's language). The reasons: settlement.invalid / .range, origin.invalid, point.invalid / .range (name),
    kinds.type, kinds.unknown (code), age_months.invalid / .range, needs.unknown (name, what, code, known); and
    those a surface checks only if it words them: place.bad (a typed place is read at all), kinds.none (the kinds
    are required), point.half (lat and lon come together), origin.none (where the family is is required),
    needs.empty (an empty filter value is told apart from an unknown one). A reason a surface cannot
    meet is left out (the API's schema has typed its values). `codes`: the reasons whose error code is not
    "invalid" (formatted with the reason's values)."""

    says: dict[str, Callable[..., str]]
    kinds: str = "service"  # the field of the kinds of help
    conditions: str = "condition"
    costs: str = "cost"
    order: tuple[str, ...] = ("kinds", "needs", "age", "options", "origin")
    options: tuple[str, ...] = ()  # of open_now, limit, within_km, abroad: those the surface takes
    codes: dict[str, str] = field(default_factory=dict)
    blank_is_absent: bool = False  # a field of spaces is not given (a form's empty field), rather than bad
    settlement_from: int = 1  # the page takes 0 (no settlement has it: not found)
    age_digits: int = MAX_ID_DIGITS
    skip_empty_codes: bool = False  # an empty condition or cost is no filter (the page's form sends one)
    one_origin: bool = False  # the first of settlement, origin text, point is taken (the others are not read)
    origin_text: bool = False  # "origin=lat,lon" is a point

    def bad(self, reason: str, field: str | None, **values) -> ApiError:
        code = self.codes.get(reason, "invalid")
        return ApiError(self.says[reason](**values), field, code=code.format(**values))


def parse_nearest(args: Mapping, wording: Wording, known_kinds) -> Question:
    """The question in `args` (a query's arguments, or the JSON body of the console's search), the kinds of help
    checked against `known_kinds`; ApiError (worded by `wording`) for the first part it cannot take."""
    parts: dict = {}
    for part in wording.order:
        parts.update(_READERS[part](args, wording, known_kinds))
    return Question(**parts)


def _given(value, wording: Wording) -> bool:
    if wording.blank_is_absent and isinstance(value, str):
        return bool(value.strip())
    return value not in (None, "")


def _whole(value, name: str, low: int, high: int, digits: int, wording: Wording) -> int:
    text = None if isinstance(value, bool) or not isinstance(value, (int, str)) else str(value).strip()
    if text is None or not text.isdecimal() or len(text) > digits:
        raise wording.bad(f"{name}.invalid", name)
    number = int(text)
    if not low <= number <= high:
        raise wording.bad(f"{name}.range", name)
    return number


def _float(value, name: str, low: float, high: float, wording: Wording) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise wording.bad("point.invalid", name, name=name) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise wording.bad("point.range", name, name=name)
    return number


def _texts(args: Mapping, name: str) -> tuple[list, bool]:
    """A repeatable field's values, and whether each is comma-separated text (a query's arguments, a JSON text)
    rather than one item of a JSON list."""
    if hasattr(args, "getlist"):
        return args.getlist(name), True
    value = args.get(name)
    if not value:
        return [], True
    return ([value], True) if isinstance(value, str) else (value, False)


def _kinds(args: Mapping, wording: Wording, known_kinds) -> dict:
    values, comma_separated = _texts(args, wording.kinds)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise wording.bad("kinds.type", wording.kinds)
    codes = ([c.strip() for v in values for c in v.split(",") if c.strip()] if comma_separated
             else [v.strip() for v in values])
    unknown = [c for c in codes if c not in known_kinds]
    if unknown:
        raise wording.bad("kinds.unknown", wording.kinds, code=unknown[0])
    if not codes and "kinds.none" in wording.says:
        raise wording.bad("kinds.none", wording.kinds)
    return {"kinds": tuple(dict.fromkeys(codes))}


def _codes(args: Mapping, name: str, vocabulary, what: str, wording: Wording) -> tuple[str, ...]:
    values = args.getlist(name) if hasattr(args, "getlist") else args.get(name) or []
    try:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadCode("")
        return read_codes(values, vocabulary, skip_empty=wording.skip_empty_codes)
    except BadCode as bad:
        reason = "needs.empty" if not bad.code and "needs.empty" in wording.says else "needs.unknown"
        raise wording.bad(reason, name, name=name, what=what, code=bad.code, known=vocabulary) from None


def _needs(args: Mapping, wording: Wording, known_kinds) -> dict:
    return {"conditions": _codes(args, wording.conditions, CONDITIONS, "condition", wording),
            "costs": _codes(args, wording.costs, COSTS, "cost", wording)}


def _options(args: Mapping, wording: Wording, known_kinds) -> dict:
    """The surface's own options (wording.options): open now; the API's limit, radius and other countries."""
    found = {name: args[name] for name in wording.options if args.get(name) is not None}
    if "open_now" in found:
        found["open_now"] = _yes(found["open_now"])
    return found


def _yes(value) -> bool:
    """A form's or a query's yes ("1", "on", "true", "yes"), or a typed True."""
    return value is True or (isinstance(value, str) and value.lower() in ("1", "on", "true", "yes"))


def _age(args: Mapping, wording: Wording, known_kinds) -> dict:
    value = args.get("age_months")
    if not _given(value, wording):
        return {}
    return {"age_months": _whole(value, "age_months", 0, MAX_AGE_MONTHS, wording.age_digits, wording)}


def _origin(args: Mapping, wording: Wording, known_kinds) -> dict:
    """Where the family is: the page reads all three ways as typed, the console the first one given."""
    found: dict = {}
    if _given(args.get("settlement"), wording):
        found["settlement_id"] = _whole(args.get("settlement"), "settlement", wording.settlement_from, MAX_ID,
                                        MAX_ID_DIGITS, wording)
        if wording.one_origin:
            return found
    if "q" in args and "place.bad" in wording.says:
        found["place"] = _place(args.get("q"), wording)
    if wording.origin_text and args.get("origin"):
        point = parse_coordinates(str(args.get("origin")))
        if point is None:
            raise wording.bad("origin.invalid", "origin")
        return {**found, "lat": point[0], "lon": point[1]}
    lat, lon = args.get("lat"), args.get("lon")
    if _given(lat, wording) or _given(lon, wording):
        if "point.half" in wording.says and not (_given(lat, wording) and _given(lon, wording)):
            raise wording.bad("point.half", "lon" if _given(lat, wording) else "lat")
        found.update(lat=_float(lat, "lat", -90, 90, wording), lon=_float(lon, "lon", -180, 180, wording))
    elif not found and "origin.none" in wording.says:
        raise wording.bad("origin.none", "settlement")
    return found


def _place(value, wording: Wording) -> str:
    """A typed place name: the page's cut and trimmed, the API's as typed (but not blank)."""
    text = value or ""
    if wording.blank_is_absent:
        text = text.strip()[:PLACE_CHARS]
        if "\x00" in text:  # no place name holds one (the name search reads words only)
            raise wording.bad("place.bad", "q")
    elif not text.strip():
        raise wording.bad("place.bad", "q")
    return text


_READERS = {"kinds": _kinds, "needs": _needs, "age": _age, "options": _options, "origin": _origin}

_NUM = r"[-+]?\d{1,3}(?:[.,]\d+)?"
_COORDS = [re.compile(rf"^\s*({_NUM.replace('[.,]', '[.]')})\s*[,;\s]\s*({_NUM.replace('[.,]', '[.]')})\s*$"),
           re.compile(rf"^\s*({_NUM.replace('[.,]', ',')})\s*[;\s]\s*({_NUM.replace('[.,]', ',')})\s*$"),
           re.compile(rf"^\s*({_NUM.replace('[.,]', ',')}),\s+({_NUM.replace('[.,]', ',')})\s*$")]


def parse_coordinates(raw: str) -> tuple[float, float] | None:
    """"55.78, 38.45", "55.78 38.45", "55,78 38,45", "55,78; 38,45" -> (lat, lon); None if not coordinates."""
    for pattern in _COORDS:
        m = pattern.match(raw or "")
        if m:
            lat, lon = (float(g.replace(",", ".")) for g in m.groups())
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return lat, lon
    return None
