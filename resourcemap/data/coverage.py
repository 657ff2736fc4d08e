"""Coverage's SQL (migration 0021): per settlement and kind of help, the geodesic distance to the nearest published
help of that kind in the settlement's country, computed in full or for what edits changed, and the figures read
from it per country, region and district.

How a settlement is measured (`_measure_sql`), as nearest help measures a family (search/nearest.py), for a set of
settlements at once (the temporary table coverage_target), one kind per statement (its code written into the SQL so
that the planner uses the kind's partial indexes):
1. an outreach service of the kind whose radius (geodesic, from its location) or drawn area holds the settlement
   reaches it: distance 0 (`reached`);
2. else a KNN scan of the kind's planar index (`ix_sal_cov_<code>`: its published rows that are not online,
   confidential ones at their exact point) gives the first in planar order; its spheroid distance,
   widened by SPHERE_SLACK, bounds an index box scan of both (rm_geodesic_box) that finds every service that
   could be nearer; the nearest of those on the spheroid is the answer. The planar order never decides it.
Published is `service_at_location.searchable` (service active, organization published, location active); online
services never count. Only help in the settlement's own country counts (as nearest help ranks by default): the
scans above ignore countries, and the few settlements whose nearest lies abroad (near a border) are measured again
with the country condition (`_FOREIGN`) — the condition in every scan would cost a location look-up per candidate.

Fresh after edits: statement triggers note what changed in `coverage_dirty` (an edit only inserts a few rows there;
an import one set per statement) and NOTIFY `resourcemap_coverage` at commit. `refresh_pending` drains the queue
after commit, in its own transaction, under one advisory lock: the settlements whose figure rests on a changed or
deleted row (`nearest_sal_id`), those whose circle through their nearest (`reach_box`, a GiST index) holds a new
point and are farther from their nearest than from it, and those inside a new or old outreach area are measured
again; a kind with more notes than FULL_ABOVE, or noted whole (TRUNCATE of the registry, settlements loaded, a new
kind), is computed in full. Why after commit, not in the edit's transaction (as the map's flush at commit does,
migration 0009) nor from the writers: an edit's commit would otherwise wait on the coverage lock behind a running
computation in full (minutes), an import's commit would pay for whole kinds, and the writers are not the only
way rows change (an organization's status reaches the rows through the copies' triggers). So an edit's own
transaction only inserts its notes, and whoever drains — `resourcemap coverage watch` listening for the
notification, the `refresh` and `report` commands, or any reader before it reads — brings the figures up to date
in tens of milliseconds for one edit. Not followed: a location whose region code alone changes to another
country's (the point unmoved): the next computation in full corrects it.
"""
from __future__ import annotations

import functools
import re
from typing import TypedDict

import psycopg
from sqlalchemy import Connection, text

SPHERE_SLACK = 1.01  # sphere/spheroid distance ratio stays within 0.995..1.005 on WGS84 (search/nearest.py)
KNN_CANDIDATES = 1   # the candidates (in planar order) whose spheroid distance bounds the exact scan
FULL_ABOVE = 2000    # a kind with more notes than this is computed in full rather than settlement by settlement
# Locks, held to the end of the transaction: one per kind, taken by whatever measures the kind (so that a drain and
# a computation in full of the same kind never interleave, and kinds can be computed side by side), and the drains'
# own (one drain at a time takes the notes).
_KIND_LOCK = text("SELECT pg_advisory_xact_lock(21, hashtext(:code))")
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('resourcemap.coverage'))")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('resourcemap.coverage'))")
_NO_TIMEOUT = text("SET LOCAL statement_timeout = 0")
_TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# (A scalar subquery, looked up per candidate row: written as EXISTS, the planner may join every location first.)
_SAME_COUNTRY = (" AND (SELECT left(l_c.region_code, 3) FROM location l_c WHERE l_c.id = sal.location_id)"
                 " = left(s.region_code, 3)")
