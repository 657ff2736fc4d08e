"""The public map's questions: which published locations lie in the visible area, and the extras of the
organization page (accessibility notes, open now).

`map_locations` uses the GiST index `ix_location_geog` on location (geog) (`l.geog && <envelope>`) with
`ix_sal_location_id` on service_at_location (location_id) for "a searchable service is there" (`searchable` =
the service is active and its organization published); when kinds of help are chosen, the GiST index
`ix_sal_type_geog` on service_at_location (type_code, geog) WHERE searchable instead. It stops after `limit` rows. Wider
views get counts on a fixed global grid (`map_clusters`), computed by a whole-table scan at most once per
GRID_TTL_S per grid size and kinds, and cached by the caller. Rows are exact (unredacted); the caller shows
them through search/views.location_view.

Confidential locations are placed, filtered and counted by their PUBLIC point (the centre of the
views.CONFIDENTIAL_GRID_KM grid cell, the same snapping as views.snap_point, whose constants are passed in), never
by the exact one: otherwise shrinking the bounding box, or reading the cluster centres, would reveal the door.
The index scan uses an envelope widened by half a grid cell so that every location whose public point is
inside the box is found.
"""
from __future__ import annotations

import math
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from .views import CONFIDENTIAL_GRID_KM, KM_PER_DEGREE_LAT

# The public point of a location row `l` (lat/lon of the exact point in `ex`): exact, or for a confidential
# location the centre of its grid cell (views.snap_point).
_PUBLIC_POINT = """
  CASE WHEN l.confidential THEN (floor(ex.lat / :dlat) + 0.5) * :dlat ELSE ex.lat END AS plat,
  CASE WHEN l.confidential THEN
    (floor(ex.lon / (:grid_km / (:km_deg * greatest(cos(radians((floor(ex.lat / :dlat) + 0.5) * :dlat)), 0.05))))
     + 0.5) * (:grid_km / (:km_deg * greatest(cos(radians((floor(ex.lat / :dlat) + 0.5) * :dlat)), 0.05)))
  ELSE ex.lon END AS plon
"""

# Published locations (a searchable service there, of the chosen kinds) whose PUBLIC point is in the box.
# ix_location_geog finds the candidates in the widened envelope; ix_sal_location_id answers the EXISTS.
_INSIDE = """
WITH cand AS ({candidates}),
pts AS (
  SELECT l.*, {public_point} FROM cand l, LATERAL (SELECT l.lat, l.lon) ex
),
inside AS (
  SELECT * FROM pts WHERE plat BETWEEN :minlat AND :maxlat AND plon BETWEEN :minlon AND :maxlon
)
"""

# The first :limit locations inside, with their details only when there are fewer than :limit (the caller asks
# for one more than it can show: a full answer means "too many, show the grid"). picked is materialized once.
_POINTS_SQL = _INSIDE + """,
picked AS MATERIALIZED (SELECT location_id, organization_id, confidential, lat, lon FROM inside LIMIT :limit),
total AS (SELECT count(*) AS n FROM picked)
SELECT i.location_id, i.organization_id, i.confidential, i.lat, i.lon, total.n AS total,
       (SELECT array_agg(DISTINCT sal.type_code) FROM service_at_location sal
         WHERE sal.location_id = i.location_id AND sal.searchable {type_filter}) AS types,
       l.name AS location_name, l.address, l.approximate, l.region_code,
       o.name AS organization_name, o.is_synthetic, st.id AS settlement_id, st.name_ru AS settlement_name
FROM total
LEFT JOIN picked i ON total.n < :limit
LEFT JOIN location l ON l.id = i.location_id
LEFT JOIN organization o ON o.id = i.organization_id
LEFT JOIN settlement st ON st.id = l.settlement_id
"""


# Counts on a global grid of :cell degrees, each at the mean of its locations' public points.
_GRID_SQL = _INSIDE + """
SELECT floor(plon / :cell)::int AS cx, floor(plat / :cell)::int AS cy, count(*) AS count,
       avg(plat) AS lat, avg(plon) AS lon
FROM inside
GROUP BY 1, 2
"""

GRID_TTL_S = 300  # the overview counts are recomputed at most this often per grid size and kinds of help


def _params(bbox: tuple[float, float, float, float], service_types: list[str] | None) -> tuple[dict, str]:
    minlon, minlat, maxlon, maxlat = bbox
    dlat = CONFIDENTIAL_GRID_KM / KM_PER_DEGREE_LAT
    pad_lat = dlat  # a whole cell: more than the half cell a public point can move
    top = min(max(abs(minlat), abs(maxlat)) + pad_lat, 89.9)
    pad_lon = min(CONFIDENTIAL_GRID_KM / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(top)), 0.05)), 10.0)
    params = {
        "minlon": minlon, "minlat": minlat, "maxlon": maxlon, "maxlat": maxlat,
        "wminlon": max(minlon - pad_lon, -180.0), "wmaxlon": min(maxlon + pad_lon, 180.0),
        "wminlat": max(minlat - pad_lat, -90.0), "wmaxlat": min(maxlat + pad_lat, 90.0),
        "dlat": dlat, "grid_km": CONFIDENTIAL_GRID_KM, "km_deg": KM_PER_DEGREE_LAT,
    }
    type_filter = ""
    if service_types:
        type_filter = "AND sal.type_code = ANY(CAST(:types AS text[]))"
        params["types"] = list(service_types)
    return params, type_filter


