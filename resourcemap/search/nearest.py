"""Nearest help: which services of these kinds are nearest to this family.

The ranking distance is the geodesic on the WGS84 spheroid (`ST_Distance(geography, geography)`):

1. per kind of help, a KNN scan (`<->`) of that kind's small planar index `ix_sal_knn_<code>` (migration 0007)
   picks k candidates near the family: cheap, and any k candidates will do for step 2;
2. the k-th smallest spheroidal distance among them is an upper bound of the true k-th; widened by SPHERE_SLACK
   (sphere and spheroid distances differ by well under 1 %), it bounds an `ST_DWithin(..., use_spheroid =>
   false)` on the geography index `ix_sal_type_geog` that collects every service that could rank;
3. those are ranked exactly by `ST_Distance` on the spheroid. The planar order of step 1 never decides the answer,
   so near-ties, high latitudes and the antimeridian come out right.

Outreach services that reach the family join the candidates with `reaches_you`: those whose radius (a geodesic
distance from their location) holds the family, found per kind with `ix_sal_outreach_type_geog`, and those whose
drawn area covers it (`ix_service_area_drawn`). They are ranked by the OUTREACH RULE: a service that comes to the
family counts as if it stood `outreach_equivalent_km` away (15 km by default) or at its true distance if nearer. So a team that travels to
the family beats a site 60 km away, but a site in the family's own town still comes first.

The search is never bounded by region. Online services are listed apart: those serving the family's region.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import text
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


@dataclass
class NearestAnswer:
    results: list[dict] = field(default_factory=list)
    online: list[dict] = field(default_factory=list)


def _filters(q: NearestQuery) -> str:
    """SQL conditions on service_at_location `sal` for the optional filters (only those asked for)."""
    parts = []
    if q.age_months is not None:
        parts.append("(sal.age_min_months IS NULL OR sal.age_min_months <= :age)"
                     " AND (sal.age_max_months IS NULL OR :age <= sal.age_max_months)")
    if q.open_now:
        parts.append("rm_open_at(sal.service_id, sal.timezone, CAST(:at AS timestamptz)) IS TRUE")
    return " AND ".join(parts) or "true"


# Details of the chosen rows, one round trip: service, organization, location, settlement, phones, open-now.
_DETAILS = """
SELECT r.sal_id, r.d AS distance_m, r.reaches AS reaches_you,
       s.id AS service_id, s.type_code, s.name AS service_name, s.delivery, s.age_min_months, s.age_max_months,
       s.capacity_total, s.capacity_free, s.capacity_updated_at,
       rm_open_at(s.id, l.timezone, CAST(:at AS timestamptz)) AS open_now,
       o.id AS organization_id, o.name AS organization_name, o.verified_at, o.is_synthetic,
       l.id AS location_id, l.name AS location_name, l.address, l.confidential, l.approximate, l.timezone,
       ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon, l.region_code,
       st.id AS settlement_id, st.name_ru AS settlement_name,
       (SELECT coalesce(json_agg(json_build_object('number', p.number, 'kind', p.kind, 'note', p.note)
                                 ORDER BY p.kind <> 'intake', p.id), '[]')
          FROM phone p
         WHERE p.organization_id = o.id AND (p.service_id IS NULL OR p.service_id = s.id)
           AND (p.location_id IS NULL OR p.location_id = l.id)) AS phones
