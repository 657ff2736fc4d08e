"""The census' staging SQL (gazetteer/census.py's `stage`), set-based: the 2021 census' rows of the regions being
loaded, in temporary tables, located in their regions and districts, their listings of one settlement folded into
one row, paired with today's settlements of the same name, and merged into tmp_settlement (data/gazetteer.py's
staging table). All of it on the load's psycopg cursor."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable

_KIND_SQL = """CASE WHEN {t} = 'г' AND {p} >= 100000 THEN 'city' WHEN {t} = 'г' THEN 'town'
                    WHEN {t} IN ('пгт', 'рп', 'дп', 'кп', 'гп') THEN 'urban_settlement' ELSE 'village' END"""
_RANK_SQL = "array_position(ARRAY['village', 'urban_settlement', 'town', 'city'], {k})"

_LOCATE_SQL = [
    # Each row with its name normalized as every settlement name is, its point, the district its municipality
    # names, whether the point lies in its region, and the district of the region holding it (region_part and
    # district_part: the subdivided boundaries). One pass: a temporary table is rewritten by each UPDATE.
    """CREATE TEMP TABLE tmp_census ON COMMIT DROP AS
    WITH p AS (SELECT r.*, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) AS g FROM tmp_census_raw r)
    SELECT p.*, rm_name_norm(p.name) AS name_norm, NULL::integer AS named_district,
           EXISTS (SELECT 1 FROM region_part rp WHERE rp.region_code = p.region_code
                   AND ST_Intersects(rp.geom, p.g)) AS inside,
           (SELECT min(dp.district_id) FROM district_part dp JOIN district d ON d.id = dp.district_id
            WHERE d.region_code = p.region_code AND ST_Intersects(dp.geom, p.g)) AS point_district,
           0::float8 AS outside_m, false AS elsewhere, false AS moved
    FROM p""",
    "CREATE UNIQUE INDEX ON tmp_census (census_id)",
    "ANALYZE tmp_census",
    # The district a municipality names: its only candidate by name, or the candidate holding most of its
    # settlements (none if no candidate holds any).
    """WITH votes AS (
      SELECT m.region_code, m.municipality, m.district_id, count(c.census_id) AS n,
             count(*) OVER (PARTITION BY m.region_code, m.municipality) AS candidates
      FROM tmp_municipality m
      LEFT JOIN tmp_census c ON c.region_code = m.region_code AND c.municipality = m.municipality
                            AND c.point_district = m.district_id
      GROUP BY m.region_code, m.municipality, m.district_id),
    named AS (
      SELECT DISTINCT ON (region_code, municipality) region_code, municipality, district_id FROM votes
      WHERE n > 0 OR candidates = 1 ORDER BY region_code, municipality, n DESC, district_id)
    UPDATE tmp_census c SET named_district = named.district_id FROM named
    WHERE named.region_code = c.region_code AND named.municipality = c.municipality""",
    # How far outside its region a point lies (the nearest of the region's parts), and whether in another region.
    """UPDATE tmp_census c SET outside_m = (
      SELECT min(ST_Distance(n.geom::geography, c.g::geography))
      FROM (SELECT rp.geom FROM region_part rp WHERE rp.region_code = c.region_code
            ORDER BY rp.geom <-> c.g LIMIT 8) n),
      elsewhere = EXISTS (SELECT 1 FROM region_part rp WHERE ST_Intersects(rp.geom, c.g))
    WHERE NOT c.inside""",
    # Far outside and in another region, or nowhere near (0°, 0°; a lost digit): a point inside the district the
    # municipality names instead. Far out at sea (islands beyond the generalized coast) the point stays, flagged.
    """UPDATE tmp_census c SET g = ST_PointOnSurface(d.boundary), moved = true, point_district = d.id
    FROM district d WHERE d.id = c.named_district AND NOT c.inside AND c.outside_m > %(far)s
      AND (c.elsewhere OR c.outside_m > %(lost)s)""",
    # A point in no district of its region (a coast): the nearest of the region's districts within a few km.
    """UPDATE tmp_census c SET point_district = (
      SELECT d.id FROM district d WHERE d.region_code = c.region_code
        AND ST_DWithin(d.boundary::geography, c.g::geography, %(snap)s)
      ORDER BY ST_Distance(d.boundary::geography, c.g::geography), d.id LIMIT 1)
    WHERE c.point_district IS NULL AND c.region_code IN (SELECT region_code FROM district)""",
]

_FOLD_SQL = [
    # One settlement listed several times (same region, name and type, within SAME_PLACE_M: gazetteer/census.py
    # groups the pairs): one row, the listing of Rosstat's (not DaData's) coordinates, the most populous, first.
    # Listings at one point add up (Москва and Санкт-Петербург are listed once per city district; the same figure
    # repeated is counted once); at different points the chosen listing's figures stand.
    """CREATE TEMP TABLE tmp_census_one ON COMMIT DROP AS
    WITH g AS (SELECT c.census_id, c.src_lat, c.src_lon, c.population, c.children, c.rosstat,
                      coalesce(m.grp, c.census_id) AS grp
               FROM tmp_census c LEFT JOIN tmp_census_group m ON m.census_id = c.census_id),
    chosen AS (SELECT DISTINCT ON (grp) grp, census_id, population, children FROM g
               ORDER BY grp, rosstat DESC, population DESC, census_id),
    figures AS (SELECT grp, count(*) AS listings, count(DISTINCT (src_lat, src_lon)) AS points,
                       sum(DISTINCT population) AS population, sum(DISTINCT children) AS children
                FROM g GROUP BY grp)
    SELECT chosen.census_id, figures.listings,
           (CASE WHEN figures.points = 1 THEN figures.population ELSE chosen.population END)::int AS population,
           (CASE WHEN figures.points = 1 THEN figures.children ELSE chosen.children END)::int AS children
    FROM chosen JOIN figures ON figures.grp = chosen.grp""",
    # Points that two settlements (not two listings of one) share: a geocoder's fallback, not the village.
    """CREATE TEMP TABLE tmp_census_shared ON COMMIT DROP AS
    SELECT c.src_lat, c.src_lon FROM tmp_census c JOIN tmp_census_one o ON o.census_id = c.census_id
    GROUP BY c.src_lat, c.src_lon HAVING count(*) > 1""",
    "ANALYZE tmp_census_one; ANALYZE tmp_census_shared",
    # The settlements of the census, each with its kind and its faults.
    f"""CREATE TEMP TABLE tmp_census_set ON COMMIT DROP AS
    SELECT c.census_id, c.region_code, c.name, c.name_norm, c.census_type, c.municipality, c.oktmo, c.g,
           coalesce(c.named_district, c.point_district) AS district_id, o.population, o.children,
           {_KIND_SQL.format(t='c.census_type', p='o.population')} AS kind,
           array_remove(ARRAY[
             CASE WHEN c.repaired THEN 'coordinates_repaired' END,
             CASE WHEN c.moved THEN 'point_from_district' END,
             CASE WHEN NOT c.inside AND NOT c.moved AND c.outside_m > %(outside)s THEN 'outside_region' END,
             CASE WHEN sh.src_lat IS NOT NULL THEN 'shared_point' END,
             CASE WHEN c.named_district <> c.point_district THEN 'district_mismatch' END,
             CASE WHEN o.population = 0 THEN 'population_zero' END], NULL) AS quality
    FROM tmp_census_one o JOIN tmp_census c ON c.census_id = o.census_id
    LEFT JOIN tmp_census_shared sh ON sh.src_lat = c.src_lat AND sh.src_lon = c.src_lon""",
    "ANALYZE tmp_census_set",
    # Today's settlements of these regions, by each of their names: those of data/regions/ and those added by
    # import-gazetteer (OSM, GeoNames), never the census' own rows of an earlier load.
    """INSERT INTO tmp_settlement (ext_id, name_ru, name_kk, alt_names, kind, region_code, district_id,
                                 population, population_year, lat, lon, timezone, source, source_id)
    SELECT s.ext_id, s.name_ru, s.name_kk, s.alt_names, s.kind, s.region_code, s.district_id, s.population,
           s.population_year, ST_Y(s.geog::geometry), ST_X(s.geog::geometry), s.timezone, s.source, s.source_id
    FROM settlement s
    WHERE s.region_code = ANY(%(codes)s) AND s.source <> 'census'
      AND NOT EXISTS (SELECT 1 FROM tmp_settlement t WHERE t.ext_id = s.ext_id)""",
    """CREATE TEMP TABLE tmp_today ON COMMIT DROP AS
    SELECT t.ext_id, t.region_code, rm_name_norm(n) AS name_norm, bool_or(n = t.name_ru) AS main_name,
           t.population, t.kind, t.timezone, CAST(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS geography) AS geog
    FROM tmp_settlement t, unnest(array_append(t.alt_names, t.name_ru)) AS n
    WHERE t.region_code = ANY(%(codes)s)
    GROUP BY t.ext_id, t.region_code, rm_name_norm(n), t.population, t.kind, t.timezone, t.lat, t.lon""",
    "ANALYZE tmp_today",
]

_PAIRS_SQL = """
SELECT c.census_id, t.ext_id, ST_Distance(c.g::geography, t.geog), c.population, t.population, c.kind, t.kind,
       t.main_name