# In the country pass, the scans run only for settlements of a country that has such help (else a KNN scan with
# the condition above would walk the kind's whole index).
_HAS_HELP = " AND left(s.region_code, 3) = ANY(CAST(:countries AS text[]))"

# The rows that count (not online), in the kind's index ix_sal_cov_<code> (migration 0021: its condition, written
# as nearest help does not write it).
_KIND = "sal.searchable AND sal.type_code = '{code}' AND sal.delivery IN ('on_site', 'outreach'){country}"

# The kind's open rows that count, in its index ix_sal_knn_<code> (0015: it holds its online rows too, and no
# confidential one; written so that ix_sal_cov_<code>, which holds the confidential ones, cannot serve it: a KNN scan
# of it for a kind that is mostly confidential, such as the crisis apartments, walked every one of them).
_OPEN = "sal.searchable AND sal.type_code = '{code}' AND sal.delivery <> 'online' AND NOT sal.confidential{country}"

# An outreach row of the kind that comes to the settlement (`{when}`: whether to look at all), at `{point}`: by
# radius (the kind's outreach rows, in ix_sal_reach_<code> for exact points, ix_sal_hidden_<code> for public ones,
# within a box holding `{max_radius}`, nearest first in planar order: the first that reaches is taken; each radius
# checked on the sphere, then on the spheroid), or by drawn area (ix_service_area_drawn).
_REACH = """SELECT x.id, x.confidential FROM (
    (SELECT sal.id, sal.confidential FROM service_at_location sal
      WHERE sal.searchable AND sal.delivery = 'outreach' AND sal.type_code = '{code}'{country}{rows} AND {when}
        AND CAST({point} AS geometry) && rm_geodesic_box(s.geog, ({max_radius}))
        AND EXISTS (SELECT 1 FROM service_area a WHERE a.service_id = sal.service_id AND a.radius_km IS NOT NULL
                      AND ST_DWithin({point}, s.geog, a.radius_km * 1000.0 * {slack}, false)
                      AND ST_DWithin({point}, s.geog, a.radius_km * 1000.0))
      ORDER BY CAST({point} AS geometry) <-> CAST(s.geog AS geometry) LIMIT 1)
    UNION ALL
    (SELECT sal.id, sal.confidential FROM service_area a JOIN service_at_location sal ON sal.service_id = a.service_id
      WHERE a.radius_km IS NULL AND a.area IS NOT NULL AND ST_Intersects(a.area, s.geog)
        AND sal.searchable AND sal.delivery = 'outreach' AND sal.type_code = '{code}'{country}{rows} AND {when}
      ORDER BY sal.id LIMIT 1)
  ) x LIMIT 1"""
# The largest radius there is; of the kind's confidential outreach rows.
_MAX_RADIUS = "SELECT coalesce(max(radius_km), 0) * 1000.0 FROM service_area WHERE radius_km IS NOT NULL"
_MAX_HIDDEN_RADIUS = """SELECT coalesce(max(a.radius_km), 0) * 1000.0 FROM service_area a
        JOIN service_at_location h ON h.service_id = a.service_id
        WHERE a.radius_km IS NOT NULL AND h.confidential AND h.searchable AND h.delivery = 'outreach'
          AND h.type_code = '{code}'"""

# The nearest row that counts of the kind, among `{rows}` (the kind's rows, its open ones, its confidential ones),
# measured at `{point}` (the exact one, or the public one): a KNN scan in planar order (of ix_sal_cov_<code>, or
# ix_sal_hidden_<code>) bounds a box scan of the same index measured on the spheroid (`{when}`: whether to look
# at all, and where).
_NEAREST = """
LEFT JOIN LATERAL (
  SELECT min(k.d) * {slack} + 1.0 AS r FROM (
    SELECT ST_Distance({point}, s.geog) AS d FROM service_at_location sal
    WHERE {rows} AND {when}
    ORDER BY CAST({point} AS geometry) <-> CAST(s.geog AS geometry) LIMIT {k}) k
) {name}_bound ON true
LEFT JOIN LATERAL (
  SELECT sal.id, ST_Distance({point}, s.geog) AS d, sal.confidential FROM service_at_location sal
  WHERE {rows} AND {name}_bound.r IS NOT NULL
    AND CAST({point} AS geometry) && rm_geodesic_box(s.geog, {name}_bound.r)
    AND ST_Distance({point}, s.geog, false) <= {name}_bound.r
  ORDER BY 2, 1 LIMIT 1
) {name} ON true"""
_NONE = """
LEFT JOIN LATERAL (SELECT NULL::integer AS id, NULL::float8 AS d, NULL::boolean AS confidential) {name} ON true"""