FROM ranked r
JOIN service s ON s.id = r.service_id
JOIN organization o ON o.id = s.organization_id
JOIN location l ON l.id = r.location_id
LEFT JOIN settlement st ON st.id = l.settlement_id
ORDER BY r.rank_m, r.d, r.sal_id
"""

_NEAREST_SQL = """
WITH origin AS (
  SELECT CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography) AS g
),
knn AS (
{knn}
),
bound AS (
  SELECT max(d) * :slack + 1.0 AS r FROM (SELECT d FROM knn ORDER BY d LIMIT :k) top_k
),
candidates AS (
  SELECT sal.id AS sal_id, sal.service_id, sal.location_id, ST_Distance(sal.geog, origin.g) AS d,
         false AS reaches
  FROM origin, bound, service_at_location sal
  WHERE sal.searchable AND sal.type_code = ANY(CAST(:types AS text[])) AND sal.delivery <> 'online'
    AND {filters} AND ST_DWithin(sal.geog, origin.g, bound.r, false)
  UNION ALL
  -- outreach within its radius (a geodesic distance) of the family. Among services that reach the family the
  -- rule ranks by distance, so per kind only the nearest few can make the list: a KNN scan of
  -- ix_sal_outreach_type_geog bounded by the largest radius there is, keeping those whose radius holds the family.
  SELECT o.id, o.service_id, o.location_id, ST_Distance(o.geog, origin.g), true
  FROM origin, unnest(CAST(:types AS text[])) AS t(code)
  CROSS JOIN LATERAL (
    SELECT sal.id, sal.service_id, sal.location_id, sal.geog FROM service_at_location sal
    WHERE sal.searchable AND sal.delivery = 'outreach' AND sal.type_code = t.code AND {filters}
      AND ST_DWithin(sal.geog, origin.g,
                     (SELECT coalesce(max(radius_km), 0) * 1000.0 * :slack FROM service_area
                       WHERE radius_km IS NOT NULL), false)
      AND EXISTS (SELECT 1 FROM service_area a
                   WHERE a.service_id = sal.service_id AND a.radius_km IS NOT NULL
                     AND ST_DWithin(sal.geog, origin.g, a.radius_km * 1000.0))
    ORDER BY sal.geog <-> origin.g
    LIMIT :k_reach
  ) o
  UNION ALL
  -- outreach whose drawn area covers the family (ix_service_area_drawn)
  SELECT sal.id, sal.service_id, sal.location_id, ST_Distance(sal.geog, origin.g), true
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
)
""" + _DETAILS

# The online services that serve a region: those whose service area names the region (the write path gives every
# online service its regions, by default the region of its location). Per kind, an index scan of
# ix_service_area_region (region_code, service_id) that stops after :per_kind matches.
_ONLINE_SQL = """
WITH origin AS (
  SELECT CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography) AS g
),
ranked AS (
  SELECT o.id AS sal_id, o.service_id, o.location_id, ST_Distance(o.geog, origin.g) AS d,
         false AS reaches, 0 AS rank_m
  FROM origin, unnest(CAST(:types AS text[])) AS t(code)
  CROSS JOIN LATERAL (
    SELECT sal.id, sal.service_id, sal.location_id, sal.geog
    FROM service_area a
    JOIN service_at_location sal ON sal.service_id = a.service_id
    WHERE a.region_code = :region AND sal.searchable AND sal.delivery = 'online' AND sal.type_code = t.code
      AND {filters}
    ORDER BY a.service_id
    LIMIT :per_kind
  ) o
)
""" + _DETAILS


_TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# Per kind of help, k candidates in planar order from that kind's partial index ix_sal_knn_<code> (migration 0007).
# The code is written into the SQL (it must be a constant for the planner to choose a partial index); it comes
# from the taxonomy and is checked against _TYPE_CODE.
_KNN_PART = """  (SELECT ST_Distance(sal.geog, origin.g) AS d FROM origin, service_at_location sal
   WHERE sal.searchable AND sal.type_code = '{code}' AND sal.delivery <> 'online' AND {filters}
   ORDER BY CAST(sal.geog AS geometry) <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
   LIMIT :k)"""


def _nearest_sql(q: NearestQuery, filters: str) -> str:
    for code in q.service_types:
        if not _TYPE_CODE.match(code):
            raise ValueError(f"not a service type code: {code!r}")
    knn = "\n  UNION ALL\n".join(_KNN_PART.format(code=code, filters=filters) for code in q.service_types)
    return _NEAREST_SQL.format(knn=knn, filters=filters)


def _params(q: NearestQuery) -> dict:
    return {"lat": q.lat, "lon": q.lon, "types": list(q.service_types), "k": q.limit, "slack": SPHERE_SLACK,
            # reaching services are taken nearest-first on the sphere: a margin keeps spheroid near-ties in
            "k_reach": 2 * q.limit + 5,
            "age": q.age_months, "at": q.at or dt.datetime.now(dt.timezone.utc),
            "outreach_m": q.outreach_equivalent_km * 1000.0}


def online_services(session: Session, q: NearestQuery, region_code: str, per_kind: int = 5) -> list[dict]:
    """Online services of the kinds in `q` that serve `region_code`, at most `per_kind` of each kind (oldest
    entries first); exact rows."""
    params = {**_params(q), "region": region_code, "per_kind": per_kind}
    rows = session.execute(text(_ONLINE_SQL.format(filters=_filters(q))), params).mappings()
    return [dict(r, beyond_radius=False) for r in rows]


def nearest_services(session: Session, q: NearestQuery, region_code: str | None) -> NearestAnswer:
    """The `q.limit` services of the asked kinds nearest to (q.lat, q.lon), by geodesic distance on the
    spheroid, with the outreach rule applied; plus the online services of `region_code`.

    Rows are exact (unredacted): the caller chooses the view (search/views.py). With `within_km`, only
    services inside the radius are returned; when none is, the nearest are returned with `beyond_radius`.
    """
    params = _params(q)
    filters = _filters(q)
    rows = [dict(r) for r in session.execute(text(_nearest_sql(q, filters)), params).mappings()]
    for row in rows:
        row["beyond_radius"] = False
    if q.within_km is not None:
        inside = [r for r in rows if r["distance_m"] <= q.within_km * 1000.0 or r["reaches_you"]]
        if inside:
            rows = inside
        else:
            for row in rows:
                row["beyond_radius"] = True
    online = online_services(session, q, region_code) if region_code else []
    return NearestAnswer(results=rows, online=online)
