"""The spatial questions of an import's dry run, each one set-based over all rows at once:

- is each point in the region being imported (and if not: where is it, and would swapping latitude and longitude
  put it there);
- which settlement each new or moved location belongs to (by the settlement's name near the point, else the
  nearest one);
- which new locations look like a duplicate: an organization with a similar name (pg_trgm) within 200 m, in the
  registry or elsewhere in the same file.

The points travel as array literals; the within-file duplicate search uses a temporary table of grid cells."""
from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.orm import Session

from .lookup import float_array, int_array, records, text_array

REGION_TOLERANCE_M = 20000  # as the editor: a point this close to the region (simplified coasts) is in it
SETTLEMENT_RADIUS_M = 30000
DUPLICATE_RADIUS_M = 200
DUPLICATE_SIMILARITY = 0.5

_POINTS = """
WITH p AS (SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g
           FROM unnest(CAST(:i AS int[]), CAST(:lat AS float8[]), CAST(:lon AS float8[])) AS p(i, lat, lon))
"""

# Prepared-geometry point-in-polygon against the one region (PostGIS caches the prepared boundary for the scan).
_OUTSIDE_REGION = text(_POINTS + """
SELECT p.i FROM p, region r WHERE r.code = :region AND NOT ST_Intersects(r.boundary, p.g)
""")

# Where a point outside the region is: the region holding it (or, in a gap of the simplified boundaries, the one
# within 20 km), and the region holding the point with latitude and longitude swapped.
_WHERE_INSTEAD = text("""
WITH p AS (SELECT i, lat, lon, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g,
                  CASE WHEN abs(lon) <= 90 AND abs(lat) <= 180 THEN ST_SetSRID(ST_MakePoint(lat, lon), 4326) END AS s
           FROM unnest(CAST(:i AS int[]), CAST(:lat AS float8[]), CAST(:lon AS float8[])) AS p(i, lat, lon)),
     strict AS (SELECT p.i, p.g, p.s, abs(p.lat) <= 90 AND abs(p.lon) <= 180 AS valid,
                       (SELECT rp.region_code FROM region_part rp WHERE ST_Intersects(rp.geom, p.g) LIMIT 1) AS here,
                       (SELECT rp.region_code FROM region_part rp WHERE ST_Intersects(rp.geom, p.s) LIMIT 1) AS swapped
                FROM p)
SELECT i, CASE WHEN here IS NULL AND valid THEN rm_region_at(g, :tolerance) ELSE here END AS here, swapped
FROM strict
""")

# Each distinct name normalized and looked up once (a file names a few hundred settlements in 100,000 rows).
_SETTLEMENT_BY_NAME = text("""
WITH p AS (SELECT i, CAST(ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geography) AS g, name
           FROM unnest(CAST(:i AS int[]), CAST(:lat AS float8[]), CAST(:lon AS float8[]),
                       CAST(:name AS text[])) AS p(i, lat, lon, name)
           WHERE name <> ''),
     named AS MATERIALIZED (
       SELECT n.name, sn.settlement_id
       FROM (SELECT DISTINCT name FROM p) n JOIN settlement_name sn ON sn.name_norm = rm_name_norm(n.name))
SELECT DISTINCT ON (p.i) p.i, s.id, s.timezone, s.name_ru
FROM p JOIN named ON named.name = p.name JOIN settlement s ON s.id = named.settlement_id
WHERE ST_DWithin(s.geog, p.g, :radius)
ORDER BY p.i, ST_Distance(s.geog, p.g, false)
""")

_SETTLEMENT_NEAREST = text("""
SELECT p.i, s.id, s.timezone, s.name_ru
FROM unnest(CAST(:i AS int[]), CAST(:lat AS float8[]), CAST(:lon AS float8[])) AS p(i, lat, lon)
CROSS JOIN LATERAL (
  SELECT s.id, s.timezone, s.name_ru FROM settlement s
  WHERE ST_DWithin(s.geog, CAST(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS geography), :radius)
  ORDER BY s.geog <-> CAST(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS geography) LIMIT 1) s
""")

