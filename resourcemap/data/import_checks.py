"""The spatial questions of an import's dry run (exchange/checks.py), each one set-based over all rows at once:
which points lie outside the region and where they are instead, which settlement each place belongs to, which new
places look like a duplicate. The points travel as array literals (data/arrays.py); the within-file duplicate
search uses a temporary table of grid cells."""
from __future__ import annotations

from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.orm import Session

from .arrays import float_array, int_array, records, text_array


class PlaceSettlement(TypedDict):
    """The settlement found for the place of index `i`."""

    i: int
    id: int
    timezone: str
    name_ru: str
    by_name: bool


_POINTS = """
WITH p AS (SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g
           FROM unnest(CAST(:i AS int[]), CAST(:lat AS float8[]), CAST(:lon AS float8[])) AS p(i, lat, lon))
"""

# Prepared-geometry point-in-polygon against the one region (PostGIS caches the prepared boundary for the scan).
_OUTSIDE_REGION = text(_POINTS + """
SELECT p.i FROM p, region r WHERE r.code = :region AND NOT ST_Intersects(r.boundary, p.g)
""")

# Where a point outside the region is: the region holding it (or, in a gap of the simplified boundaries, the one
# within the tolerance), and the region holding the point with latitude and longitude swapped (region_part's
# spatial index).
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

# The settlements' KNN index on geog, one point at a time.
_SETTLEMENT_NEAREST = text("""
SELECT p.i, s.id, s.timezone, s.name_ru
FROM unnest(CAST(:i AS int[]), CAST(:lat AS float8[]), CAST(:lon AS float8[])) AS p(i, lat, lon)
CROSS JOIN LATERAL (
  SELECT s.id, s.timezone, s.name_ru FROM settlement s
  WHERE ST_DWithin(s.geog, CAST(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS geography), :radius)
  ORDER BY s.geog <-> CAST(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS geography) LIMIT 1) s
""")

# New places go to a temporary table with a grid cell each (cells a little over the radius on a side), so that
# places of the same file are compared only with those of the same or an adjacent cell: a hash join on the cell,
# not a spatial index built for one query.
_DROP_NEW_PLACES = text("DROP TABLE IF EXISTS pg_temp.import_new_place")
_CREATE_NEW_PLACES = text("CREATE TEMP TABLE import_new_place (i int, grp int, org_id int, g geography(Point, 4326),"
                          " name_norm text, cx bigint, cy bigint, x float8, y float8) ON COMMIT DROP")
_FILL_NEW_PLACES = text("""
INSERT INTO import_new_place (i, grp, org_id, g, name_norm, cx, cy, x, y)
SELECT i, grp, org_id, CAST(ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geography), rm_name_norm(name),
       floor(lon / :cell_lon)::bigint, floor(lat / :cell_lat)::bigint,
       lon * :metres_per_degree_lon, lat * 110574
FROM unnest(CAST(:i AS int[]), CAST(:grp AS int[]), CAST(:org AS int[]), CAST(:lat AS float8[]),
            CAST(:lon AS float8[]), CAST(:name AS text[])) AS n(i, grp, org_id, lat, lon, name)
""")
# the row count and the join columns' statistics; those of the point and the name would steer no plan here
_ANALYZE_NEW_PLACES = text("ANALYZE import_new_place (i, grp, org_id)")
# Locations' spatial index on geog; the trigram similarity of the normalized names.
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


def _points(ids, lats, lons) -> dict:
    return {"i": int_array(ids), "lat": float_array(lats), "lon": float_array(lons)}


def points_outside_region(session: Session, region_code: str, ids, lats, lons) -> set[int]:
    """The indexes of the points (valid coordinates) that the region's boundary does not hold."""
    return set(session.execute(_OUTSIDE_REGION, {**_points(ids, lats, lons), "region": region_code}).scalars())


def regions_of_points(session: Session, ids, lats, lons, tolerance_m: float) -> list[tuple[int, str | None, str | None]]:
    """(index, the region holding the point or within tolerance_m of it, the region holding it with latitude and
    longitude swapped) per point."""
    return [tuple(r) for r in session.execute(_WHERE_INSTEAD, {**_points(ids, lats, lons), "tolerance": tolerance_m})]


def settlements_by_name(session: Session, ids, lats, lons, names, radius_m: float) -> list[PlaceSettlement]:
    """Per place with a name: the settlement of that name nearest the point within radius_m (by_name true)."""
    params = {**_points(ids, lats, lons), "name": text_array(names), "radius": radius_m}
    return list(records(session.execute(_SETTLEMENT_BY_NAME, params), by_name=True))


def nearest_settlements(session: Session, ids, lats, lons, radius_m: float) -> list[PlaceSettlement]:
    """Per place: the nearest settlement within radius_m (by_name false)."""
    params = {**_points(ids, lats, lons), "radius": radius_m}
    return list(records(session.execute(_SETTLEMENT_NEAREST, params), by_name=False))


def stage_new_places(session: Session, columns: dict, cell_lat: float, cell_lon: float,
                     metres_per_degree_lon: float) -> None:
    """The temporary table of new places (columns: i, grp, org, lat, lon, name, each a sequence), each in its grid
    cell of cell_lat x cell_lon degrees, with planar coordinates in metres."""
    session.execute(_DROP_NEW_PLACES)
    session.execute(_CREATE_NEW_PLACES)
    session.execute(_FILL_NEW_PLACES, {
        "i": int_array(columns["i"]), "grp": int_array(columns["grp"]), "org": int_array(columns["org"]),
        "lat": float_array(columns["lat"]), "lon": float_array(columns["lon"]), "name": text_array(columns["name"]),
        "cell_lat": cell_lat, "cell_lon": cell_lon, "metres_per_degree_lon": metres_per_degree_lon})
    session.execute(_ANALYZE_NEW_PLACES)


def duplicates_in_registry(session: Session, radius_m: float, similarity: float) -> list[dict]:
    """Per staged new place: the registry's active entry of another organization within radius_m whose name is at
    least this similar ({i, id, name, metres}), the most similar."""
    params = {"radius": radius_m, "similarity": similarity}
    return list(records(session.execute(_DUPLICATES_IN_REGISTRY, params)))


def duplicates_in_file(session: Session, radius_m: float, similarity: float) -> list[dict]:
    """Per staged new place: an earlier place of another group within radius_m with a name at least this similar
    ({i, other, metres})."""
    params = {"radius": radius_m, "similarity": similarity}
    return list(records(session.execute(_DUPLICATES_IN_FILE, params)))


def drop_new_places(session: Session) -> None:
    """The temporary table of new places dropped."""
    session.execute(_DROP_NEW_PLACES)