# Two figures per settlement. `distance_m` (staff): every row that counts at its exact point, reached at 0. The
# public's `public_distance_m`: what the public may know of a confidential place is its public point (migration
# 0015), so it is 0 when an open outreach row reaches the settlement or a confidential one does as the public is
# told (its radius around its public point, or its drawn area, as nearest help tells it), else the nearer of the
# nearest open row and the nearest confidential row at its public point, looked for only within the first (most
# settlements have an open row nearer than any confidential one). The open rows are looked at apart only when the
# nearest, or the row that reaches, is confidential. reach_box holds both circles, the public one widened by
# PUBLIC_SHIFT_M (a new confidential point is noted at its exact point, at most that far from its public one).
_MEASURE = """
INSERT INTO coverage AS c (type_code, settlement_id, distance_m, nearest_sal_id, confidential, reached,
                           public_distance_m, public_sal_id, reach_box)
SELECT '{code}', s.id, m.d, m.id, m.confidential, m.reached, m.public_d, m.public_id,
       CASE WHEN m.d > 0 OR m.d IS NULL OR m.public_d > 0 OR m.public_d IS NULL
            THEN rm_geodesic_box(s.geog, greatest(m.d, m.public_d + {shift})) END
FROM coverage_target t
JOIN settlement s ON s.id = t.settlement_id
LEFT JOIN LATERAL ({reach}) reach ON true
LEFT JOIN LATERAL ({open_reach}) open_reach ON true
LEFT JOIN LATERAL ({hidden_reach}) hidden_reach ON true
CROSS JOIN LATERAL (
  SELECT coalesce(CASE WHEN NOT reach.confidential THEN reach.id END, open_reach.id, hidden_reach.id) AS id
) public_reach
{near}
{open}
CROSS JOIN LATERAL (
  SELECT CASE WHEN near.id IS NULL OR near.confidential THEN open_row.id ELSE near.id END AS id,
         CASE WHEN near.id IS NULL OR near.confidential THEN open_row.d ELSE near.d END AS d
) open_near
{hidden}
CROSS JOIN LATERAL (
  SELECT CASE WHEN reach.id IS NOT NULL THEN 0.0 ELSE near.d END AS d, coalesce(reach.id, near.id) AS id,
         coalesce(reach.confidential, near.confidential, false) AS confidential, reach.id IS NOT NULL AS reached,
         CASE WHEN public_reach.id IS NOT NULL THEN 0.0 ELSE least(open_near.d, hidden.d) END AS public_d,
         CASE WHEN public_reach.id IS NOT NULL THEN public_reach.id
              WHEN hidden.d < coalesce(open_near.d, 'Infinity') THEN hidden.id ELSE open_near.id END AS public_id
) m
ON CONFLICT (type_code, settlement_id) DO UPDATE
  SET distance_m = EXCLUDED.distance_m, nearest_sal_id = EXCLUDED.nearest_sal_id,
      confidential = EXCLUDED.confidential, reached = EXCLUDED.reached,
      public_distance_m = EXCLUDED.public_distance_m, public_sal_id = EXCLUDED.public_sal_id,
      reach_box = EXCLUDED.reach_box
"""
PUBLIC_SHIFT_M = 4000.0  # a public point lies within 3.6 km of the exact one (the centre of its 5 km cell, 0015)
_NO_ROW = "SELECT NULL::integer AS id, NULL::boolean AS confidential"


