"""The gazetteer's SQL (gazetteer/load.py and gazetteer/importer.py): regions, districts and settlements staged
in temporary tables by COPY and written with one INSERT ... ON CONFLICT per table, the boundaries' parts redrawn,
every spelling of the settlements kept in settlement_name, and the places of a fuller gazetteer placed, checked for
duplicates and added. All of it on a psycopg cursor in one transaction (`bulk_transaction`)."""
from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from typing import NamedTuple

import psycopg
from sqlalchemy import Engine


class Written(NamedTuple):
    """A staged table's upsert: how many rows were staged, and the RETURNING rows of those written."""
    staged: int
    rows: list[tuple]


@contextmanager
def bulk_transaction(engine: Engine):
    """A psycopg cursor on a connection of its own, committed when the block ends (rolled back on an error)."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except Exception:
        raw.driver_connection.rollback()
        raise
    finally:
        raw.close()


def no_statement_timeout(cur) -> None:
    """A bulk load is not a web request."""
    cur.execute("SET LOCAL statement_timeout = 0")


def ask_for_temp_buffers(cur) -> None:
    """The census' staging tables (~40 MB) in memory; refused once the session has used a temporary table."""
    cur.execute("SAVEPOINT temp_buffers")
    try:
        cur.execute("SET LOCAL temp_buffers = '256MB'")
    except psycopg.errors.InvalidParameterValue:
        cur.execute("ROLLBACK TO SAVEPOINT temp_buffers")


# --- load-regions: data/regions/ staged and written --------------------------------------------------------
_STAGING_TABLES = """
    CREATE TEMP TABLE tmp_region (code text, name_ru text, name_en text, country text,
                                  timezone text, geojson text) ON COMMIT DROP;
    CREATE TEMP TABLE tmp_district (ext_id text, region_code text, name_ru text, name_en text,
                                    kind text, geojson text) ON COMMIT DROP;
    CREATE TEMP TABLE tmp_settlement (ext_id text, name_ru text, name_kk text, alt_names text[],
      kind text, region_code text, district_ext_id text, population int, population_year smallint,
      lat float8, lon float8, timezone text, source text, source_id text, district_id int,
      census_id int, census_type text, children int, oktmo text, municipality text,
      quality text[] NOT NULL DEFAULT '{}', seq bigserial) ON COMMIT DROP;
"""
_COPY_REGIONS = "COPY tmp_region FROM STDIN"
_COPY_DISTRICTS = "COPY tmp_district FROM STDIN"
_COPY_SETTLEMENTS = ("COPY tmp_settlement (ext_id, name_ru, name_kk, alt_names, kind, region_code,"
                     " district_ext_id, population, population_year, lat, lon, timezone, source, source_id)"
                     " FROM STDIN")


def _valid_multipolygon(column: str) -> str:
    return f"ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON({column}), 4326)), 3))"


def _boundary_upsert(table: str, alias: str, key: str, columns: tuple[str, ...], returning: str) -> str:
    """tmp_<table> into <table> by its key, the boundary made valid; a stored row whose columns and boundary are
    the same is left as it is (RETURNING names only the rows inserted or changed)."""
    listed = ", ".join(columns)
    return f"""
INSERT INTO {table} AS {alias} ({key}, {listed}, boundary)
SELECT {key}, {listed}, {_valid_multipolygon('geojson')} FROM tmp_{table}
ON CONFLICT ({key}) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in columns)}, boundary = EXCLUDED.boundary
WHERE ({", ".join(f"{alias}.{c}" for c in columns)}) IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in columns)})
   OR NOT ST_Equals({alias}.boundary, EXCLUDED.boundary)
RETURNING (xmax = 0) AS inserted, {returning}
"""


_REGION_SQL = _boundary_upsert("region", "r", "code", ("name_ru", "name_en", "country", "timezone"), "code")
_DISTRICT_SQL = _boundary_upsert("district", "d", "ext_id", ("region_code", "name_ru", "name_en", "kind"), "id")

