"""The public map's questions: which published locations lie in the visible area (or, when there are too many to
draw, how many per grid cell), and the extras of the organization page (accessibility notes, open now).

Both are answered from the precomputed tables of migration 0009, which triggers keep exact at every commit:
`map_point` (one row per published location at its PUBLIC point, with its kinds of help and what the map shows of
it) and `map_grid_cell` (per grid size in STORED_SIZES and cell, for all its points and per set of kinds offered
together: how many points and the sums of their coordinates).

- `map_clusters`: the cells of the view's grid that meet the box, from map_grid_cell by `ix_map_grid_cell_all`
  (without a filter) or its primary key (level, cx, cy, kinds): a few dozen cells whatever the zoom (four times
  that for the sizes read as 2 x 2 stored cells), times the kind sets found there when filtered. A cell's count
  is all its points, also those outside the box; it is drawn at the mean of its points.
- `map_locations`: the points in the box, by the GiST index `ix_map_point_geom` (float4 boxes) and the exact test
  on the stored float8 lat/lon, with what the map shows of them (copied into map_point: no join).

Which of the two the map gets is search/map.py's `map_view`.

Confidential locations are placed, filtered and counted by their public point (the centre of the
redaction.CONFIDENTIAL_GRID_KM cell; `rm_public_lat`/`rm_public_lon` in 0009, the same arithmetic as redaction.snap_point
without its rounding): shrinking the box or reading the cell means cannot reveal the door. The map tables never
hold the exact point of a confidential location. A box whose minlon is greater than its maxlon crosses the
antimeridian (e.g. Chukotka from 170° E to 170° W) and is read as two boxes.
"""
from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..search.redaction import CONFIDENTIAL_GRID_KM, KM_PER_DEGREE_LAT

# The grid sizes the map uses (search/map.py's grid_size chooses among them only): the confidential cell, then
# powers of two from 1/16 to 32 degrees. Counts are stored for every other one (migration 0009 map_grid_level holds
# STORED_SIZES); a size between is read as 2 x 2 cells of the stored size below it.
CELL_SIZES = (CONFIDENTIAL_GRID_KM / KM_PER_DEGREE_LAT,) + tuple(2.0 ** k for k in range(-4, 6))
STORED_SIZES = CELL_SIZES[:1] + tuple(2.0 ** k for k in range(-4, 5, 2))

# The public point of a location row `l` whose exact point is (ex.lat, ex.lon), in SQL: exact, or for a
# confidential location the centre of its grid cell. It is what map_point stores (tests compare it with
# redaction.snap_point).
_PUBLIC_POINT = """
  rm_public_lat(ex.lat, l.confidential) AS plat,
  rm_public_lon(ex.lat, ex.lon, l.confidential) AS plon
"""

Box = tuple[float, float, float, float]  # minlon, minlat, maxlon, maxlat


def boxes(bbox: Box) -> list[Box]:
    """The box as one or, when it crosses the antimeridian (minlon > maxlon), two boxes within ±180°."""
    minlon, minlat, maxlon, maxlat = bbox
    if minlon <= maxlon:
        return [bbox]
    return [(minlon, minlat, 180.0, maxlat), (-180.0, minlat, maxlon, maxlat)]


def in_box(bbox: Box, geom: str = "p.geom", lon: str = "p.lon", lat: str = "p.lat") -> tuple[dict, str]:
    """The SQL condition that a point (a planar geometry with a GiST index, and its float8 lon/lat) lies in the
    box (two boxes across the antimeridian): the index's `&&` and the exact test; and its bind parameters
    (minlon0, minlat0, ... per part). Planar boxes on degrees: no great-circle edges, so any box works."""
    params: dict = {}
    parts = []
    for i, (minlon, minlat, maxlon, maxlat) in enumerate(boxes(bbox)):
        params.update({f"minlon{i}": minlon, f"minlat{i}": minlat, f"maxlon{i}": maxlon, f"maxlat{i}": maxlat})
        parts.append(f"({geom} && ST_MakeEnvelope(:minlon{i}, :minlat{i}, :maxlon{i}, :maxlat{i}, 4326)"
                     f" AND {lon} BETWEEN :minlon{i} AND :maxlon{i} AND {lat} BETWEEN :minlat{i} AND :maxlat{i})")
    return params, "(" + " OR ".join(parts) + ")"


def _params(bbox: Box, service_types: list[str] | None) -> tuple[dict, str]:
    """Bind parameters for the box(es) and the kinds, and the SQL condition on map_point `p` that both make."""
    params, where = in_box(bbox)
    if service_types:
        params["types"] = list(service_types)
        where += " AND p.kinds && CAST(:types AS text[])"
    return params, where


# The points in the box with what the map shows of them (the caller shows them through redaction.location_view).
_POINTS_SQL = """
SELECT p.location_id, p.organization_id, p.lat, p.lon, p.kinds, p.confidential, p.approximate,
       p.organization_name, p.is_synthetic, p.settlement_id, p.settlement_name,
       (SELECT st.name_kk FROM settlement st WHERE st.id = p.settlement_id) AS settlement_name_kk
FROM map_point p
WHERE {where}
{limit}
"""