@functools.lru_cache(maxsize=512)
def _measure_sql(code: str, same_country: bool, hidden: bool, hidden_outreach: bool) -> str:
    """The statement that measures the settlements of coverage_target for kind `code` (the country condition in
    every scan when `same_country`; `hidden`: the kind has confidential rows that count, `hidden_outreach`: some of
    them outreach)."""
    if not _TYPE_CODE.match(code):
        raise ValueError(f"not a service type code: {code!r}")
    country = _SAME_COUNTRY + _HAS_HELP if same_country else ""
    kind = _KIND.format(code=code, country=country)
    exact = {"code": code, "country": country, "slack": SPHERE_SLACK, "point": "sal.geog", "max_radius": _MAX_RADIUS}
    public = {"code": code, "country": country, "slack": SPHERE_SLACK, "point": "sal.public_geog",
              "max_radius": _MAX_HIDDEN_RADIUS.format(code=code), "rows": " AND sal.confidential",
              "when": "(reach.id IS NULL OR reach.confidential) AND open_reach.id IS NULL"}
    nearest = {"slack": SPHERE_SLACK, "k": KNN_CANDIDATES, "point": "sal.geog"}
    return _MEASURE.format(
        code=code, shift=PUBLIC_SHIFT_M,
        reach=_REACH.format(**exact, rows="", when="true"),
        # where a confidential row reaches the settlement, whether an open one does too
        open_reach=(_REACH.format(**exact, rows=" AND NOT sal.confidential", when="reach.confidential") if hidden
                    else _NO_ROW),
        hidden_reach=_REACH.format(**public) if hidden_outreach else _NO_ROW,
        near=_NEAREST.format(**nearest, name="near", rows=kind, when="reach.id IS NULL"),
        open=(_NEAREST.format(**nearest, name="open_row", rows=_OPEN.format(code=code, country=country),
                              when="(near.confidential OR reach.confidential)") if hidden
              else _NONE.format(name="open_row")),
        hidden=(_NEAREST.format(
            slack=SPHERE_SLACK, k=KNN_CANDIDATES, point="sal.public_geog", name="hidden",
            rows="sal.confidential AND " + kind,
            when=f"public_reach.id IS NULL AND CAST(sal.public_geog AS geometry) && "
                 f"rm_geodesic_box(s.geog, open_near.d * {SPHERE_SLACK} + 1.0)") if hidden
                else _NONE.format(name="hidden")))


_TARGET = text("CREATE TEMP TABLE IF NOT EXISTS coverage_target (settlement_id integer PRIMARY KEY) ON COMMIT DROP")
_TARGET_EMPTY = text("DELETE FROM coverage_target")
# Which settlements a measurement takes: every one, a region's, or those the edits noted for the kind.
_TARGET_FILL = {
    "all": text("INSERT INTO coverage_target SELECT id FROM settlement"),
    "region": text("INSERT INTO coverage_target SELECT id FROM settlement WHERE region_code = :region"),
    "todo": text("INSERT INTO coverage_target SELECT settlement_id FROM coverage_todo WHERE type_code = :code"),
}
_TARGET_ANALYZE = text("ANALYZE coverage_target")

