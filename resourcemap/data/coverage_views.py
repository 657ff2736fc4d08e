"""What the coverage page and its downloads draw beside the figures of data/coverage.py: the districts' outlines
(simplified for a web map) and the unmet requests of the dispatch console's request log per district."""
from __future__ import annotations

from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.engine import Connection

SIMPLIFY_DEG = 0.005  # about 500 m: enough for a choropleth, a fraction of the outlines' size


class DistrictShape(TypedDict):
    district_id: int | None  # None: the part of the region outside its known districts (the whole region if none)
    region_code: str
    name: str
    geojson: str  # a GeoJSON geometry (MultiPolygon / Polygon), coordinates to 4 decimals


# The outlines of a region's districts, and of districts of other regions that hold some of its settlements (a
# district crossed by a region border, counted in each region it lies in); then the rest of the region, outside
# its known districts (where settlements without a district lie; the whole region when it has no districts).
_SHAPES = text("""
WITH shown AS (
  SELECT d.id, d.region_code, d.name_ru, ST_SimplifyPreserveTopology(d.boundary, :tolerance) AS geom
  FROM district d
  WHERE d.region_code = :region
     OR d.id IN (SELECT s.district_id FROM settlement s WHERE s.region_code = :region AND s.district_id IS NOT NULL)
), rest AS (
  SELECT NULL::integer AS id, r.code AS region_code, r.name_ru,
         ST_CollectionExtract(ST_Difference(ST_SimplifyPreserveTopology(r.boundary, :tolerance),
           coalesce((SELECT ST_Union(ST_Buffer(geom, 0)) FROM shown WHERE shown.region_code = r.code),
                    'SRID=4326;POLYGON EMPTY'::geometry)), 3) AS geom
  FROM region r WHERE r.code = :region
)
SELECT id AS district_id, region_code, name_ru AS name, ST_AsGeoJSON(geom, 4) AS geojson
FROM (SELECT * FROM shown UNION ALL SELECT * FROM rest) x
WHERE NOT ST_IsEmpty(geom)
ORDER BY id NULLS LAST
""")


def district_shapes(conn: Connection, region: str, tolerance_deg: float = SIMPLIFY_DEG) -> list[DistrictShape]:
    """The outlines of the districts whose figures a region's page shows, and of the rest of the region."""
    return [DistrictShape(**row) for row in conn.execute(
        _SHAPES, {"region": region, "tolerance": tolerance_deg}).mappings()]


class UnmetRequests(TypedDict):
    district_id: int | None
    municipality: str | None  # where the region has no district outlines: the census' municipality
    requests: int
    unmet: int


# Per district of a region (per census municipality where it has no district outlines, as data/coverage.py groups
# its figures; a request from a point there is outside any), the console's consultations that asked for the kind,
# and those that found none of it within the distance (30 or 100 km: what the log keeps), in the period.
_UNMET = text("""
SELECT l.district_id, CASE WHEN l.district_id IS NULL THEN s.municipality END AS municipality,
       count(DISTINCT l.id) AS requests,
       count(DISTINCT l.id) FILTER (WHERE (CASE WHEN :km = 30 THEN k.within_30_km ELSE k.within_100_km END) = 0)
         AS unmet
FROM request_log l JOIN request_log_kind k ON k.request_id = l.id
LEFT JOIN settlement s ON s.id = l.settlement_id
WHERE l.region_code = :region AND k.type_code = :code
  AND (CAST(:since AS timestamptz) IS NULL OR l.at >= CAST(:since AS timestamptz))
GROUP BY 1, 2
ORDER BY 1 NULLS LAST, 2 NULLS LAST
""")


def unmet_requests(conn: Connection, code: str, region: str, within_km: int, since=None) -> list[UnmetRequests]:
    """Per district of `region`: requests for kind `code`, and how many found none within `within_km` (30 or
    100) since `since` (None: all time)."""
    if within_km not in (30, 100):
        raise ValueError("within_km must be 30 or 100")
    return [UnmetRequests(**row) for row in conn.execute(
        _UNMET, {"code": code, "region": region, "km": within_km, "since": since}).mappings()]
