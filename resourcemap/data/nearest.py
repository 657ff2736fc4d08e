"""Nearest help, the statements: which services of these kinds are nearest to this family (search/nearest.py
makes the answer of their rows).

The ranking distance is the geodesic on the WGS84 spheroid (`ST_Distance(geography, geography)`):

1. per kind of help, a KNN scan (`<->`) of that kind's small planar index `ix_sal_knn_<code>` (migration 0007)
   picks k candidates near the family: cheap, and any k candidates will do for step 2;
2. the k-th smallest spheroidal distance among them is an upper bound of the true k-th; widened by SPHERE_SLACK
   (sphere and spheroid distances differ by well under 1 %), it bounds an `ST_DWithin(..., use_spheroid =>
   false)` that collects every service that could rank, found per kind in the same planar index through a
   longitude/latitude box that holds the whole geodesic circle (the full width of longitudes when the circle
   reaches a pole or the antimeridian);
3. those are ranked exactly by `ST_Distance` on the spheroid. The planar order of step 1 never decides the answer,
   so near-ties, high latitudes and the antimeridian come out right.

Outreach services that reach the family join the candidates with `reaches_you`: those whose radius (a geodesic
distance from their location) holds the family, found per kind with `ix_sal_outreach_type_geog`, and those whose
drawn area covers it (`ix_service_area_drawn`). They are ranked by the OUTREACH RULE: a service that comes to the
family counts as if it stood `outreach_equivalent_km` away (15 km by default) or at its true distance if nearer. So a team that travels to
the family beats a site 60 km away, but a site in the family's own town still comes first.

The search is never bounded by region. Online services are listed apart: those serving the family's region.

Confidential places (crisis apartments) are measured from their exact point only in the statements for staff
(`exact=True`). For everyone else they are found, filtered, measured and ranked by their PUBLIC point
(`service_at_location.public_geog`, the centre of their 5 km cell, migration 0015) and every row of the answer
carries that point: what the public may learn of such a place is its published approximation, through any
distance, `within_km`, `reaches_you` or order. Each scan below is written once and run over "points" (`_POINTS`):
for staff every row at its exact point, through one per-kind index; for the public the other rows at their point
and the confidential ones at their public point, each through a per-kind index of its own.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.orm import Session

SPHERE_SLACK = 1.01  # sphere/spheroid distance ratio stays within 0.995..1.005 on WGS84


@dataclass(frozen=True)
class NearestQuery:
    lat: float
    lon: float
    service_types: tuple[str, ...]
    age_months: int | None = None
    open_now: bool = False
    limit: int = 10
    within_km: float | None = None
    at: dt.datetime | None = None  # the instant "now" means; None is the database's now()
    outreach_equivalent_km: float = 15.0
    abroad: bool = False  # also services in another country than the family's (else only when there are none)
    conditions: tuple[str, ...] = ()  # the child's conditions: services that state they work with all of them
    costs: tuple[str, ...] = ()       # what the family can pay: services whose cost is one of these


# The family's country (the first three letters of its region's code: 'RU-', 'KZ-'): services elsewhere are left
# out unless asked for (q.abroad). No region known (at sea, beyond the map): no such condition.
_SAME_COUNTRY = ("EXISTS (SELECT 1 FROM location l_c, place WHERE l_c.id = sal.location_id"
                 " AND (place.region_code IS NULL OR left(l_c.region_code, 3) = left(place.region_code, 3)))")


# Open now, from the service's hours (rm_hours_open, migration 0024: an expression the planner writes into the
# statement; rm_open_at reads the service row itself and is not inlined, ~0.28 ms a row at 1M locations).
_OPEN_NOW = ("(SELECT rm_hours_open(s_o.hours, sal.timezone, CAST(:at AS timestamptz))"
             " FROM service s_o WHERE s_o.id = sal.service_id) IS TRUE")


def _filters(q: NearestQuery) -> str:
    """SQL conditions on service_at_location `sal` for the optional filters (only those asked for). They read the
    row's own copies (of the service's ages, conditions and cost, migrations 0001, 0020) and so are written into
    each KNN scan's WHERE: an index order scan goes on past the rows that do not match until it has k that do,
    and the answer is the true nearest matching services, not a filtered few of the nearest."""
    parts = []
    if q.conditions:
        parts.append("sal.conditions @> CAST(:conditions AS text[])")
    if q.costs:
        parts.append("sal.cost = ANY(CAST(:costs AS text[]))")
    if q.age_months is not None:
        parts.append("(sal.age_min_months IS NULL OR sal.age_min_months <= :age)"
                     " AND (sal.age_max_months IS NULL OR :age <= sal.age_max_months)")
    if q.open_now:
        parts.append(_OPEN_NOW)
    if not q.abroad:
        parts.append(_SAME_COUNTRY)
    return " AND ".join(parts) or "true"


# Details of the chosen rows (`chosen`: section 'near' or 'online'), one round trip: service, organization,
# location, settlement, phones, open-now.
_DETAILS = """
SELECT r.section, r.sal_id, r.d AS distance_m, r.reaches AS reaches_you, r.rank_m,
       s.id AS service_id, s.type_code, s.name AS service_name, s.delivery, s.age_min_months, s.age_max_months,
       s.capacity_total, s.capacity_free, s.capacity_updated_at, s.conditions, s.cost, s.cost_basis,
       rm_hours_open(s.hours, l.timezone, CAST(:at AS timestamptz)) AS open_now,
       o.id AS organization_id, o.name AS organization_name, o.verified_at, o.is_synthetic,
       l.id AS location_id, l.name AS location_name, l.address, l.confidential, l.approximate, l.timezone,
       {lat} AS lat, {lon} AS lon, l.region_code,
       st.id AS settlement_id, st.name_ru AS settlement_name, st.name_kk AS settlement_name_kk,
       (SELECT coalesce(json_agg(json_build_object('number', p.number, 'kind', p.kind, 'note', p.note)
                                 ORDER BY p.kind <> 'intake', p.id), '[]')
          FROM phone p
         WHERE p.organization_id = o.id AND (p.service_id IS NULL OR p.service_id = s.id)
           AND (p.location_id IS NULL OR p.location_id = l.id)) AS phones
