"""Food Oasis's nearest search, as it runs (hackforla/food-oasis, Node + PostgreSQL with `cube` + `earthdistance`).

What Food Oasis does (read from its source):
- its database has the `cube` and `earthdistance` extensions and stores `latitude` / `longitude` as numbers on the
  stakeholder row; its schema (server/db/demo-db/foodoasis.sql) has no index on them (only primary keys);
- `stakeholder-best-service.ts` builds `point(<lon>, <lat>) <@> point(s.longitude, s.latitude)` — earthdistance's
  point operator: great-circle distance in statute miles on a sphere of 3958.747 mi — selects it AS distance,
  keeps `distance < <radius>` (the client sends `distance=5`), and orders by distance. Every row of the chosen
  categories is scanned and measured: `<@>` cannot use an index.

The second approach here is earthdistance's own indexed form (its documentation's recipe, which Food Oasis does not
use): a GiST index on `ll_to_earth(latitude, longitude)` (a point on a cube-based sphere of 6378168 m), an
`earth_box` prefilter that the index answers, `earth_distance` to order. It shows what the extension can do at best.
"""
from __future__ import annotations

from .postgis import SqlApproach, kind

KM_PER_MI = 1.609344

FOOD_OASIS_SQL = """
SELECT s.id, point(%(lon)s::float8, %(lat)s::float8) <@> point(s.longitude, s.latitude) AS distance
FROM bench_peers.place s
WHERE s.type_code = %(type)s
  AND point(%(lon)s::float8, %(lat)s::float8) <@> point(s.longitude, s.latitude) < %(radius)s
ORDER BY distance
LIMIT 10
"""

EARTH_BOX_SQL = """
SELECT s.id, earth_distance(ll_to_earth(%(lat)s::float8, %(lon)s::float8), ll_to_earth(s.latitude, s.longitude)) AS d
FROM bench_peers.place s
WHERE s.type_code = %(type)s
  AND earth_box(ll_to_earth(%(lat)s::float8, %(lon)s::float8), %(radius_m)s) @> ll_to_earth(s.latitude, s.longitude)
  AND earth_distance(ll_to_earth(%(lat)s::float8, %(lon)s::float8), ll_to_earth(s.latitude, s.longitude))
      <= %(radius_m)s
ORDER BY d
LIMIT 10
"""


def _within_radius(key: str, label: str, sql: str, radius_mi: float, radius: dict, note: str) -> SqlApproach:
    """An earthdistance statement within `radius_mi` miles of the origin; `radius` holds its radius parameter."""
    return SqlApproach(
        key=f"{key}_{radius_mi:g}mi",
        label=f"{label}, {radius_mi:g} mi, SQL",
        statement=lambda req: (sql, {"lat": req["lat"], "lon": req["lon"], "type": kind(req), **radius}),
        radius_km=radius_mi * KM_PER_MI,
        distance="sphere",
        notes=[f"radius {radius_mi:g} miles{note}"],
    )


def approach(radius_mi: float) -> SqlApproach:
    return _within_radius("foodoasis", "Food Oasis: earthdistance <@>, no index", FOOD_OASIS_SQL, radius_mi,
                          {"radius": radius_mi}, " (the distance its client sends); a sequential scan of every place")


def indexed_approach(radius_mi: float) -> SqlApproach:
    return _within_radius("earthbox", "earthdistance indexed: GiST ll_to_earth + earth_box", EARTH_BOX_SQL, radius_mi,
                          {"radius_m": radius_mi * KM_PER_MI * 1000.0},
                          "; GiST index ix_place_earth answers the earth_box")
