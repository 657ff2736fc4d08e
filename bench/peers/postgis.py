"""The floor: the bare PostGIS KNN query on the service's own table and index, and what every SQL approach shares.

An SQL approach is a statement per request (text with psycopg `%(name)s` placeholders and its parameters); the
suite times it with psycopg 3 over the Unix socket, prepared (each approach at its best), and drives it under
concurrency with pgbench (the same statements with their values written in: see load.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class SqlApproach:
    key: str
    label: str
    statement: Callable[[dict], tuple[str, dict]]  # request -> (SQL, params); the SQL's first column is the id
    radius_km: float | None = None  # answers are bounded by this radius (the peers' own rule)
    distance: str = "spheroid"  # what its order means: spheroid, sphere, planar degrees
    notes: list[str] = field(default_factory=list)

    def ids(self, conn, req: dict) -> list[int]:
        sql, params = self.statement(req)
        return [row[0] for row in conn.execute(sql, params).fetchall()]


def kind(req: dict) -> str:
    code = req["types"][0]
    if not _KIND.match(code):
        raise ValueError(f"not a kind of help: {code!r}")
    return code


# The question is the anonymous API's: a confidential place stands at its public point (migration 0015), found by
# a second KNN on ix_sal_public_geog; the two KNNs are merged in their (sphere) order.
FLOOR_SQL = """
SELECT id, d FROM (
  (SELECT sal.id, ST_Distance(sal.geog, {origin}) AS d, sal.geog <-> {origin} AS knn FROM service_at_location sal
   WHERE sal.searchable AND sal.type_code = %(type)s AND sal.delivery <> 'online' AND NOT sal.confidential
   ORDER BY sal.geog <-> {origin} LIMIT 10)
  UNION ALL
  (SELECT sal.id, ST_Distance(sal.public_geog, {origin}), sal.public_geog <-> {origin} FROM service_at_location sal
   WHERE sal.searchable AND sal.type_code = %(type)s AND sal.delivery <> 'online' AND sal.confidential
   ORDER BY sal.public_geog <-> {origin} LIMIT 10)
) c
ORDER BY knn
LIMIT 10
""".format(origin="CAST(ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) AS geography)")
# (The origin is written in each scan, not joined from a CTE: a KNN index order needs it as a value, and with a
# CTE the planner read the whole kind through a bitmap and sorted it, 180 ms at 1M.)

# The same question on the per-kind planar index of migration 0007 (the kind must be a constant for the planner to
# choose the partial index, and the condition must be the index's: since 0015 it holds no confidential rows): faster,
# but its order is by distance in degrees, which is not a distance on the ground.
PLANAR_SQL = """
SELECT sal.id
FROM service_at_location sal
WHERE sal.searchable AND sal.type_code = '{kind}' AND NOT sal.confidential AND sal.delivery <> 'online'
ORDER BY CAST(sal.geog AS geometry) <-> ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326)
LIMIT 10
"""

FLOOR = SqlApproach(
    key="floor",
    label="floor: PostGIS KNN, SQL",
    statement=lambda req: (FLOOR_SQL, {"lat": req["lat"], "lon": req["lon"], "type": kind(req)}),
    distance="sphere",
    notes=["`ORDER BY geog <-> origin LIMIT 10` on the service's own table and the GiST index `ix_sal_type_geog` "
           "(type_code, geog), made by the bench (the app reads per-kind indexes since migration 0012); `<->` on "
           "geography orders by distance on the sphere; confidential places by their public point, a second KNN "
           "on ix_sal_public_geog (migration 0015)"],
)



def _per_kind_knn(key: str, label: str, sql: str, distance: str, note: str) -> SqlApproach:
    """A KNN statement with the request's kind written into its SQL (`{kind}`): a constant, so that the planner
    chooses the kind's partial index."""
    return SqlApproach(key=key, label=label, distance=distance, notes=[note],
                       statement=lambda req: (sql.format(kind=kind(req)), {"lat": req["lat"], "lon": req["lon"]}))


PLANAR = _per_kind_knn(
    "planar", "PostGIS planar KNN (per-kind index), SQL", PLANAR_SQL, "planar degrees",
    "`ORDER BY geog::geometry <-> point LIMIT 10` on the per-kind partial index `ix_sal_knn_<kind>` "
    "(migration 0007): orders by distance in degrees, so its ten are not the nearest on the ground")

# The bare KNN again, on an index that holds one kind only (bench_peers.ix_knn_geog_<kind>, made by the bench):
# what the floor could be with such an index. The expression is the index's, so the planner uses it.
PER_KIND_SQL = """
SELECT p.id
FROM bench_peers.knn_place p
WHERE p.type_code = '{kind}'
ORDER BY CAST(ST_SetSRID(ST_MakePoint(p.longitude, p.latitude), 4326) AS geography)
         <-> CAST(ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) AS geography)
LIMIT 10
"""

PER_KIND = _per_kind_knn(
    "perkind", "PostGIS KNN, per-kind geography index (bench-only), SQL", PER_KIND_SQL, "sphere",
    "`ORDER BY geography <-> origin LIMIT 10` on a partial GiST index holding one kind "
    "(bench_peers.ix_knn_geog_<kind>, not in the app's schema)")