# The measured settlements whose nearest (or the public's) lies in another country than theirs.
_FOREIGN = text("""
WITH abroad AS (
  SELECT c.settlement_id FROM coverage_target t
  JOIN coverage c ON c.type_code = :code AND c.settlement_id = t.settlement_id
  JOIN settlement s ON s.id = c.settlement_id
  WHERE EXISTS (SELECT 1 FROM service_at_location sal JOIN location l ON l.id = sal.location_id
                WHERE sal.id IN (c.nearest_sal_id, c.public_sal_id)
                  AND left(l.region_code, 3) <> left(s.region_code, 3))
), cleared AS (
  DELETE FROM coverage_target t WHERE NOT EXISTS (SELECT 1 FROM abroad a WHERE a.settlement_id = t.settlement_id)
)
SELECT count(*) FROM abroad
""")
# The countries that have published help of the kind (not online).
_COUNTRIES = text("""
SELECT DISTINCT left(l.region_code, 3) FROM service_at_location sal JOIN location l ON l.id = sal.location_id
WHERE sal.searchable AND sal.type_code = :code AND sal.delivery <> 'online'
""")
# Whether the kind has confidential rows that count (then the public's figure needs its own scans).
_HAS_HIDDEN = text("""
SELECT EXISTS (SELECT 1 FROM service_at_location sal
               WHERE sal.confidential AND sal.searchable AND sal.type_code = :code AND sal.delivery <> 'online'),
       EXISTS (SELECT 1 FROM service_at_location sal
               WHERE sal.confidential AND sal.searchable AND sal.type_code = :code AND sal.delivery = 'outreach')
""")
_STATE_FULL = text("""
INSERT INTO coverage_state (type_code, refreshed_at, updated_at) VALUES (:code, now(), now())
ON CONFLICT (type_code) DO UPDATE SET refreshed_at = now(), updated_at = now()
""")
_STATE_UPDATED = text("""
INSERT INTO coverage_state (type_code, updated_at) VALUES (:code, now())
ON CONFLICT (type_code) DO UPDATE SET updated_at = now()
""")
_FORGET_NOTES = text("DELETE FROM coverage_dirty WHERE type_code = :code")
# The figures of settlements gone (coverage has no foreign key to them: see migration 0021).
_FORGET_GONE = text("""
DELETE FROM coverage c WHERE c.type_code = :code AND NOT EXISTS (SELECT 1 FROM settlement s WHERE s.id = c.settlement_id)
""")
_KINDS = text("SELECT code FROM taxonomy_term ORDER BY position, code")


def kinds(conn: Connection) -> list[str]:
    """Every kind of help's code, in the taxonomy's order."""
    return list(conn.execute(_KINDS).scalars())


def _measure_target(conn: Connection, code: str) -> int:
    """Measure the settlements of coverage_target for `code`, then again with the country condition those whose
    nearest lies abroad; the number measured."""
    conn.execute(_TARGET_ANALYZE)
    hidden = tuple(conn.execute(_HAS_HIDDEN, {"code": code}).one())
    measured = conn.execute(text(_measure_sql(code, False, *hidden))).rowcount
    if conn.execute(_FOREIGN, {"code": code}).scalar_one():
        countries = list(conn.execute(_COUNTRIES, {"code": code}).scalars())
        conn.execute(text(_measure_sql(code, True, *hidden)), {"countries": countries})
    return measured


def refresh_kind(conn: Connection, code: str, region: str | None = None) -> int:
    """Compute kind `code` for every settlement (of `region` only, when given), in the caller's transaction, under
    the kind's lock; the number of settlements measured. A computation of every settlement forgets the kind's
    notes made before it (it sees their changes)."""
    conn.execute(_NO_TIMEOUT)
    conn.execute(_KIND_LOCK, {"code": code})
    if region is None:
        conn.execute(_FORGET_NOTES, {"code": code})
        conn.execute(_FORGET_GONE, {"code": code})
    conn.execute(_TARGET)
    conn.execute(_TARGET_EMPTY)
    if region is None:
        conn.execute(_TARGET_FILL["all"])
    else:
        conn.execute(_TARGET_FILL["region"], {"region": region})
    measured = _measure_target(conn, code)
    conn.execute(_STATE_FULL if region is None else _STATE_UPDATED, {"code": code})
    return measured


