"""`resourcemap load-regions`: regions, districts and settlements from data/regions/ into PostGIS.

Bulk (COPY into temporary tables, then one INSERT ... ON CONFLICT per table), idempotent (a row is only
written when something in it differs, so a second run changes nothing), and geometries are made valid
(ST_MakeValid) before they are stored. With the census wheel (census.py) the 2021 census' settlements are merged
into the staged settlements before they are written: today's rows gain its figures, the others are added."""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from . import census as census_table

SETTLEMENT_COLUMNS = ("id", "name_ru", "name_kk", "alt_names", "kind", "district_id", "district_name",
                      "population", "population_year", "lat", "lon", "timezone", "source", "source_id")


@dataclass
class LoadReport:
    regions: dict[str, int] = field(default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0})
    districts: dict[str, int] = field(default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0})
    settlements: dict[str, int] = field(default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0})
    names_changed: int = 0
    census: census_table.CensusReport | None = None
    settlement_total: int = 0

    def lines(self) -> list[str]:
        return [f"{kind}: {counts['inserted']} inserted, {counts['updated']} updated, {counts['unchanged']} unchanged"
                for kind, counts in (("regions", self.regions), ("districts", self.districts),
                                     ("settlements", self.settlements))] + [
            f"name spellings changed: {self.names_changed}"] + (self.census.lines() if self.census else []) + [
            f"settlements in the database: {self.settlement_total:,}"]