# Rows the census filled in (census_id set) are left as they are by a load without the census wheel.
_SETTLEMENT_SQL = """
INSERT INTO settlement AS s (ext_id, name_ru, name_kk, alt_names, kind, region_code, district_id, population,
                             population_year, geog, timezone, source, source_id, census_id, census_type, children,
                             oktmo, municipality, quality)
SELECT t.ext_id, t.name_ru, t.name_kk, t.alt_names, t.kind, t.region_code, coalesce(t.district_id, d.id),
       t.population, t.population_year, CAST(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS geography),
       t.timezone, t.source, t.source_id, t.census_id, t.census_type, t.children, t.oktmo, t.municipality,
       t.quality
FROM tmp_settlement t LEFT JOIN district d ON d.ext_id = t.district_ext_id
ORDER BY t.seq  -- new ids in the files' order, the census' after them: a load gives data/regions/ the same ids
ON CONFLICT (ext_id) DO UPDATE SET name_ru = EXCLUDED.name_ru, name_kk = EXCLUDED.name_kk,
  alt_names = EXCLUDED.alt_names, kind = EXCLUDED.kind, region_code = EXCLUDED.region_code,
  district_id = EXCLUDED.district_id, population = EXCLUDED.population,
  population_year = EXCLUDED.population_year, geog = EXCLUDED.geog, timezone = EXCLUDED.timezone,
  source = EXCLUDED.source, source_id = EXCLUDED.source_id, census_id = EXCLUDED.census_id,
  census_type = EXCLUDED.census_type, children = EXCLUDED.children, oktmo = EXCLUDED.oktmo,
  municipality = EXCLUDED.municipality, quality = EXCLUDED.quality
WHERE (%(census)s OR s.census_id IS NULL)
  AND ((s.name_ru, s.name_kk, s.alt_names, s.kind, s.region_code, s.district_id, s.population,
        s.population_year, s.timezone, s.source, s.source_id, s.census_id, s.census_type, s.children, s.oktmo,
        s.municipality, s.quality)
       IS DISTINCT FROM
       (EXCLUDED.name_ru, EXCLUDED.name_kk, EXCLUDED.alt_names, EXCLUDED.kind, EXCLUDED.region_code,
        EXCLUDED.district_id, EXCLUDED.population, EXCLUDED.population_year, EXCLUDED.timezone,
        EXCLUDED.source, EXCLUDED.source_id, EXCLUDED.census_id, EXCLUDED.census_type, EXCLUDED.children,
        EXCLUDED.oktmo, EXCLUDED.municipality, EXCLUDED.quality)
       OR NOT ST_Equals(s.geog::geometry, EXCLUDED.geog::geometry))
RETURNING (xmax = 0) AS inserted
"""

# Boundaries cut into small parts for fast point-in-polygon (migration 0003): redone for what changed.
_PARTS_SQL = """
DELETE FROM region_part WHERE region_code = ANY(%(regions)s);
INSERT INTO region_part SELECT code, (ST_Dump(ST_Subdivide(boundary, 128))).geom FROM region
  WHERE code = ANY(%(regions)s);
DELETE FROM district_part WHERE district_id = ANY(%(districts)s);
INSERT INTO district_part SELECT id, (ST_Dump(ST_Subdivide(boundary, 128))).geom FROM district
  WHERE id = ANY(%(districts)s)
"""

_STAGED_COUNT = "SELECT count(*) FROM {table}"
_ANALYZE_FOR_CENSUS = "ANALYZE region_part; ANALYZE district_part; ANALYZE tmp_settlement"
_ANALYZE_SETTLEMENTS = "ANALYZE settlement"
_ANALYZE_GAZETTEER = "ANALYZE region; ANALYZE district; ANALYZE settlement; ANALYZE settlement_name"
_SETTLEMENT_TOTAL = "SELECT count(*) FROM settlement"


def create_staging_tables(cur) -> None:
    """tmp_region, tmp_district and tmp_settlement, dropped at commit."""
    cur.execute(_STAGING_TABLES)


def _copy(cur, statement: str, rows: Iterable[tuple]) -> int:
    n = 0
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def stage_regions(cur, rows: Iterable[tuple]) -> None:
    """Rows (code, name_ru, name_en, country, timezone, boundary as GeoJSON) into tmp_region."""
    _copy(cur, _COPY_REGIONS, rows)