# --- what edits changed ---------------------------------------------------------------------------------------------
_TAKEN = text("CREATE TEMP TABLE IF NOT EXISTS coverage_taken (LIKE coverage_dirty) ON COMMIT DROP")
_ONLY = "(CAST(:kinds AS text[]) IS NULL OR {column} = ANY(CAST(:kinds AS text[])))"
_TAKE = text(f"""
WITH taken AS (DELETE FROM coverage_dirty WHERE {_ONLY.format(column="type_code")} RETURNING *)
INSERT INTO coverage_taken SELECT * FROM taken
""")
# The kinds to compute in full: noted whole, noted too often, or never computed (by the notes taken, or waiting).
_WHOLE = """
SELECT t.code FROM taxonomy_term t
WHERE {only}
  AND (EXISTS (SELECT 1 FROM {notes} e WHERE e.type_code = t.code AND e.whole)
   OR (SELECT count(*) FROM {notes} e WHERE e.type_code = t.code) > :full_above
   OR NOT EXISTS (SELECT 1 FROM coverage_state st WHERE st.type_code = t.code AND st.refreshed_at IS NOT NULL))
ORDER BY t.position, t.code
"""
_WHOLE_KINDS = text(_WHOLE.format(only=_ONLY.format(column="t.code"), notes="coverage_taken"))
_WHOLE_WAITING = text(_WHOLE.format(only=_ONLY.format(column="t.code"), notes="coverage_dirty"))


def whole_waiting(conn: Connection, kinds: list[str] | None = None, full_above: int = FULL_ABOVE) -> list[str]:
    """The kinds (of `kinds`, when given) whose waiting notes call for a computation in full."""
    return list(conn.execute(_WHOLE_WAITING, {"full_above": full_above, "kinds": kinds}).scalars())
# The settlements to measure again, per kind (kinds computed in full left out).
_TODO = text("""
CREATE TEMP TABLE coverage_todo ON COMMIT DROP AS
SELECT c.type_code, c.settlement_id FROM coverage_taken e JOIN coverage c ON c.nearest_sal_id = e.sal_id
UNION
SELECT c.type_code, c.settlement_id FROM coverage_taken e JOIN coverage c ON c.public_sal_id = e.sal_id
UNION
SELECT c.type_code, c.settlement_id FROM coverage_taken e
  JOIN coverage c ON c.type_code = e.type_code AND c.reach_box && CAST(e.point AS geometry)
  JOIN settlement s ON s.id = c.settlement_id
  WHERE c.reach_box IS NOT NULL
    AND (greatest(c.distance_m, c.public_distance_m + :shift) IS NULL
         OR ST_Distance(s.geog, e.point, false) < greatest(c.distance_m, c.public_distance_m + :shift) * :slack + 1.0)
UNION
SELECT e.type_code, s.id FROM coverage_taken e JOIN settlement s ON ST_DWithin(s.geog, e.point, e.reach_m + :shift)
  WHERE e.reach_m IS NOT NULL
UNION
SELECT e.type_code, s.id FROM coverage_taken e JOIN settlement s ON ST_Intersects(e.area, s.geog)
  WHERE e.area IS NOT NULL
""")
_TODO_KINDS = text("""
SELECT type_code, count(*) FROM coverage_todo WHERE type_code <> ALL(CAST(:whole AS text[]))
  AND type_code IN (SELECT code FROM taxonomy_term)
GROUP BY type_code ORDER BY type_code
""")
_DROP_WORK = text("DROP TABLE IF EXISTS coverage_todo, coverage_taken")


class Drained(TypedDict):
    """What a drain did: the kinds computed in full, and per other kind the settlements measured again."""

    notes: int
    full: list[str]
    measured: dict[str, int]


def refresh_pending(conn: Connection, *, kinds: list[str] | None = None, wait: bool = True,
                    full_above: int = FULL_ABOVE) -> Drained | None:
    """Apply the noted edits (of `kinds` only, when given), in the caller's transaction (commit it to publish the
    figures). Without `wait`, None when another transaction holds the coverage lock (it is draining or computing:
    its figures come)."""
    conn.execute(_NO_TIMEOUT)
    if wait:
        conn.execute(_LOCK)
    elif not conn.execute(_TRY_LOCK).scalar_one():
        return None
    conn.execute(_DROP_WORK)
    conn.execute(_TAKEN)
    notes = conn.execute(_TAKE, {"kinds": kinds}).rowcount
    whole = list(conn.execute(_WHOLE_KINDS, {"full_above": full_above, "kinds": kinds}).scalars())
    for code in whole:
        refresh_kind(conn, code)
    conn.execute(_TODO, {"slack": SPHERE_SLACK, "shift": PUBLIC_SHIFT_M})
    measured = {}
    for code, _count in conn.execute(_TODO_KINDS, {"whole": whole}).all():
        conn.execute(_KIND_LOCK, {"code": code})
        conn.execute(_TARGET)
        conn.execute(_TARGET_EMPTY)
        conn.execute(_TARGET_FILL["todo"], {"code": code})
        measured[code] = _measure_target(conn, code)
        conn.execute(_STATE_UPDATED, {"code": code})
    conn.execute(_DROP_WORK)
    return Drained(notes=notes, full=whole, measured=measured)