FROM tmp_census_set c JOIN tmp_today t ON t.region_code = c.region_code AND t.name_norm = c.name_norm
WHERE ST_DWithin(c.g::geography, t.geog, %(radius)s)
UNION ALL
-- Farther apart: only a name that one census settlement and one of today's have in the region (the pair is then
-- taken if the populations agree: one of the two points is wrong, Лаврентия's in the table by 2° of longitude).
SELECT c.census_id, t.ext_id, ST_Distance(c.g::geography, t.geog), c.population, t.population, c.kind, t.kind,
       t.main_name
FROM (SELECT region_code, name_norm FROM tmp_census_set GROUP BY 1, 2 HAVING count(*) = 1
      INTERSECT
      SELECT region_code, name_norm FROM tmp_today GROUP BY 1, 2 HAVING count(DISTINCT ext_id) = 1) u
JOIN tmp_census_set c ON c.region_code = u.region_code AND c.name_norm = u.name_norm
JOIN tmp_today t ON t.region_code = u.region_code AND t.name_norm = u.name_norm AND t.main_name
WHERE NOT ST_DWithin(c.g::geography, t.geog, %(radius)s)
"""

_MERGE_SQL = [
    # Today's settlement keeps its id, names, point and district, and gains the census figures; its population
    # is the census', unless it already is the census' (table 5 of the census, population_year 2021: the
    # official figure, where the table sometimes has a district's) or the census counted nobody; its kind rises
    # to the census type's (a village of GeoNames that the census lists as пгт becomes an urban settlement).
    f"""UPDATE tmp_settlement t SET census_id = c.census_id, census_type = c.census_type, children = c.children,
      oktmo = nullif(c.oktmo, ''), municipality = c.municipality, population = p.population,
      population_year = CASE WHEN c.population > 0 THEN 2021 ELSE t.population_year END,
      kind = CASE WHEN {_RANK_SQL.format(k='p.kind')} > coalesce({_RANK_SQL.format(k='t.kind')}, 0)
                  THEN p.kind ELSE t.kind END,
      quality = CASE WHEN c.population = 0 THEN ARRAY['population_zero'] ELSE '{{}}' END
    FROM tmp_census_match m JOIN tmp_census_set c ON c.census_id = m.census_id
    JOIN tmp_settlement t0 ON t0.ext_id = m.ext_id,
    LATERAL (SELECT x.population, {_KIND_SQL.format(t='c.census_type', p='coalesce(x.population, 0)')} AS kind
             FROM (SELECT CASE WHEN c.population > 0 AND t0.population_year IS DISTINCT FROM 2021
                               THEN c.population ELSE t0.population END AS population) x) p
    WHERE t.ext_id = m.ext_id""",
    # In a region of several time zones, today's settlements' points by zone, for the nearest one's.
    """CREATE TEMP TABLE tmp_zone ON COMMIT DROP AS
    SELECT region_code, timezone, CAST(geog AS geometry) AS g FROM tmp_today WHERE region_code = ANY(%(zoned)s)""",
    "CREATE INDEX ON tmp_zone USING gist (g)",
    # The rest are new settlements (in Russia: Байконур's row only adds figures to the Kazakh town). Time zone:
    # the region's, or in a region of several zones that of the nearest of today's settlements.
    """INSERT INTO tmp_settlement (ext_id, name_ru, name_kk, alt_names, kind, region_code, district_id, population,
                                 population_year, lat, lon, timezone, source, source_id, census_id, census_type,
                                 children, oktmo, municipality, quality)
    SELECT 'census-' || c.census_id, c.name, '', '{}', c.kind, c.region_code, c.district_id, c.population, 2021,
           ST_Y(c.g), ST_X(c.g),
           CASE WHEN c.region_code = ANY(%(zoned)s)
                THEN (SELECT z.timezone FROM tmp_zone z WHERE z.region_code = c.region_code
                      ORDER BY z.g <-> c.g LIMIT 1)
                ELSE r.timezone END,
           'census', c.census_id::text, c.census_id, c.census_type, c.children, nullif(c.oktmo, ''), c.municipality,
           c.quality
    FROM tmp_census_set c JOIN region r ON r.code = c.region_code AND r.country = 'RU'
    WHERE NOT EXISTS (SELECT 1 FROM tmp_census_match m WHERE m.census_id = c.census_id)""",
]

_COUNTS_SQL = """
SELECT (SELECT count(*) FROM tmp_census) AS in_regions,
       (SELECT count(*) FROM tmp_census WHERE repaired) AS coordinates_repaired,
       (SELECT count(*) FROM tmp_census WHERE moved) AS point_from_district,
       (SELECT count(*) FROM tmp_census WHERE NOT inside AND NOT moved AND outside_m > %(outside)s) AS outside_region,
       (SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM tmp_census GROUP BY src_lat, src_lon
                                         HAVING count(*) > 1) x) AS shared_point,
       (SELECT count(*) FROM tmp_census WHERE population = 0) AS population_zero,
       (SELECT count(*) - (SELECT count(*) FROM tmp_census_one) FROM tmp_census) AS listings_folded,
       (SELECT count(*) FROM tmp_census WHERE named_district IS NOT NULL) AS district_named,
       (SELECT count(*) FROM tmp_census WHERE named_district IS NULL AND point_district IS NOT NULL)
         AS district_by_point,
       (SELECT count(*) FROM tmp_census WHERE named_district <> point_district) AS district_disagree,
       (SELECT count(*) FROM tmp_census WHERE named_district IS NULL AND point_district IS NULL) AS no_district,
       (SELECT count(*) FROM tmp_census_match) AS merged,
       (SELECT count(*) FROM tmp_settlement t JOIN region r ON r.code = t.region_code AND r.country = 'RU'
         WHERE t.census_id IS NULL) AS existing_unmatched,
       (SELECT count(*) FROM tmp_settlement WHERE source = 'census') AS new,
       (SELECT count(*) FROM tmp_settlement WHERE quality <> '{}') AS flagged,
       (SELECT count(*) FROM settlement s WHERE s.source = 'census' AND s.region_code = ANY(%(codes)s)
          AND NOT EXISTS (SELECT 1 FROM tmp_settlement t WHERE t.ext_id = s.ext_id)) AS stale