FROM chosen r
JOIN service s ON s.id = r.service_id
JOIN organization o ON o.id = s.organization_id
JOIN location l ON l.id = r.location_id
LEFT JOIN settlement st ON st.id = l.settlement_id
"""

# Where the family is. From a point: its region (rm_region_at: the boundary that covers it, or the nearest within
# 20 km, since boundaries are simplified along coasts) and the settlement nearest on the sphere among those within
# 30 km. That is the KNN scan's first settlement when it lies within 30 km; none when the first is farther than
# 30 km even on the sphere with its slack; only between the two (a settlement at ~30 km) are those within 30 km
# ranked — in the census' dense districts hundreds of them, where the KNN reads one.
# From a settlement: that settlement and its region. Or only the region the caller names (no settlement).
_ORIGIN_OF = {
    "point": """
origin AS (
  SELECT CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography) AS g
),
place AS (
  SELECT rm_region_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 20000) AS region_code,
         CASE WHEN first.d <= 30000 THEN first.id
              WHEN first.sphere_d IS NULL OR first.sphere_d > 30000 * :slack THEN NULL
              ELSE (SELECT s.id FROM settlement s WHERE ST_DWithin(s.geog, origin.g, 30000)
                     ORDER BY s.geog <-> origin.g LIMIT 1) END AS settlement_id
  FROM origin LEFT JOIN LATERAL (
    SELECT s.id, ST_Distance(s.geog, origin.g) AS d, s.geog <-> origin.g AS sphere_d FROM settlement s
    ORDER BY s.geog <-> origin.g LIMIT 1) first ON true
)""",
    "settlement": """
origin AS (
  SELECT s.geog AS g FROM settlement s WHERE s.id = :settlement_id
),
place AS (
  SELECT s.region_code, s.id AS settlement_id FROM settlement s WHERE s.id = :settlement_id
)""",
    "region": """