_PENDING = text("SELECT count(*) FROM coverage_dirty")


def pending(conn: Connection) -> int:
    """How many notes of edits wait to be applied."""
    return conn.execute(_PENDING).scalar_one()


class KindState(TypedDict):
    type_code: str
    refreshed_at: object  # datetime | None
    updated_at: object
    pending: int


_STATE = text("""
SELECT t.code AS type_code, st.refreshed_at, st.updated_at,
       (SELECT count(*) FROM coverage_dirty d WHERE d.type_code = t.code) AS pending
FROM taxonomy_term t LEFT JOIN coverage_state st ON st.type_code = t.code
ORDER BY t.position, t.code
""")


def state(conn: Connection) -> list[KindState]:
    """Per kind: when computed in full, when last brought up to date, how many notes wait."""
    return [KindState(**row) for row in conn.execute(_STATE).mappings()]


# --- the figures ----------------------------------------------------------------------------------------------------
# Every settlement measured for a kind, with what the figures weigh (unknown counts as 0): the columns of
# coverage/aggregate.py COLUMNS, which counts them.
_MEASURED = """
SELECT s.id, left(s.region_code, 2), s.region_code, s.district_id,
       CASE WHEN s.district_id IS NULL THEN s.municipality END, c.distance_m, c.public_distance_m,
       coalesce(s.population, 0)::bigint, coalesce(s.children, 0)::bigint, s.children IS NULL
FROM coverage c JOIN settlement s ON s.id = c.settlement_id
WHERE c.type_code = %(code)s
"""


def measured(conn: Connection, code: str) -> list[tuple]:
    """Every settlement measured for kind `code`, as plain tuples through the driver's own cursor (at the census'
    size, 167,000 rows: a third of the time SQLAlchemy's rows take)."""
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.execute(_MEASURED, {"code": code})
        return cur.fetchall()


class Unserved(TypedDict):
    settlement_id: int
    name: str
    region_code: str
    district_id: int | None
    district: str | None
    population: int | None
    children: int | None
    distance_m: float | None
    confidential: bool


# The largest settlements with no such help within the distance (population, then children).
_UNSERVED = text("""
SELECT s.id AS settlement_id, s.name_ru AS name, s.region_code, s.district_id,
       coalesce(d.name_ru, s.municipality) AS district,
       s.population, s.children, c.distance_m, c.confidential
FROM coverage c JOIN settlement s ON s.id = c.settlement_id LEFT JOIN district d ON d.id = s.district_id
WHERE c.type_code = :code AND (c.distance_m IS NULL OR c.distance_m > :beyond_m)
  AND (CAST(:regions AS text[]) IS NULL OR s.region_code = ANY(CAST(:regions AS text[])))
ORDER BY s.population DESC NULLS LAST, s.children DESC NULLS LAST, s.id
LIMIT :limit
""")


def unserved(conn: Connection, code: str, beyond_m: float, regions: list[str] | None = None,
             limit: int = 20) -> list[Unserved]:
    """The largest settlements (of `regions` when given) with no help of kind `code` within `beyond_m`."""
    return [Unserved(**row) for row in conn.execute(
        _UNSERVED, {"code": code, "beyond_m": beyond_m, "regions": regions, "limit": limit}).mappings()]