# New places go to a temporary table with a grid cell each (cells a little over 200 m on a side), so that places
# of the same file are compared only with those of the same or an adjacent cell: a hash join on the cell, not a
# spatial index built for one query.
_DUPLICATE_TABLE = ("DROP TABLE IF EXISTS pg_temp.import_new_place",
                    "CREATE TEMP TABLE import_new_place (i int, grp int, org_id int, g geography(Point, 4326),"
                    " name_norm text, cx bigint, cy bigint, x float8, y float8) ON COMMIT DROP")
_DUPLICATE_FILL = text("""
INSERT INTO import_new_place (i, grp, org_id, g, name_norm, cx, cy, x, y)
SELECT i, grp, org_id, CAST(ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geography), rm_name_norm(name),
       floor(lon / :cell_lon)::bigint, floor(lat / :cell_lat)::bigint,
       lon * :metres_per_degree_lon, lat * 110574
FROM unnest(CAST(:i AS int[]), CAST(:grp AS int[]), CAST(:org AS int[]), CAST(:lat AS float8[]),
            CAST(:lon AS float8[]), CAST(:name AS text[])) AS n(i, grp, org_id, lat, lon, name)
""")
_DUPLICATES_IN_REGISTRY = text("""
SELECT DISTINCT ON (n.i) n.i, o.id, o.name, round(ST_Distance(l.geog, n.g)) AS metres
FROM import_new_place n
JOIN location l ON ST_DWithin(l.geog, n.g, :radius) AND l.active
JOIN organization o ON o.id = l.organization_id AND o.status <> 'inactive'
WHERE o.id IS DISTINCT FROM n.org_id AND similarity(rm_name_norm(o.name), n.name_norm) >= :similarity
ORDER BY n.i, similarity(rm_name_norm(o.name), n.name_norm) DESC, ST_Distance(l.geog, n.g)
""")
_DUPLICATES_IN_FILE = text("""
WITH cell AS (SELECT i, grp, g, name_norm, x, y, cx * 4294967296 + cy AS k FROM import_new_place),
     near AS (SELECT n.i, (n.cx + d.x) * 4294967296 + n.cy + d.y AS k
              FROM import_new_place n,
                   (VALUES (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)) AS d(x, y)),
     -- pairs in adjacent cells within a planar bound that never exceeds the distance (cheap; the planner would
     -- otherwise run the trigram similarity first)
     pair AS MATERIALIZED (
       SELECT a.i AS ai, b.i AS bi
       FROM near JOIN cell a ON a.k = near.k JOIN cell b ON b.i = near.i
       WHERE a.i < b.i AND a.grp <> b.grp AND (a.x - b.x) ^ 2 + (a.y - b.y) ^ 2 <= :radius ^ 2)
SELECT DISTINCT ON (b.i) b.i, a.i AS other, round(ST_Distance(a.g, b.g)) AS metres
FROM pair JOIN import_new_place a ON a.i = pair.ai JOIN import_new_place b ON b.i = pair.bi
WHERE ST_DWithin(a.g, b.g, :radius) AND similarity(a.name_norm, b.name_norm) >= :similarity
ORDER BY b.i, a.i
""")