# Candidates without a kind of help: locations in the box (ix_location_geog, streamed) with any searchable service.
_CAND_ANY = """
  SELECT l.id AS location_id, l.organization_id, l.confidential,
         ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon
  FROM location l
  WHERE {envelope}
    AND EXISTS (SELECT 1 FROM service_at_location sal WHERE sal.location_id = l.id AND sal.searchable)
"""
# With kinds of help: the searchable services of those kinds in the box (ix_sal_type_geog), one row per location.
_CAND_TYPED = """
  SELECT l.id AS location_id, l.organization_id, l.confidential,
         ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon
  FROM (SELECT DISTINCT sal.location_id FROM service_at_location sal
        WHERE sal.searchable AND sal.type_code = ANY(CAST(:types AS text[])) AND {sal_envelope}) s
  JOIN location l ON l.id = s.location_id
"""


def _candidates(params: dict, typed: bool) -> str:
    envelope = _envelope(params)
    if typed:
        return _CAND_TYPED.format(sal_envelope=envelope.replace("l.geog", "sal.geog"))
    return _CAND_ANY.format(envelope=envelope)


def _envelope(params: dict) -> str:
    """The index condition for the widened box. A geography envelope cannot span 180° of longitude (PostGIS
    refuses antipodal edges), and such a view holds most of the table anyway: then every location is a
    candidate and only the public-point test filters."""
    if params["wmaxlon"] - params["wminlon"] >= 179.0:
        return "true"
    return "l.geog && CAST(ST_MakeEnvelope(:wminlon, :wminlat, :wmaxlon, :wmaxlat, 4326) AS geography)"


def map_locations(session: Session, bbox: tuple[float, float, float, float], service_types: list[str] | None,
                  limit: int) -> list[dict] | None:
    """The published locations whose public point lies in bbox (minlon, minlat, maxlon, maxlat), with the kinds
    of help offered there (only the chosen kinds when `service_types` is given), as exact rows; or None when
    there are `limit` or more (the scan stops there and no details are read)."""
    params, type_filter = _params(bbox, service_types)
    params["limit"] = limit
    sql = _POINTS_SQL.format(type_filter=type_filter, public_point=_PUBLIC_POINT,
                             candidates=_candidates(params, bool(service_types)))
    # A bitmap scan reads the whole box before the LIMIT can stop it (a country view: ~100k index entries);
    # a plain GiST index scan streams and stops after `limit` rows. For this transaction only.
    session.execute(text("SET LOCAL enable_bitmapscan = off"))
    rows = [dict(r) for r in session.execute(text(sql), params).mappings()]
    if rows and rows[0]["total"] >= limit:
        return None
    return [r for r in rows if r["location_id"] is not None]


def grid_size(bbox: tuple[float, float, float, float], cells_across: int) -> float:
    """The grid (degrees, a power of two, at least one confidential cell) for about `cells_across` cells
    across the wider side of the view. Fixed sizes, so that grids can be cached and shared between views."""
    span = max(bbox[2] - bbox[0], (bbox[3] - bbox[1]) * 1.5, 1e-6) / cells_across
    return max(2.0 ** round(math.log2(span)), CONFIDENTIAL_GRID_KM / KM_PER_DEGREE_LAT)


def map_grid(session: Session, service_types: list[str] | None, cell_deg: float) -> list[dict]:
    """Counts of ALL published locations (of the chosen kinds) on the global grid of `cell_deg` degrees, each
    at the mean of its locations' PUBLIC points: [{cx, cy, count, lat, lon}]. A whole-world scan (ix_location_geog
    with the world envelope, i.e. every location): callers cache it (map_clusters)."""
    params, type_filter = _params((-180.0, -90.0, 180.0, 90.0), service_types)
    params["cell"] = cell_deg
    sql = _GRID_SQL.format(type_filter=type_filter, public_point=_PUBLIC_POINT,
                           candidates=_candidates(params, bool(service_types)))
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def map_clusters(session: Session, bbox: tuple[float, float, float, float], service_types: list[str] | None,
                 cell_deg: float, cache: dict | None = None, now: float | None = None) -> list[dict]:
    """The grid counts (map_grid) whose cells meet bbox: {count, lat, lon}. With `cache` (a dict kept by the
    caller, e.g. per app), each grid is computed at most once per GRID_TTL_S."""
    key = (cell_deg, tuple(sorted(service_types or ())))
    now = time.monotonic() if now is None else now
    hit = cache.get(key) if cache is not None else None
    if hit is None or now - hit[0] > GRID_TTL_S:
        hit = (now, map_grid(session, service_types, cell_deg))
        if cache is not None:
            cache[key] = hit
    minlon, minlat, maxlon, maxlat = bbox
    x0, x1 = math.floor(minlon / cell_deg), math.floor(maxlon / cell_deg)
    y0, y1 = math.floor(minlat / cell_deg), math.floor(maxlat / cell_deg)
    return [{"count": g["count"], "lat": g["lat"], "lon": g["lon"]} for g in hit[1]
            if x0 <= g["cx"] <= x1 and y0 <= g["cy"] <= y1]


_EXTRAS_SQL = """
SELECT 'location' AS part, l.id, l.accessibility AS note, NULL::boolean AS open_now
FROM location l WHERE l.organization_id = :org AND NOT l.confidential AND l.accessibility <> ''
UNION ALL
SELECT 'service', s.id, NULL,
       rm_open_at(s.id, coalesce((SELECT l.timezone FROM service_at_location sal JOIN location l
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