origin AS (
  SELECT CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography) AS g
),
place AS (
  SELECT CAST(:region AS text) AS region_code, CAST(NULL AS integer) AS settlement_id
)""",
}

_NEAREST_SQL = """
WITH {origin},
knn AS (
{knn}
),
bound AS (
  SELECT r, CASE
      WHEN abs(lat) + degrees(delta) >= 89.9 OR sin(delta) >= cos(radians(lat)) THEN
        ST_MakeEnvelope(-180, -90, 180, 90, 4326)
      WHEN abs(lon) + degrees(asin(sin(delta) / cos(radians(lat)))) > 180 THEN
        ST_MakeEnvelope(-180, lat - degrees(delta), 180, lat + degrees(delta), 4326)
      ELSE ST_Expand(CAST(origin.g AS geometry), degrees(asin(sin(delta) / cos(radians(lat)))), degrees(delta))
    END AS box
  FROM origin, (SELECT r, r * 1.01 / 6356752.0 AS delta, ST_Y(CAST(origin.g AS geometry)) AS lat,
                       ST_X(CAST(origin.g AS geometry)) AS lon
                  FROM origin, (SELECT coalesce(max(d) * :slack + 1.0, 0) AS r
                                  FROM (SELECT d FROM knn ORDER BY d LIMIT :k) top_k) kth) b
),
candidates AS (
{within}
  UNION ALL
{reach}
  UNION ALL
  -- outreach whose drawn area covers the family (ix_service_area_drawn)
  SELECT sal.id, sal.service_id, sal.location_id, ST_Distance({shown}, origin.g), true
  FROM origin, service_area a
  JOIN service_at_location sal ON sal.service_id = a.service_id
  WHERE a.radius_km IS NULL AND a.area IS NOT NULL AND ST_Intersects(a.area, origin.g)
    AND sal.searchable AND sal.delivery = 'outreach' AND sal.type_code = ANY(CAST(:types AS text[])) AND {filters}
),
ranked AS (
  SELECT sal_id, service_id, location_id, d, reaches,
         CASE WHEN reaches THEN least(d, :outreach_m) ELSE d END AS rank_m
  FROM (SELECT DISTINCT ON (sal_id) * FROM candidates ORDER BY sal_id, reaches DESC) uniq
  ORDER BY rank_m, d, sal_id
  LIMIT :k
),
{online}
chosen AS (
  SELECT 'near' AS section, * FROM ranked
  {online_union}
)
SELECT {place_columns} found.*
FROM place
{place_joins}
LEFT JOIN ({details}) found ON true
ORDER BY found.section DESC, found.rank_m, found.distance_m, found.sal_id
"""

# The online services that serve the family's region: those whose service area names the region (the write path
# gives every online service its regions, by default the region of its location). Per kind, an index scan of
# ix_service_area_region_type (region_code, type_code, service_id; migration 0013) that stops after :per_kind
# matches.
_ONLINE_PART = """online AS (
  SELECT o.id AS sal_id, o.service_id, o.location_id, ST_Distance(o.point, origin.g) AS d,
         false AS reaches, CAST(0 AS float8) AS rank_m
  FROM origin, place, unnest(CAST(:types AS text[])) AS t(code)
  CROSS JOIN LATERAL (
    SELECT sal.id, sal.service_id, sal.location_id, {shown} AS point
    FROM service_area a
    JOIN service_at_location sal ON sal.service_id = a.service_id
    WHERE a.region_code = place.region_code AND a.type_code = t.code AND sal.searchable
      AND sal.delivery = 'online' AND sal.type_code = t.code AND {filters}
    ORDER BY a.service_id
    LIMIT :per_kind
  ) o
),"""

# The family's settlement, for the answer's origin (as settlements.settlement_by_id shows it).
_PLACE_COLUMNS = """place.region_code AS place_region_code, ST_Y(origin.g::geometry) AS origin_lat,
       ST_X(origin.g::geometry) AS origin_lon,
       ps.id AS ps_id, ps.name_ru AS ps_name, ps.name_kk AS ps_name_kk, ps.kind AS ps_kind,
       ps.population AS ps_population, ps.timezone AS ps_timezone,
       ST_Y(ps.geog::geometry) AS ps_lat, ST_X(ps.geog::geometry) AS ps_lon,
       pd.name_ru AS ps_district, pr.code AS ps_region_code, pr.name_ru AS ps_region_name,"""
_PLACE_JOINS = """CROSS JOIN origin
LEFT JOIN settlement ps ON ps.id = place.settlement_id
LEFT JOIN region pr ON pr.code = ps.region_code
LEFT JOIN district pd ON pd.id = ps.district_id"""


_TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

@dataclass(frozen=True)
class _Points:
    """Rows of service_at_location `sal` and the point each is measured from, with how a scan finds them."""
    rows: str        # SQL condition on sal: which rows
    point: str       # the point a row is measured from
    knn_order: str   # the KNN order (an index's), nearest first
    prefilter: str   # an index condition that must hold within the bound (step 2), or ''


# The rows that are not confidential, at their point, through the per-kind planar indexes (0007, 0015).
_OPEN = _Points("NOT sal.confidential", "sal.geog",
                "CAST(sal.geog AS geometry) <-> (SELECT CAST(g AS geometry) FROM origin)",
                "CAST(sal.geog AS geometry) && (SELECT box FROM bound) AND ")
# Sites and outreach (not online), written as the per-kind partial indexes of 0021 say it, so the planner can use
# them ('online' is the only other delivery).
_NOT_ONLINE = "sal.delivery IN ('on_site', 'outreach')"
_POINTS = {
    # staff: every row at its exact point, confidential or not, through the kind's ix_sal_cov_<code> (0021)
    True: (_Points(_NOT_ONLINE, "sal.geog", "CAST(sal.geog AS geometry) <-> (SELECT CAST(g AS geometry) FROM origin)",
                   "CAST(sal.geog AS geometry) && (SELECT box FROM bound) AND "),),
    # the public: and the confidential rows at their public point, through the kind's ix_sal_hidden_<code> (0021;
    # 0015's ix_sal_public_geog holds every kind's, and a scan of it for one kind walks the others' too)
    False: (_OPEN, _Points(f"sal.confidential AND {_NOT_ONLINE}", "sal.public_geog",
                           "CAST(sal.public_geog AS geometry) <-> (SELECT CAST(g AS geometry) FROM origin)",
                           "CAST(sal.public_geog AS geometry) && (SELECT box FROM bound) AND ")),
}
# The point a row of the answer is shown at and measured from (drawn areas, online services), and its lat/lon.
_SHOWN = {True: "sal.geog", False: "coalesce(sal.public_geog, sal.geog)"}
_SHOWN_LAT_LON = {True: ("ST_Y(l.geog::geometry)", "ST_X(l.geog::geometry)"),
                  False: ("rm_public_lat(ST_Y(l.geog::geometry), l.confidential)",
                          "rm_public_lon(ST_Y(l.geog::geometry), ST_X(l.geog::geometry), l.confidential)")}

_TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# Per kind of help, k candidates in KNN order: of the open rows from that kind's partial index ix_sal_knn_<code>
# (migrations 0007, 0015; the code is written into the SQL, as the planner needs a constant to choose a partial
# index; it comes from the taxonomy and is checked against _TYPE_CODE), of the confidential rows from their own.
_KNN_PART = """  (SELECT ST_Distance({p.point}, origin.g) AS d FROM origin, service_at_location sal
   WHERE sal.searchable AND sal.type_code = '{code}' AND {p.rows} AND sal.delivery <> 'online' AND {filters}
   ORDER BY {p.knn_order}
   LIMIT :k)"""


# Per kind, every service within the bound (step 2), through the same index (and for planar ones the bound's box).
_WITHIN_PART = """  SELECT sal.id AS sal_id, sal.service_id, sal.location_id, ST_Distance({p.point}, origin.g) AS d,
         false AS reaches
  FROM origin, bound, service_at_location sal
  WHERE sal.searchable AND sal.type_code = '{code}' AND {p.rows} AND sal.delivery <> 'online' AND {filters}
    AND {p.prefilter}ST_DWithin({p.point}, origin.g, bound.r, false)"""

# Outreach within its radius (a geodesic distance) of the family. Among services that reach the family the rule
# ranks by distance, so per kind only the nearest few can make the list: a KNN scan (ix_sal_outreach_type_geog for
# exact points, ix_sal_public_reach for public ones) keeping those whose radius holds the family, as far as one
# could rank. That is the bound (step 2) when it lies within the outreach distance: a team that comes from farther
# ranks at least at that distance, after the k already found (and one within the bound is a candidate already:
# this only tells that it comes). Beyond, as far as the largest radius there is.
_REACH_PART = """  SELECT o.id, o.service_id, o.location_id, ST_Distance(o.point, origin.g), true
  FROM origin, unnest(CAST(:types AS text[])) AS t(code)
  CROSS JOIN LATERAL (
    SELECT sal.id, sal.service_id, sal.location_id, {p.point} AS point FROM service_at_location sal
    WHERE sal.searchable AND sal.delivery = 'outreach' AND sal.type_code = t.code AND {p.rows} AND {filters}
      AND ST_DWithin({p.point}, origin.g,
                     (SELECT CASE WHEN b.r <= :outreach_m THEN b.r
                                  ELSE (SELECT coalesce(max(radius_km), 0) * 1000.0 * :slack FROM service_area
                                         WHERE radius_km IS NOT NULL) END FROM bound b), false)
      AND EXISTS (SELECT 1 FROM service_area a
                   WHERE a.service_id = sal.service_id AND a.radius_km IS NOT NULL
                     AND ST_DWithin({p.point}, origin.g, a.radius_km * 1000.0))
    ORDER BY {p.point} <-> origin.g
    LIMIT :k_reach
  ) o"""


def details_sql(exact: bool) -> str:
    """The details of the rows of a CTE `chosen`, confidential places at their exact or their public point."""
    lat, lon = _SHOWN_LAT_LON[exact]
    return _DETAILS.format(lat=lat, lon=lon)


@functools.lru_cache(maxsize=1024)
def _statement(origin: str, types: tuple[str, ...], filters: str, online: bool, near: bool = True,
               exact: bool = False) -> str:
    """The one statement that answers a request of this shape, in psycopg's parameter style (cached; run by
    `_run` as a prepared statement, so it is planned once per connection). `exact`: confidential places at
    their exact point (staff); else at their public point."""
    for code in types:
        if not _TYPE_CODE.match(code):
            raise ValueError(f"not a service type code: {code!r}")
    details = details_sql(exact)
    online_part = _ONLINE_PART.format(filters=filters, shown=_SHOWN[exact]) if online else ""
    if not near:
        sql = (f"WITH {_ORIGIN_OF[origin]},\n{online_part}\nchosen AS (SELECT 'online' AS section, * FROM online)\n"
               f"SELECT found.* FROM place LEFT JOIN ({details}) found ON true\n"
               "ORDER BY found.rank_m, found.distance_m, found.sal_id")
        return _pyformat(sql)
    points = _POINTS[exact]

    def parts(template: str, per_kind: bool) -> str:
        return "\n  UNION ALL\n".join(template.format(p=p, code=code, filters=filters)
                                       for p in points for code in (types if per_kind else ("",)))

    with_place = origin != "region"
    return _pyformat(_NEAREST_SQL.format(
        origin=_ORIGIN_OF[origin], knn=parts(_KNN_PART, True), within=parts(_WITHIN_PART, True),
        reach=parts(_REACH_PART, False), shown=_SHOWN[exact], filters=filters, online=online_part,
        online_union="UNION ALL SELECT 'online', * FROM online" if online else "",
        place_columns=_PLACE_COLUMNS if with_place else "", place_joins=_PLACE_JOINS if with_place else "",
        details=details))


def _pyformat(sql: str) -> str:
    return str(text(sql).compile(dialect=psycopg_dialect.dialect()))


_PLACEHOLDER = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s|%%")


@functools.lru_cache(maxsize=1024)
def _server_form(sql: str) -> tuple[str, tuple[str, ...]]:
    """A statement with %(name)s placeholders in PostgreSQL's own $1, $2 ... form, with the parameter names in
    order: psycopg converts a statement this long (> 4 kB) again on every execution, ~0.3 ms of a request."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PLACEHOLDER.sub(number, sql), tuple(names)


