"""The anonymous request log of the dispatch console (migration 0005) and the gaps report read from it: where a
search came from (settlement, district, region; never the point itself), the row of a consultation with how many
services of each kind lay within 30 and 100 km, and per region the districts with the most requests that found
nothing (search/gaps.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

_INSERT_SQL = text("""
INSERT INTO request_log (at, origin, settlement_id, district_id, region_code, age_band)
VALUES (date_trunc('hour', now()), :origin, :settlement_id, :district_id, :region_code, :age_band)
RETURNING id
""")

_UPDATE_SQL = text("""
UPDATE request_log SET age_band = :age_band
WHERE id = :id AND origin = :origin AND settlement_id IS NOT DISTINCT FROM :settlement_id
  AND district_id IS NOT DISTINCT FROM :district_id AND at >= date_trunc('hour', now()) - interval '1 hour'
RETURNING id
""")

_KINDS_SQL = text("""
INSERT INTO request_log_kind (request_id, type_code, within_30_km, within_100_km)
SELECT :id, k.code, k.n30, k.n100
FROM unnest(CAST(:codes AS text[]), CAST(:n30 AS smallint[]), CAST(:n100 AS smallint[])) AS k(code, n30, n100)
ON CONFLICT (request_id, type_code)
DO UPDATE SET within_30_km = EXCLUDED.within_30_km, within_100_km = EXCLUDED.within_100_km
""")


def record_request(session: Session, *, origin: str, place: dict, age_band: str | None,
                   found: dict[str, tuple[int, int]], continue_id: int | None = None) -> int:
    """Write (or, for the same consultation and place within the hour, update) the log row of a search and its
    counts per kind (`found`: kind -> (within 30 km, within 100 km)); returns its id. The caller commits."""
    params = {"origin": origin, "settlement_id": place.get("settlement_id"),
              "district_id": place.get("district_id"), "region_code": place.get("region_code"),
              "age_band": age_band}
    request_id = None
    if continue_id is not None:
        request_id = session.execute(_UPDATE_SQL, {**params, "id": continue_id}).scalar()
    if request_id is None:
        request_id = session.execute(_INSERT_SQL, params).scalar_one()
    codes = list(found)
    session.execute(_KINDS_SQL, {"id": request_id, "codes": codes,
                                 "n30": [min(found[c][0], 32767) for c in codes],
                                 "n100": [min(found[c][1], 32767) for c in codes]})
    return request_id


# A request "found nothing" for a kind when no service of it lay within the distance; a request is unmet when
# any kind it asked for (or the chosen kind) found nothing. Per region, the districts ranked by unmet requests,
# with the settlements and kinds behind them.
GAPS_SQL = text("""
WITH req AS (
  SELECT l.id, l.region_code, l.district_id, l.settlement_id,
         k.type_code, CASE WHEN :km = 30 THEN k.within_30_km ELSE k.within_100_km END AS found
  FROM request_log l
  JOIN request_log_kind k ON k.request_id = l.id
  WHERE (CAST(:since AS timestamptz) IS NULL OR l.at >= CAST(:since AS timestamptz))
    AND (CAST(:region AS text) IS NULL OR l.region_code = CAST(:region AS text))
    AND (CAST(:kind AS text) IS NULL OR k.type_code = CAST(:kind AS text))
    AND l.region_code IS NOT NULL
),
per_request AS (
  SELECT id, region_code, district_id, settlement_id, bool_or(found = 0) AS unmet,
         array_agg(type_code) FILTER (WHERE found = 0) AS missing
  FROM req GROUP BY id, region_code, district_id, settlement_id
),
per_district AS (
  SELECT region_code, district_id, count(*) AS requests, count(*) FILTER (WHERE unmet) AS unmet
  FROM per_request GROUP BY region_code, district_id
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY region_code ORDER BY unmet DESC, requests DESC, district_id) AS n
  FROM per_district WHERE unmet > 0
)
SELECT rg.code AS region_code, rg.name_ru AS region_name, r.district_id, d.name_ru AS district_name,
       r.requests, r.unmet, r.n AS rank,
       (SELECT coalesce(json_agg(json_build_object('name', x.name, 'unmet', x.c) ORDER BY x.c DESC, x.name), '[]')
          FROM (SELECT coalesce(s.name_ru, '?') AS name, count(*) AS c
                  FROM per_request p LEFT JOIN settlement s ON s.id = p.settlement_id
                 WHERE p.unmet AND p.region_code = r.region_code
                   AND p.district_id IS NOT DISTINCT FROM r.district_id
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5) x) AS settlements,
       (SELECT coalesce(json_agg(json_build_object('code', y.code, 'name', y.name, 'unmet', y.c)
                                 ORDER BY y.c DESC, y.code), '[]')
          FROM (SELECT m.code, t.name_ru AS name, count(*) AS c
                  FROM per_request p CROSS JOIN unnest(p.missing) AS m(code)
                  JOIN taxonomy_term t ON t.code = m.code
                 WHERE p.unmet AND p.region_code = r.region_code
                   AND p.district_id IS NOT DISTINCT FROM r.district_id
                 GROUP BY m.code, t.name_ru) y) AS kinds
FROM ranked r
JOIN region rg ON rg.code = r.region_code
LEFT JOIN district d ON d.id = r.district_id
WHERE r.n <= :top
ORDER BY rg.name_ru, r.n
""")


def gaps_rows(session: Session, *, within_km: int, since: dt.datetime | None, region_code: str | None,
              service_type: str | None, top: int) -> list[dict]:
    """Per region, its `top` districts by requests (since `since`; of one region, of one kind when given) that
    found nothing within `within_km` (30 or 100): region, district, requests, unmet, and the settlements and
    kinds behind them."""
    params = {"km": within_km, "since": since, "region": region_code, "kind": service_type, "top": top}
    return [dict(r) for r in session.execute(GAPS_SQL, params).mappings()]


# --- where a search came from ---------------------------------------------------------------------------------
_PLACE_OF_SETTLEMENT_SQL = text("""
SELECT s.id AS settlement_id, s.district_id, s.region_code FROM settlement s WHERE s.id = :id
""")

# A point: its region, the district that holds it, and the nearest settlement within 30 km (as data/settlements.py's place_of_point).
_PLACE_OF_POINT_SQL = text("""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
r AS (SELECT rm_region_at(p.geom, 20000) AS region_code, p.geom FROM p)
SELECT r.region_code,
       CASE WHEN r.region_code IS NOT NULL THEN rm_district_at(r.geom, r.region_code) END AS district_id,
       (SELECT s.id FROM settlement s
         WHERE ST_DWithin(s.geog, r.geom::geography, 30000)
         ORDER BY s.geog <-> r.geom::geography LIMIT 1) AS settlement_id
FROM r
""")


def place_of_settlement(session: Session, settlement_id: int) -> dict | None:
    """{settlement_id, district_id, region_code} of a settlement; None when there is none."""
    row = session.execute(_PLACE_OF_SETTLEMENT_SQL, {"id": settlement_id}).mappings().first()
    return dict(row) if row else None


def place_of_point(session: Session, lat: float, lon: float) -> dict:
    """{settlement_id, district_id, region_code} of a point: its region, the district that holds it, the nearest
    settlement within 30 km."""
    return dict(session.execute(_PLACE_OF_POINT_SQL, {"lat": lat, "lon": lon}).mappings().one())