def stage_districts(cur, rows: Iterable[tuple]) -> None:
    """Rows (ext_id, region_code, name_ru, name_en, kind, boundary as GeoJSON) into tmp_district."""
    _copy(cur, _COPY_DISTRICTS, rows)


def stage_settlements(cur, rows: Iterable[tuple]) -> None:
    """Rows (ext_id, name_ru, name_kk, alt_names, kind, region_code, district_ext_id, population,
    population_year, lat, lon, timezone, source, source_id) into tmp_settlement."""
    _copy(cur, _COPY_SETTLEMENTS, rows)


def _upsert(cur, table: str, statement: str, params: dict | None = None) -> Written:
    staged = cur.execute(_STAGED_COUNT.format(table=table)).fetchone()[0]
    return Written(staged, cur.execute(statement, params).fetchall())


def write_regions(cur) -> Written:
    """tmp_region into region (boundaries made valid); rows (inserted, code) of those inserted or changed."""
    return _upsert(cur, "tmp_region", _REGION_SQL)


def write_districts(cur) -> Written:
    """tmp_district into district; rows (inserted, id) of those inserted or changed."""
    return _upsert(cur, "tmp_district", _DISTRICT_SQL)


def redraw_parts(cur, regions: list[str], districts: list[int]) -> None:
    """The region_part and district_part rows of these regions and districts, cut again from their boundaries."""
    for statement in _PARTS_SQL.split(";\n"):
        cur.execute(statement, {"regions": regions, "districts": districts})


def analyze_for_census(cur) -> None:
    """Statistics of the parts and the staged settlements, which the census' staging plans by."""
    cur.execute(_ANALYZE_FOR_CENSUS)


def write_settlements(cur, census: bool) -> Written:
    """tmp_settlement into settlement; rows (inserted,) of those inserted or changed. Without `census`, the rows
    the census filled in are left as they are."""
    return _upsert(cur, "tmp_settlement", _SETTLEMENT_SQL, {"census": census})


def analyze_settlements(cur) -> None:
    """The settlements' real size, for what is planned next (a first load fills an empty table)."""
    cur.execute(_ANALYZE_SETTLEMENTS)


def analyze_gazetteer(cur) -> None:
    cur.execute(_ANALYZE_GAZETTEER)


def settlement_total(cur) -> int:
    return cur.execute(_SETTLEMENT_TOTAL).fetchone()[0]


# Every spelling of each loaded settlement, normalized: Russian, Kazakh and the alternates; with the settlement's
# population, region and district that the suggestions rank by (copies: migration 0018).
SYNC_NAMES_SQL = """
WITH wanted AS (
  SELECT DISTINCT s.id AS settlement_id, rm_name_norm(n) AS name_norm, s.population, s.region_code, s.district_id
  FROM settlement s, unnest(array_append(array_append(s.alt_names, s.name_ru), s.name_kk)) AS n
  WHERE s.ext_id IN (SELECT ext_id FROM {source}) AND rm_name_norm(n) <> ''
),
removed AS (
  DELETE FROM settlement_name sn
  WHERE sn.settlement_id IN (SELECT s.id FROM settlement s WHERE s.ext_id IN (SELECT ext_id FROM {source}))
    AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.settlement_id = sn.settlement_id AND w.name_norm = sn.name_norm)
  RETURNING 1
),
added AS (
  INSERT INTO settlement_name (settlement_id, name_norm, population, region_code, district_id)
  SELECT settlement_id, name_norm, population, region_code, district_id FROM wanted w
  -- the primary key leaves out the names there already (a NOT EXISTS here could be planned as a scan of the
  -- table per name, which in a first load also visits every row this statement has just inserted)
  ON CONFLICT DO NOTHING RETURNING 1
)
SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM added)
"""


def sync_names(cur, source: str) -> int:
    """The settlement_name rows of the settlements whose ext_id is in the staging table `source`, made to match
    their names; returns how many rows were removed or added."""
    return cur.execute(SYNC_NAMES_SQL.format(source=source)).fetchone()[0]