# The grid's cells meeting the box: counts of the points offering any of the chosen kinds, at their mean (sums
# are in nanodegrees). {kinds} picks each cell's total row (kinds '{}') or the kind sets that meet the filter. The
# stored grid is :stored degrees; its cells are merged 2^:shift x 2^:shift into the asked grid's cells.
_CELLS_SQL = """
SELECT c.cx >> :shift AS cx, c.cy >> :shift AS cy, sum(c.locations)::int AS count,
       (sum(c.sum_lat) / sum(c.locations) / 1e9)::float8 AS lat,
       (sum(c.sum_lon) / sum(c.locations) / 1e9)::float8 AS lon
FROM map_grid_cell c
WHERE c.level = (SELECT g.level FROM map_grid_level g WHERE g.cell_deg = :stored) AND {kinds}
  AND c.cy BETWEEN :y0 AND :y1 AND ({columns})
GROUP BY 1, 2
ORDER BY 1, 2
"""


def map_clusters(session: Session, bbox: Box, service_types: list[str] | None, cell_deg: float) -> list[dict]:
    """The cells of the global grid of `cell_deg` degrees (one of CELL_SIZES) that meet bbox, with the published
    locations (of any of the chosen kinds) each holds: [{cx, cy, count, lat, lon}], lat/lon the mean of their
    public points."""
    shift = 0 if cell_deg in STORED_SIZES else 1
    n = 1 << shift  # stored cells per asked cell, along each axis

    def stored_range(low: float, high: float) -> tuple[int, int]:
        return math.floor(low / cell_deg) * n, (math.floor(high / cell_deg) + 1) * n - 1

    params: dict = {"stored": cell_deg / n, "shift": shift}
    params["y0"], params["y1"] = stored_range(bbox[1], bbox[3])
    columns = []
    for i, (minlon, _, maxlon, _) in enumerate(boxes(bbox)):
        params[f"x0{i}"], params[f"x1{i}"] = stored_range(minlon, maxlon)
        columns.append(f"c.cx BETWEEN :x0{i} AND :x1{i}")
    kinds = "c.kinds = '{}'"
    if service_types:
        kinds, params["types"] = "c.kinds && CAST(:types AS text[])", list(service_types)
    sql = _CELLS_SQL.format(columns=" OR ".join(columns), kinds=kinds)
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def map_locations(session: Session, bbox: Box, service_types: list[str] | None,
                  limit: int | None = None) -> list[dict]:
    """The published locations whose public point lies in bbox (at most `limit` of them, any), by location id,
    with the kinds of help offered there (only the chosen kinds when `service_types` is given) as `types`.
    lat/lon are the public point; rows carry no name or address of the location (location_name, address: None),
    which the map does not show."""
    params, where = _params(bbox, service_types)
    if limit is not None:
        params["limit"] = limit
    sql = _POINTS_SQL.format(where=where, limit="" if limit is None else "LIMIT :limit")
    result = session.execute(text(sql), params)
    keys = list(result.keys())
    chosen = set(service_types or ())
    rows = []
    for values in result:  # plain tuples: up to points_limit rows, a RowMapping each costs more than the SQL
        row = dict(zip(keys, values), location_name=None, address=None)
        kinds = row.pop("kinds")
        row["types"] = [k for k in kinds if k in chosen] if chosen else kinds
        rows.append(row)
    rows.sort(key=lambda r: r["location_id"])
    return rows


# Open now: rm_hours_open (0024) on the hours joined here, as nearest help's details do.
_EXTRAS_SQL = """
SELECT 'location' AS part, l.id, l.accessibility AS note, NULL::boolean AS open_now
FROM location l WHERE l.organization_id = :org AND NOT l.confidential AND l.accessibility <> ''
UNION ALL
SELECT 'service', s.id, NULL,
       rm_hours_open(s.hours, coalesce((SELECT l.timezone FROM service_at_location sal JOIN location l
                                         ON l.id = sal.location_id WHERE sal.service_id = s.id
                                         ORDER BY l.id LIMIT 1), 'Europe/Moscow'), now())
FROM service s WHERE s.organization_id = :org AND s.active
"""


def organization_extras(session: Session, org_id: int) -> dict:
    """What the organization page shows beyond organizations.organization_by_id: accessibility notes of the
    non-confidential locations {location_id: text}, and whether each service is open now in its location's
    own time zone {service_id: True | False | None (no hours)}."""
    extras: dict = {"accessibility": {}, "open_now": {}}
    for r in session.execute(text(_EXTRAS_SQL), {"org": org_id}).mappings():
        if r["part"] == "location":
            extras["accessibility"][r["id"]] = r["note"]
        else:
            extras["open_now"][r["id"]] = r["open_now"]
    return extras


def registry_has_synthetic(session: Session) -> bool:
    """Does the public registry hold synthetic (demo) organizations? The pages then show the demo banner."""
    return bool(session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM organization WHERE is_synthetic AND status = 'published')")).scalar())