# The figures kept at the default thresholds (migration 0021's coverage_figures).
# The figures kept, with only the region's own groups (and its districts') when one is asked: the body holds every
# region's (1.2 MB of JSON at the census' size), cut where it is stored.
_STORED = text("""
SELECT version, CASE WHEN CAST(:region AS text) IS NULL THEN body ELSE jsonb_build_object(
         'country', body -> 'country',
         'regions', jsonb_path_query_array(body -> 'regions', '$[*] ? (@.region_code == $r)',
                                           jsonb_build_object('r', CAST(:region AS text))),
         'districts', jsonb_path_query_array(body -> 'districts', '$[*] ? (@.region_code == $r)',
                                             jsonb_build_object('r', CAST(:region AS text)))) END AS body
FROM coverage_figures WHERE type_code = :code AND public = :public
""")
_STORE = text("""
INSERT INTO coverage_figures (type_code, public, version, body) VALUES (:code, :public, :version, CAST(:body AS jsonb))
ON CONFLICT (type_code, public) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body
  WHERE coverage_figures.version <= EXCLUDED.version
""")
_VERSION = text("SELECT updated_at FROM coverage_state WHERE type_code = :code")


def version(conn: Connection, code: str):
    """The kind's coverage_state.updated_at: the figures kept are valid while it is theirs (None: never computed)."""
    return conn.execute(_VERSION, {"code": code}).scalar_one_or_none()


def stored_figures(conn: Connection, code: str, public: bool, region: str | None = None) -> tuple[object, dict] | None:
    """(version, body) of the figures kept for kind `code`, as the public or staff see them — the whole country's,
    and every region's and district's or only those of `region`; None when none are kept."""
    row = conn.execute(_STORED, {"code": code, "public": public, "region": region}).one_or_none()
    return None if row is None else (row.version, row.body)


def store_figures(conn: Connection, code: str, public: bool, at_version, body_json: str) -> None:
    """Keep the figures computed at `at_version` (an older computation never replaces a newer one)."""
    conn.execute(_STORE, {"code": code, "public": public, "version": at_version, "body": body_json})


# The published online services of a kind per country and region they serve (service_area.region_code, as nearest
# help finds them): counted apart, never as coverage.
_ONLINE = text("""
SELECT left(a.region_code, 2) AS country, GROUPING(a.region_code) = 1 AS whole_country, a.region_code,
       count(DISTINCT a.service_id) AS services
FROM service_area a JOIN service_at_location sal ON sal.service_id = a.service_id
WHERE a.type_code = :code AND a.region_code IS NOT NULL AND sal.searchable AND sal.delivery = 'online'
  AND sal.type_code = :code
GROUP BY GROUPING SETS ((left(a.region_code, 2)), (left(a.region_code, 2), a.region_code))
""")


def online_services(conn: Connection, code: str) -> dict[str, int]:
    """Published online services of kind `code` per country ('RU') and region ('RU-MOS') they serve."""
    return {(row.country if row.whole_country else row.region_code): row.services
            for row in conn.execute(_ONLINE, {"code": code})}


_DISTRICT_NAMES = text("SELECT id, name_ru FROM district WHERE id = ANY(CAST(:ids AS int[]))")
_REGION_NAMES = text("SELECT code, name_ru FROM region")


def district_names(conn: Connection, ids: list[int]) -> dict[int, str]:
    return dict(conn.execute(_DISTRICT_NAMES, {"ids": ids}).all())


def region_names(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(_REGION_NAMES).all())


# --- waiting for edits ----------------------------------------------------------------------------------------------
CHANNEL = "resourcemap_coverage"  # the triggers of migration 0021 NOTIFY it (delivered at the edit's commit)
_LISTEN = f"LISTEN {CHANNEL}"


def listen(engine) -> psycopg.Connection:
    """A connection of its own (autocommit, no statement timeout) listening for the edits' notifications; the
    caller waits on `conn.notifies(...)` and closes it."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(_LISTEN)
    return conn