# --- import-gazetteer: the places of a fuller gazetteer --------------------------------------------------------
_REGION_EXISTS = "SELECT 1 FROM region WHERE code = %s"
_PLACE_TABLE = """CREATE TEMP TABLE tmp_place (ext_id text, name_ru text, name_kk text, alt_names text[],
                kind text, population int, lat float8, lon float8, timezone text, source text, source_id text,
                region_code text, district_id int, already bool DEFAULT false, duplicate bool DEFAULT false)
                ON COMMIT DROP"""
_COPY_PLACES = ("COPY tmp_place (ext_id, name_ru, name_kk, alt_names, kind, population, lat, lon, timezone,"
                " source, source_id) FROM STDIN")

_PLACE_SQL = """
UPDATE tmp_place t SET region_code = rm_region_at(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326), 5000);
UPDATE tmp_place t SET district_id = rm_district_at(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326), t.region_code)
  WHERE t.region_code IS NOT NULL;
UPDATE tmp_place t SET timezone = r.timezone FROM region r WHERE r.code = t.region_code AND t.timezone = '';
UPDATE tmp_place t SET already = true FROM settlement s WHERE s.ext_id = t.ext_id;
UPDATE tmp_place t SET duplicate = true
  WHERE NOT t.already AND EXISTS (
    SELECT 1 FROM settlement s JOIN settlement_name sn ON sn.settlement_id = s.id
    WHERE ST_DWithin(s.geog, CAST(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS geography), %(radius)s)
      AND sn.name_norm = rm_name_norm(t.name_ru));
"""

_IN_SCOPE = "(CAST(%(region)s AS text) IS NULL OR region_code = %(region)s)"
_OUTSIDE = f"SELECT count(*) FROM tmp_place WHERE region_code IS NULL OR NOT {_IN_SCOPE}"
_ALREADY = f"SELECT count(*) FROM tmp_place WHERE already AND {_IN_SCOPE}"

_INSERT_SQL = """
INSERT INTO settlement (ext_id, name_ru, name_kk, alt_names, kind, region_code, district_id, population, geog,
                        timezone, source, source_id)
SELECT DISTINCT ON (rm_name_norm(name_ru), round(lat::numeric, 2), round(lon::numeric, 2))
       ext_id, name_ru, name_kk, alt_names, kind, region_code, district_id, population,
       CAST(ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geography), timezone, source, source_id
FROM tmp_place
WHERE region_code IS NOT NULL AND NOT already AND NOT duplicate
  AND (CAST(%(region)s AS text) IS NULL OR region_code = %(region)s)
ORDER BY rm_name_norm(name_ru), round(lat::numeric, 2), round(lon::numeric, 2), population DESC NULLS LAST, ext_id
ON CONFLICT (ext_id) DO NOTHING
"""


def region_exists(cur, code: str) -> bool:
    return cur.execute(_REGION_EXISTS, (code,)).fetchone() is not None


def stage_places(cur, rows: Iterable[tuple]) -> int:
    """Rows (ext_id, name_ru, name_kk, alt_names, kind, population, lat, lon, timezone, source, source_id) into
    tmp_place (made here, dropped at commit); returns how many."""
    cur.execute(_PLACE_TABLE)
    return _copy(cur, _COPY_PLACES, rows)


def place_places(cur, duplicate_radius_m: int) -> None:
    """Each staged place's region (within 5 km of a border), district and time zone; whether it was imported
    before (same ext_id), and whether a settlement of the same normalized name lies within the radius."""
    for statement in _PLACE_SQL.split(";\n"):
        if statement.strip():
            cur.execute(statement, {"radius": duplicate_radius_m} if "%(radius)s" in statement else None)


def places_outside(cur, region: str | None) -> int:
    """Staged places in no loaded region, or outside `region` when one is given."""
    return cur.execute(_OUTSIDE, {"region": region}).fetchone()[0]


def places_imported_before(cur, region: str | None) -> int:
    return cur.execute(_ALREADY, {"region": region}).fetchone()[0]


def add_places(cur, region: str | None) -> int:
    """The staged places that are new and no duplicate (one per name and ~1 km) into settlement; how many."""
    return cur.execute(_INSERT_SQL, {"region": region}).rowcount
