"""Nearest help: which services of these kinds are nearest to this family, with the OUTREACH RULE (a service that
comes to the family counts as if it stood `outreach_equivalent_km` away, or at its true distance if nearer); the
online services of the family's region listed apart; services in another country only when asked for or when the
family's own has none; the helplines when nothing is near. One statement answers each request
(data/nearest.py, where the ranking on the spheroid and the confidential places' public points are explained).

Rows are unredacted: the caller shows them through search/redaction.py."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from ..data.nearest import NearestQuery, nearest_rows, online_rows


@dataclass
class NearestAnswer:
    results: list[dict] = field(default_factory=list)
    online: list[dict] = field(default_factory=list)
    region_code: str | None = None  # the family's region (online services are those of this region)
    settlement: dict | None = None  # the family's settlement (settlement_id), or the nearest within 30 km (locate)
    lat: float | None = None
    lon: float | None = None
    abroad: bool = False  # the results are in other countries: the family's own has no such help at all
    far_km: dict[str, float] = field(default_factory=dict)  # per kind: beyond this a service is far (mark_far)
    nothing_near: bool = False  # no result is near: every one is far, or there is none


DEFAULT_FAR_KM = 100.0


def country_of(region_code: str | None) -> str | None:
    """'RU' for 'RU-MOS', 'KZ' for 'KZ-10'."""
    return region_code.split("-")[0] if region_code else None


def far_limits(kinds, default_km: float = DEFAULT_FAR_KM, by_kind: dict | None = None) -> dict[str, float]:
    """Per kind of help, the distance beyond which a service of that kind is far from the family."""
    return {kind: float((by_kind or {}).get(kind, default_km)) for kind in kinds}


def mark_far_rows(rows: list[dict], limits: dict[str, float]) -> bool:
    """Each row is `far` beyond its kind's limit, unless it comes to the family (never far). True when no row is
    near."""
    for row in rows:
        row["far"] = not row["reaches_you"] and row["distance_m"] > limits.get(row["type_code"], DEFAULT_FAR_KM) * 1000
    return not any(not row["far"] for row in rows)


def mark_far(answer: NearestAnswer, limits: dict[str, float]) -> NearestAnswer:
    """The answer's results marked far or near (mark_far_rows), `nothing_near` when none is near."""
    answer.far_km = limits
    for row in answer.online:
        row["far"] = False
    answer.nothing_near = mark_far_rows(answer.results, limits)
    return answer


_ROW_KEYS = ("section", "sal_id", "distance_m", "reaches_you", "rank_m", "service_id", "type_code", "service_name",
             "delivery", "age_min_months", "age_max_months", "capacity_total", "capacity_free",
             "capacity_updated_at", "conditions", "cost", "cost_basis", "open_now", "organization_id",
             "organization_name", "verified_at", "is_synthetic", "location_id", "location_name", "address",
             "confidential", "approximate", "timezone", "lat", "lon", "region_code", "settlement_id", "settlement_name",
             "settlement_name_kk", "phones")


def _found(rows) -> tuple[list[dict], list[dict]]:
    near, online = [], []
    for row in rows:
        if row["section"] is None:
            continue
        found = {key: row[key] for key in _ROW_KEYS}
        found["beyond_radius"] = False
        (near if row["section"] == "near" else online).append(found)
    return near, online


def _place(row) -> tuple[str | None, dict | None]:
    settlement = None
    if row["ps_id"] is not None:
        settlement = {"id": row["ps_id"], "name": row["ps_name"], "name_kk": row["ps_name_kk"],
                      "kind": row["ps_kind"], "population": row["ps_population"], "timezone": row["ps_timezone"],
                      "lat": row["ps_lat"], "lon": row["ps_lon"], "district": row["ps_district"],
                      "region_code": row["ps_region_code"], "region_name": row["ps_region_name"]}
    return row["place_region_code"], settlement


def online_services(session: Session, q: NearestQuery, region_code: str, per_kind: int = 5, *,
                    exact: bool = False) -> list[dict]:
    """Online services of the kinds in `q` that serve `region_code`, at most `per_kind` of each kind (oldest
    entries first). `exact`: confidential places at their exact point (for staff), else at their public one."""
    return _found(online_rows(session, q, region_code, per_kind, exact=exact))[1]


HOTLINE = "hotline"


def helplines(session: Session, q: NearestQuery, region_code: str | None, *, exact: bool = False,
              leave_out: frozenset[int] = frozenset()) -> list[dict]:
    """Helplines for a family with nothing near: the `hotline` services (online) that serve its region — a national
    line serves every region of its country — whatever the child's age, condition, the cost or the hour; rows in `leave_out` (sal ids
    already listed) left out."""
    if not region_code:
        return []
    lines = replace(q, service_types=(HOTLINE,), age_months=None, open_now=False, abroad=False, conditions=(),
                    costs=())
    return [row for row in online_services(session, lines, region_code, exact=exact) if row["sal_id"] not in leave_out]


def nearest_services(session: Session, q: NearestQuery, region_code: str | None = None, *,
                     locate: bool = False, settlement_id: int | None = None, exact: bool = False,
                     with_online: bool = True) -> NearestAnswer | None:
    """The `q.limit` services of the asked kinds nearest to the family, by geodesic distance on the spheroid,
    with the outreach rule applied; plus the online services of the family's region. One statement.

    The family is at (q.lat, q.lon) in `region_code` (online services of that region, unless `with_online` is
    False; none when None); with
    `locate`, the statement also finds the point's region and nearest settlement (answer.region_code,
    answer.settlement); with `settlement_id`, the family is at that settlement (q.lat and q.lon are ignored; None
    is returned when there is no such settlement).

    With `exact` (staff only), confidential places are found, measured and ranked by their exact point; without
    it by their public point, which is also the point their rows carry. Rows are otherwise unredacted: the caller
    shows them through search/redaction.py. With `within_km`, only services inside the radius are returned; when none
    is, the nearest are returned with `beyond_radius`.

    Only services in the family's country are ranked unless `q.abroad`; when that country has none at all, the
    nearest abroad are returned with `answer.abroad`.
    """
    origin = "settlement" if settlement_id is not None else "point" if locate else "region"
    online = with_online and (origin != "region" or region_code is not None)
    rows = nearest_rows(session, q, origin, region_code=region_code, settlement_id=settlement_id, online=online,
                        exact=exact)
    if not rows:
        return None  # no such settlement
    if not q.abroad and all(row["section"] != "near" for row in rows):
        answer = nearest_services(session, replace(q, abroad=True), region_code, locate=locate,
                                  settlement_id=settlement_id, exact=exact, with_online=with_online)
        answer.abroad = bool(answer.results)
        return answer
    answer = NearestAnswer(region_code=region_code, lat=q.lat, lon=q.lon)
    if origin != "region":
        answer.region_code, answer.settlement = _place(rows[0])
        answer.lat, answer.lon = rows[0]["origin_lat"], rows[0]["origin_lon"]
    answer.results, answer.online = _found(rows)
    if q.within_km is not None:
        inside = [r for r in answer.results if r["distance_m"] <= q.within_km * 1000.0 or r["reaches_you"]]
        if inside:
            answer.results = inside
        else:
            for row in answer.results:
                row["beyond_radius"] = True
    return answer
