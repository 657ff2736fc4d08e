"""Ohana API's nearest search, as it runs (codeforamerica/ohana-api, Rails + the geocoder gem).

What Ohana does (read from its source):
- `locations.latitude` / `locations.longitude` are float columns with `add_index :locations, [:latitude, :longitude]`
  (db/migrate/20140328034754_create_locations.rb);
- `GET /api/search?lat_lng=..&radius=..` calls `Location.near([lat, lng], radius)` through `LocationFilter`
  (lib/location_filter.rb): the radius is in miles, 5 when the client gives none, clamped to 0.1..50;
- the geocoder gem's `near` scope (lib/geocoder/stores/active_record.rb, lib/geocoder/sql.rb) selects the haversine
  distance (earth radius 3958.7613 mi = 6371 km) and a "linear" bearing, filters by a bounding box
  (`latitude BETWEEN .. AND longitude BETWEEN ..`, from `Geocoder::Calculations.bounding_box`) AND the distance
  `BETWEEN 0.0 AND radius`, and orders by distance ascending. Results are paged (we take the first 10).

So an answer is bounded by the radius: a family farther than 5 miles (or 50, the most a client may ask) from ten
services of the kind gets fewer than ten, or none.
"""
from __future__ import annotations

import math

from .postgis import SqlApproach, kind

EARTH_RADIUS_MI = 6371.0 * 0.621371192  # Geocoder::Calculations.earth_radius(:mi)
DEFAULT_RADIUS_MI = 5.0  # LocationFilter#call: validated_radius(radius, 5)
MAX_RADIUS_MI = 50.0  # LocationFilter#validated_radius: [[0.1, radius].max, 50].min
KM_PER_MI = 1.609344

# Geocoder::Sql.full_distance with the origin written in (the gem interpolates it into the SQL text).
_DISTANCE = ("{earth} * 2 * ASIN(SQRT(POWER(SIN(({lat} - latitude) * PI() / 180 / 2), 2) + "
             "COS({lat} * PI() / 180) * COS(latitude * PI() / 180) * "
             "POWER(SIN(({lon} - longitude) * PI() / 180 / 2), 2)))")
# Geocoder's default bearing (Geocoder.config.distances = :linear), selected with every row.
_BEARING = ("MOD(CAST((ATAN2(((longitude - {lon}) / 57.2957795), ((latitude - {lat}) / 57.2957795)) * 57.2957795)"
            " + 360 AS decimal), 360)")

OHANA_SQL = """
SELECT id, {distance} AS distance, {bearing} AS bearing
FROM bench_peers.place
WHERE type_code = %(type)s
  AND latitude BETWEEN %(sw_lat)s AND %(ne_lat)s AND longitude BETWEEN %(sw_lon)s AND %(ne_lon)s
  AND ({distance}) BETWEEN 0.0 AND %(radius)s
ORDER BY distance ASC
LIMIT 10
""".format(distance=_DISTANCE.format(earth=EARTH_RADIUS_MI, lat="%(lat)s::float8", lon="%(lon)s::float8"),
           bearing=_BEARING.format(lat="%(lat)s::float8", lon="%(lon)s::float8"))


def bounding_box(lat: float, lon: float, radius_mi: float) -> tuple[float, float, float, float]:
    """Geocoder::Calculations.bounding_box: (sw_lat, sw_lon, ne_lat, ne_lon) of a square `radius_mi` from the point."""
    lat_degree_mi = 2 * math.pi * EARTH_RADIUS_MI / 360
    lon_degree_mi = lat_degree_mi * math.cos(math.radians(lat))
    r_lat = radius_mi / lat_degree_mi
    r_lon = radius_mi / lon_degree_mi
    return lat - r_lat, lon - r_lon, lat + r_lat, lon + r_lon


def approach(radius_mi: float) -> SqlApproach:
    def statement(req: dict) -> tuple[str, dict]:
        sw_lat, sw_lon, ne_lat, ne_lon = bounding_box(req["lat"], req["lon"], radius_mi)
        return OHANA_SQL, {"lat": req["lat"], "lon": req["lon"], "type": kind(req), "radius": radius_mi,
                           "sw_lat": sw_lat, "sw_lon": sw_lon, "ne_lat": ne_lat, "ne_lon": ne_lon}

    which = "its default" if radius_mi == DEFAULT_RADIUS_MI else "its maximum" if radius_mi == MAX_RADIUS_MI else "set"
    return SqlApproach(
        key=f"ohana_{radius_mi:g}mi",
        label=f"Ohana API: B-tree lat/lon + bbox + haversine, {radius_mi:g} mi, SQL",
        statement=statement,
        radius_km=radius_mi * KM_PER_MI,
        distance="sphere",
        notes=[f"radius {radius_mi:g} miles ({which}; Ohana's default is 5, its maximum 50)"],
    )