def _run(session: Session, sql: str, params: dict) -> list[dict]:
    """Run a nearest-help statement on the session's connection through psycopg itself: prepared on the
    server at once, rows as dicts (SQLAlchemy's result machinery costs more than the rows here)."""
    raw, names = _server_form(sql)
    driver = session.connection().connection.driver_connection
    with psycopg.RawCursor(driver, row_factory=dict_row) as cur:
        return cur.execute(raw, [params[name] for name in names], prepare=True).fetchall()


def _params(q: NearestQuery) -> dict:
    return {"lat": q.lat, "lon": q.lon, "types": list(q.service_types), "k": q.limit, "slack": SPHERE_SLACK,
            # reaching services are taken nearest-first on the sphere: a margin keeps spheroid near-ties in
            "k_reach": 2 * q.limit + 5,
            "age": q.age_months, "conditions": list(q.conditions), "costs": list(q.costs),
            "at": q.at or dt.datetime.now(dt.timezone.utc),
            "outreach_m": q.outreach_equivalent_km * 1000.0}


def nearest_rows(session: Session, q: NearestQuery, origin: str, *, region_code: str | None,
                 settlement_id: int | None, online: bool, exact: bool) -> list[dict]:
    """The rows of one nearest-help statement: the family at (q.lat, q.lon) in `region_code` (origin "region"), or
    at that point with its region and nearest settlement found ("point"), or at `settlement_id` ("settlement");
    `online` adds the online services of the family's region. Each row carries the place's columns (ps_*,
    place_region_code, origin_lat/lon; not for "region") and, unless nothing was found (section NULL), one
    service's details (section 'near' or 'online'). No rows: no such settlement."""
    params = {**_params(q), "region": region_code, "settlement_id": settlement_id, "per_kind": 5}
    return _run(session, _statement(origin, q.service_types, _filters(q), online, exact=exact), params)