def read_index(regions_dir: Path) -> list[dict]:
    with open(regions_dir / "index.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _valid_multipolygon(column: str) -> str:
    return f"ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON({column}), 4326)), 3))"


_REGION_SQL = f"""
INSERT INTO region AS r (code, name_ru, name_en, country, timezone, boundary)
SELECT code, name_ru, name_en, country, timezone, {_valid_multipolygon('geojson')} FROM tmp_region
ON CONFLICT (code) DO UPDATE SET name_ru = EXCLUDED.name_ru, name_en = EXCLUDED.name_en,
  country = EXCLUDED.country, timezone = EXCLUDED.timezone, boundary = EXCLUDED.boundary
WHERE (r.name_ru, r.name_en, r.country, r.timezone) IS DISTINCT FROM
      (EXCLUDED.name_ru, EXCLUDED.name_en, EXCLUDED.country, EXCLUDED.timezone)
   OR NOT ST_Equals(r.boundary, EXCLUDED.boundary)
RETURNING (xmax = 0) AS inserted, code
"""

_DISTRICT_SQL = f"""
INSERT INTO district AS d (ext_id, region_code, name_ru, name_en, kind, boundary)
SELECT ext_id, region_code, name_ru, name_en, kind, {_valid_multipolygon('geojson')} FROM tmp_district
ON CONFLICT (ext_id) DO UPDATE SET region_code = EXCLUDED.region_code, name_ru = EXCLUDED.name_ru,
  name_en = EXCLUDED.name_en, kind = EXCLUDED.kind, boundary = EXCLUDED.boundary
WHERE (d.region_code, d.name_ru, d.name_en, d.kind) IS DISTINCT FROM
      (EXCLUDED.region_code, EXCLUDED.name_ru, EXCLUDED.name_en, EXCLUDED.kind)
   OR NOT ST_Equals(d.boundary, EXCLUDED.boundary)
RETURNING (xmax = 0) AS inserted, id
"""

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


def _tally(counts: dict[str, int], rows, total: int) -> list:
    """Count inserted / updated / unchanged rows from RETURNING (inserted, key); returns the written keys."""
    counts["inserted"] += sum(1 for r in rows if r[0])
    counts["updated"] += sum(1 for r in rows if not r[0])
    counts["unchanged"] += total - len(rows)
    return [r[1] for r in rows if len(r) > 1]


def _mark(label: str, clock: list[float]) -> None:
    """With RESOURCEMAP_LOAD_TIMINGS set, the time of each phase of a load on standard error."""
    now = time.perf_counter()
    if os.environ.get("RESOURCEMAP_LOAD_TIMINGS"):
        print(f"{now - clock[0]:7.2f} s  {label}", file=sys.stderr)
    clock[0] = now


def _int_or_none(value: str) -> int | None:
    return int(float(value)) if value not in ("", None) else None


def load_regions(engine: Engine, regions_dir: Path, codes: list[str] | None = None,
                 census: Path | None = None) -> LoadReport:
    """Load the regions `codes` (all when None) in one transaction; returns what changed. `census`: the census
    wheel (census.find_wheel), whose settlements are merged in; without it, settlements that the census filled in
    are left as they are."""
    index = read_index(regions_dir)
    wanted = {c.upper() for c in codes} if codes else None
    if wanted:
        unknown = wanted - {row["code"] for row in index}
        if unknown:
            raise ValueError(f"unknown region code(s): {', '.join(sorted(unknown))}")
        index = [row for row in index if row["code"] in wanted]
    report = LoadReport()
    clock = [time.perf_counter()]
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = 0")  # a bulk load is not a web request
            # The census' staging tables (~40 MB) in memory; refused once the session has used a temporary table.
            cur.execute("SAVEPOINT temp_buffers")
            try:
                cur.execute("SET LOCAL temp_buffers = '256MB'")
            except psycopg.errors.InvalidParameterValue:
                cur.execute("ROLLBACK TO SAVEPOINT temp_buffers")
            cur.execute("""
                CREATE TEMP TABLE tmp_region (code text, name_ru text, name_en text, country text,
                                              timezone text, geojson text) ON COMMIT DROP;
                CREATE TEMP TABLE tmp_district (ext_id text, region_code text, name_ru text, name_en text,
                                                kind text, geojson text) ON COMMIT DROP;
                CREATE TEMP TABLE tmp_settlement (ext_id text, name_ru text, name_kk text, alt_names text[],
                  kind text, region_code text, district_ext_id text, population int, population_year smallint,
                  lat float8, lon float8, timezone text, source text, source_id text, district_id int,
                  census_id int, census_type text, children int, oktmo text, municipality text,
                  quality text[] NOT NULL DEFAULT '{}', seq bigserial) ON COMMIT DROP;
            """)
            with cur.copy("COPY tmp_region FROM STDIN") as copy:
                for row in index:
                    boundary = json.loads((regions_dir / row["code"] / "boundary.geojson").read_text("utf-8"))
                    copy.write_row((row["code"], row["name_ru"], row["name_en"], row["country"], row["timezone"],
                                    json.dumps(boundary["features"][0]["geometry"])))
            with cur.copy("COPY tmp_district FROM STDIN") as copy:
                for row in index:
                    districts = json.loads((regions_dir / row["code"] / "districts.geojson").read_text("utf-8"))
                    for f in districts["features"]:
                        p = f["properties"]
                        copy.write_row((p["id"], row["code"], p.get("name_ru") or p.get("name_en") or p["id"],
                                        p.get("name_en") or "", p.get("kind") or "", json.dumps(f["geometry"])))
            with cur.copy("COPY tmp_settlement (ext_id, name_ru, name_kk, alt_names, kind, region_code,"
                          " district_ext_id, population, population_year, lat, lon, timezone, source, source_id)"
                          " FROM STDIN") as copy:
                for row in index:
                    path = regions_dir / row["code"] / "settlements.csv"
                    with open(path, newline="", encoding="utf-8") as fh:
                        for s in csv.DictReader(fh):
                            alt = sorted({a for a in s["alt_names"].split("|") if a})
                            copy.write_row((s["id"], s["name_ru"], s["name_kk"], alt, s["kind"], row["code"],
                                            s["district_id"] or None, _int_or_none(s["population"]),
                                            _int_or_none(s["population_year"]), float(s["lat"]), float(s["lon"]),
                                            s["timezone"] or row["timezone"], s["source"], s["source_id"]))
            _mark("read data/regions/", clock)
            written = {}
            for table, sql, counts in (("tmp_region", _REGION_SQL, report.regions),
                                       ("tmp_district", _DISTRICT_SQL, report.districts)):
                total = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                written[table] = _tally(counts, cur.execute(sql).fetchall(), total)
            for statement in _PARTS_SQL.split(";\n"):
                cur.execute(statement, {"regions": written["tmp_region"], "districts": written["tmp_district"]})
            _mark("regions, districts and their parts", clock)
            if census is not None:  # needs the districts and their parts written above
                cur.execute("ANALYZE region_part; ANALYZE district_part; ANALYZE tmp_settlement")
                report.census = census_table.stage(cur, census, read_index(regions_dir),
                                                   [row["code"] for row in index])
                _mark("census staged", clock)
            total = cur.execute("SELECT count(*) FROM tmp_settlement").fetchone()[0]
            _tally(report.settlements, cur.execute(_SETTLEMENT_SQL, {"census": census is not None}).fetchall(),
                   total)
            _mark("settlements written", clock)
            # the names are planned with the settlements' real size (a first load fills an empty table)
            cur.execute("ANALYZE settlement")
            report.names_changed = cur.execute(SYNC_NAMES_SQL.format(source="tmp_settlement")).fetchone()[0]
            _mark("settlement names", clock)
            cur.execute("ANALYZE region; ANALYZE district; ANALYZE settlement; ANALYZE settlement_name")
            report.settlement_total = cur.execute("SELECT count(*) FROM settlement").fetchone()[0]
        conn.commit()
        _mark("analyzed and committed", clock)
    except Exception:
        raw.driver_connection.rollback()
        raise
    finally:
        raw.close()
    return report