"""

_LISTING_PAIRS_SQL = """
SELECT a.census_id, b.census_id FROM tmp_census a
JOIN tmp_census b ON b.region_code = a.region_code AND b.name_norm = a.name_norm AND b.census_type = a.census_type
 AND b.census_id > a.census_id
WHERE ST_DWithin(a.g::geography, b.g::geography, %(radius)s)
"""


def _run(cur, statement: str, params: dict | None) -> None:
    started = time.perf_counter()
    cur.execute(statement, params)
    if os.environ.get("RESOURCEMAP_LOAD_TIMINGS"):
        print(f"  {time.perf_counter() - started:7.2f} s  {' '.join(statement.split())[:90]}", file=sys.stderr)


def _run_all(cur, statements: list[str], params: dict) -> None:
    """Each statement with those of `params` it names (timed with RESOURCEMAP_LOAD_TIMINGS set)."""
    for statement in statements:
        _run(cur, statement, {k: v for k, v in params.items() if f"%({k})s" in statement} or None)


def _copy(cur, statement: str, rows: Iterable[tuple]) -> None:
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


_RAW_TABLE = """CREATE TEMP TABLE tmp_census_raw (census_id int, region_code text, municipality text, name text,
        census_type text, population int, children int, lat float8, lon float8, src_lat float8, src_lon float8,
        repaired bool, oktmo text, rosstat bool) ON COMMIT DROP"""
_DISTRICTS = "SELECT id, region_code, name_ru FROM district WHERE region_code = ANY(%s) ORDER BY id"
_MUNICIPALITY_TABLE = ("CREATE TEMP TABLE tmp_municipality (region_code text, municipality text, district_id int)"
                       " ON COMMIT DROP")
_ANALYZE_RAW = "ANALYZE tmp_census_raw; ANALYZE tmp_municipality"
_GROUP_TABLE = "CREATE TEMP TABLE tmp_census_group (census_id int PRIMARY KEY, grp int) ON COMMIT DROP"
_MATCH_TABLE = "CREATE TEMP TABLE tmp_census_match (census_id int PRIMARY KEY, ext_id text UNIQUE) ON COMMIT DROP"
_ZONED = ("SELECT region_code FROM tmp_settlement WHERE source <> 'census' GROUP BY region_code"
          " HAVING count(DISTINCT timezone) > 1")


def stage_rows(cur, rows: Iterable[tuple]) -> None:
    """The table's rows (census_id, region_code, municipality, name, census_type, population, children, lat, lon,
    src_lat, src_lon, repaired, oktmo, rosstat) into tmp_census_raw."""
    cur.execute(_RAW_TABLE)
    _copy(cur, "COPY tmp_census_raw FROM STDIN", rows)


def districts_of(cur, codes: list[str]) -> list[tuple[int, str, str]]:
    """(id, region_code, name_ru) of the districts of the regions `codes`."""
    return cur.execute(_DISTRICTS, (codes,)).fetchall()


def stage_municipalities(cur, rows: Iterable[tuple]) -> None:
    """(region_code, municipality, district_id): the districts each municipality may name, into tmp_municipality;
    then the statistics of both staged tables."""
    cur.execute(_MUNICIPALITY_TABLE)
    _copy(cur, "COPY tmp_municipality FROM STDIN", rows)
    cur.execute(_ANALYZE_RAW)


def locate(cur, params: dict) -> None:
    """tmp_census: each row's normalized name, its point, region and district, repaired where it is far off.
    `params`: far, lost and snap (metres)."""
    _run_all(cur, _LOCATE_SQL, params)


def listing_pairs(cur, radius_m: int) -> list[tuple[int, int]]:
    """(census_id, census_id): two listings of the same region, name and type within `radius_m`."""
    return cur.execute(_LISTING_PAIRS_SQL, {"radius": radius_m}).fetchall()


def store_listing_groups(cur, rows: Iterable[tuple[int, int]]) -> None:
    """(census_id, grp): the listings of one settlement, into tmp_census_group."""
    cur.execute(_GROUP_TABLE)
    _copy(cur, "COPY tmp_census_group FROM STDIN", rows)
    cur.execute("ANALYZE tmp_census_group")


def fold(cur, params: dict) -> None:
    """One row per settlement (tmp_census_group's listings folded) with its kind and faults (tmp_census_set), and
    today's settlements of these regions by each of their names (tmp_today). `params`: outside (metres), codes."""
    _run_all(cur, _FOLD_SQL, params)


def candidate_pairs(cur, radius_m: int) -> list[tuple]:
    """(census_id, ext_id, metres, census_population, population, census_kind, kind, by_main_name): a census
    settlement and one of today's of the same region and name, within `radius_m` or the only ones of that name."""
    return cur.execute(_PAIRS_SQL, {"radius": radius_m}).fetchall()


def store_matches(cur, pairs: Iterable[tuple[int, str]]) -> None:
    """(census_id, ext_id): the census settlements matched to today's, into tmp_census_match."""
    cur.execute(_MATCH_TABLE)
    _copy(cur, "COPY tmp_census_match FROM STDIN", pairs)
    cur.execute("ANALYZE tmp_census_match")


def zoned_regions(cur) -> list[str]:
    """The regions whose staged settlements lie in more than one time zone."""
    return [r[0] for r in cur.execute(_ZONED)]


def merge(cur, zoned: list[str]) -> None:
    """The matched census figures into today's staged settlements, the rest added as new settlements."""
    for statement in _MERGE_SQL:
        _run(cur, statement, {"zoned": zoned} if "%(zoned)s" in statement else None)


def counts(cur, params: dict) -> dict[str, int]:
    """What the staging did, by CensusReport's field names. `params`: outside (metres), codes."""
    row = cur.execute(_COUNTS_SQL, params).fetchone()
    return dict(zip((d.name for d in cur.description), row))