def online_rows(session: Session, q: NearestQuery, region_code: str, per_kind: int, *, exact: bool) -> list[dict]:
    """The rows of the online services of the kinds in `q` that serve `region_code`, at most `per_kind` of each
    kind (section 'online'; a row with section NULL when there is none)."""
    params = {**_params(q), "region": region_code, "per_kind": per_kind}
    return _run(session, _statement("region", q.service_types, _filters(q), True, near=False, exact=exact), params)


# The weekly hours of services (the dispatch console: open now, next opening).
_SCHEDULES_SQL = text("""
SELECT sc.service_id, sc.weekday, sc.opens_minute, sc.closes_minute
FROM schedule sc
WHERE sc.service_id = ANY(CAST(:ids AS integer[]))
ORDER BY sc.service_id, sc.weekday, sc.opens_minute
""")


def schedule_rows(session: Session, service_ids: list[int]) -> list[tuple[int, int, int, int]]:
    """(service_id, weekday, opens_minute, closes_minute) of these services' weekly hours, in that order."""
    return [tuple(r) for r in session.execute(_SCHEDULES_SQL, {"ids": service_ids}).all()]


# The chosen service_at_location rows with their distance from the family and whether they come to the family;
# details as nearest help gives them (phones, organization, location, open now).
_REFERRAL_SQL = """
WITH origin AS (
  SELECT CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography) AS g
),
ranked AS (
  SELECT sal.id AS sal_id, sal.service_id, sal.location_id, ST_Distance(sal.geog, origin.g) AS d,
         (sal.delivery = 'outreach' AND EXISTS (
            SELECT 1 FROM service_area a WHERE a.service_id = sal.service_id AND ST_Intersects(a.area, origin.g)))
           AS reaches,
         array_position(CAST(:ids AS integer[]), sal.id) AS rank_m
  FROM origin, service_at_location sal
  WHERE sal.id = ANY(CAST(:ids AS integer[])) AND sal.searchable
),
chosen AS (SELECT 'near' AS section, * FROM ranked)
""" + details_sql(exact=True) + "ORDER BY r.rank_m"


def referral_rows(session: Session, sal_ids: list[int], lat: float, lon: float, at: dt.datetime) -> list[dict]:
    """The searchable services at these service_at_location ids (a referral card's), in the order given, with the
    geodesic distance from (lat, lon), `reaches_you` and the details of a nearest-help row (open now at `at`)."""
    params = {"lat": lat, "lon": lon, "ids": sal_ids, "at": at}
    return [dict(r) for r in session.execute(text(_REFERRAL_SQL), params).mappings()]