def points_outside(session: Session, region_code: str, points: dict[int, tuple[float, float]]) -> dict[int, dict]:
    """For the points (index -> (lat, lon)) not in the region: {"here": the region they are in or None,
    "swapped": the region the swapped point is in or None}. Points within 20 km of the region count as in it."""
    if not points:
        return {}
    ids = list(points)
    inside_range = [i for i in ids if abs(points[i][0]) <= 90 and abs(points[i][1]) <= 180]
    params = {"i": int_array(inside_range), "lat": float_array(points[i][0] for i in inside_range),
              "lon": float_array(points[i][1] for i in inside_range), "region": region_code}
    candidates = set(session.execute(_OUTSIDE_REGION, params).scalars()) if inside_range else set()
    candidates |= set(ids) - set(inside_range)
    if not candidates:
        return {}
    order = sorted(candidates)
    rows = session.execute(_WHERE_INSTEAD, {"i": int_array(order), "lat": float_array(points[i][0] for i in order),
                                            "lon": float_array(points[i][1] for i in order),
                                            "tolerance": REGION_TOLERANCE_M})
    out = {}
    for i, here, swapped in rows:
        lat, lon = points[i]
        valid = abs(lat) <= 90 and abs(lon) <= 180
        if valid and here == region_code:
            continue
        out[i] = {"here": here if valid else None, "swapped": swapped}
    return out


def settlements(session: Session, places: dict[int, tuple[float, float, str]]) -> dict[int, dict]:
    """index -> {"id", "timezone", "name_ru", "by_name": bool}: the settlement of that name nearest the point within
    30 km, else the nearest settlement within 30 km (missing when there is none)."""
    if not places:
        return {}
    ids = list(places)
    params = {"i": int_array(ids), "lat": float_array(places[i][0] for i in ids),
              "lon": float_array(places[i][1] for i in ids), "name": text_array(places[i][2] for i in ids),
              "radius": SETTLEMENT_RADIUS_M}
    found = {row["i"]: row for row in records(session.execute(_SETTLEMENT_BY_NAME, params), by_name=True)}
    rest = [i for i in ids if i not in found]
    if rest:
        params = {"i": int_array(rest), "lat": float_array(places[i][0] for i in rest),
                  "lon": float_array(places[i][1] for i in rest), "radius": SETTLEMENT_RADIUS_M}
        found.update({row["i"]: row for row in records(session.execute(_SETTLEMENT_NEAREST, params), by_name=False)})
    return found


def likely_duplicates(session: Session, places: list[tuple[int, int, int | None, float, float, str]]
                      ) -> tuple[dict[int, dict], dict[int, dict]]:
    """For new places (index, group, existing organization id or None, lat, lon, organization name): those near an
    entry of the registry with a similar name (index -> {id, name, metres}) and those near an earlier place of
    another group in the file with a similar name (index -> {other, metres})."""
    if not places:
        return {}, {}
    for statement in _DUPLICATE_TABLE:
        session.execute(text(statement))
    i, grp, org, lat, lon, name = zip(*places)
    cell_lat = 1.05 * DUPLICATE_RADIUS_M / 111_000  # a degree of latitude is at least 110.5 km
    widest = min(max(abs(x) for x in lat), 85.0)
    cell_lon = cell_lat / math.cos(math.radians(widest))  # wide enough at the file's most poleward point
    session.execute(_DUPLICATE_FILL, {"i": int_array(i), "grp": int_array(grp), "org": int_array(org),
                                      "lat": float_array(lat), "lon": float_array(lon), "name": text_array(name),
                                      "cell_lat": cell_lat, "cell_lon": cell_lon,
                                      # the fewest metres a degree of longitude has anywhere in the file
                                      "metres_per_degree_lon": 111_320 * math.cos(math.radians(widest))})
    # the row count and the join columns' statistics; those of the point and the name would steer no plan here
    session.execute(text("ANALYZE import_new_place (i, grp, org_id)"))
    params = {"radius": DUPLICATE_RADIUS_M, "similarity": DUPLICATE_SIMILARITY}
    in_registry = {row["i"]: row for row in records(session.execute(_DUPLICATES_IN_REGISTRY, params))}
    in_file = {row["i"]: row for row in records(session.execute(_DUPLICATES_IN_FILE, params))}
    session.execute(text("DROP TABLE IF EXISTS pg_temp.import_new_place"))
    return in_registry, in_file
