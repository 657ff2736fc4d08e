"""`resourcemap import-gazetteer`: add the small villages the shipped data lacks, from a fuller gazetteer.

Formats:
- `geonames`: a GeoNames country dump such as RU.txt (tab-separated, no header, 19 columns); only populated
  places (feature class P) are taken, with their Russian name chosen among the alternate names.
- `csv`: OSM place points with a header: `lat`, `lon` and `name` or `name:ru` required; `id` or `osm_id`,
  `name:kk`, `name:en`, `place`, `population` optional.

Each place gets its region and district by point-in-polygon in PostGIS (within 5 km of a region border when the
simplified boundary misses it). A place is a duplicate, and skipped, when a settlement with the same normalized
name lies within 5 km; a place already imported (same source id) is left as it is, so importing twice changes
nothing."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from .load import SYNC_NAMES_SQL

DUPLICATE_RADIUS_M = 5000
_CYRILLIC = re.compile(r"^[А-Яа-яЁё0-9 .\-–—()']+$")
_NOT_RUSSIAN = re.compile(r"[іїєґўәғқңөұүһІЇЄҐЎӘҒҚҢӨҰҮҺ]")
_KAZAKH = re.compile(r"[әғқңөұүһӘҒҚҢӨҰҮҺі]")
_OSM_PLACE_KIND = {"city": "city", "town": "town", "village": "village", "hamlet": "village",
                   "isolated_dwelling": "village", "suburb": "village", "locality": "village"}
csv.field_size_limit(1 << 20)


class GazetteerError(ValueError):
    """A gazetteer file that cannot be read; the message names the line."""


@dataclass
class ImportReport:
    read: int = 0
    outside: int = 0
    duplicates: int = 0
    already: int = 0
    added: int = 0

    def lines(self) -> list[str]:
        return [f"places read: {self.read}", f"outside the loaded regions: {self.outside}",
                f"duplicates of known settlements: {self.duplicates}", f"imported before: {self.already}",
                f"added: {self.added}"]


def russian_name(names: list[str]) -> str | None:
    """The most likely Russian spelling among alternate names: Cyrillic, without Ukrainian, Belarusian or
    Kazakh letters, the shortest such (GeoNames lists long official forms too)."""
    russian = [n.strip() for n in names if n.strip() and _CYRILLIC.match(n.strip()) and not _NOT_RUSSIAN.search(n)]
    return min(russian, key=lambda n: (len(n), n)) if russian else None


def _kind_of_geonames(code: str, population: int) -> str:
    if code in ("PPLC", "PPLA") or population >= 100_000:
        return "city"
    if code == "PPLA2" or population >= 20_000:
        return "town"
    return "village"


def _read_geonames(path: Path):
    with open(path, encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 19:
                raise GazetteerError(f"{path.name}, line {number}: expected 19 tab-separated columns, got {len(cols)}")
            if cols[6] != "P":
                continue
            alternates = [a for a in cols[3].split(",") if a]
            name_ru = russian_name(alternates) or cols[1]
            name_kk = next((a for a in alternates if _KAZAKH.search(a)), "")
            try:
                lat, lon = float(cols[4]), float(cols[5])
                population = int(cols[14] or 0)
            except ValueError:
                raise GazetteerError(f"{path.name}, line {number}: bad coordinates or population") from None
            alt = sorted({a for a in alternates + [cols[1], cols[2]] if a and a != name_ru})
            yield (f"gn-{cols[0]}", name_ru, name_kk, alt, _kind_of_geonames(cols[7], population),
                   population or None, lat, lon, cols[17], "geonames", cols[0])


def _read_csv(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = set(reader.fieldnames or [])
        if not {"lat", "lon"} <= header or not ({"name", "name:ru"} & header):
            raise GazetteerError(f"{path.name}: the header needs lat, lon and name or name:ru; it has {sorted(header)}")
        for number, row in enumerate(reader, start=2):
            name_ru = (row.get("name:ru") or row.get("name") or "").strip()
            if not name_ru:
                continue
            try:
                lat, lon = float(row["lat"]), float(row["lon"])
            except (TypeError, ValueError):
                raise GazetteerError(f"{path.name}, line {number}: bad lat/lon") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise GazetteerError(f"{path.name}, line {number}: lat/lon out of range")
            source_id = (row.get("osm_id") or row.get("id") or f"{lat:.5f},{lon:.5f}").strip()
            population = row.get("population") or ""
            alt = sorted({(row.get(k) or "").strip() for k in ("name", "name:en", "name:kk") if row.get(k)} - {name_ru, ""})
            yield (f"osm-{source_id}", name_ru, (row.get("name:kk") or "").strip(), alt,
                   _OSM_PLACE_KIND.get((row.get("place") or "").strip(), "village"),
                   int(population) if population.isdigit() else None, lat, lon, "", "osm", source_id)


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


def import_gazetteer(engine: Engine, path: Path, fmt: str, region: str | None = None) -> ImportReport:
    """Add the places of `path` that the database lacks, in one transaction; returns the counts."""
    rows = _read_geonames(path) if fmt == "geonames" else _read_csv(path)
    report = ImportReport()
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = 0")  # a bulk import is not a web request
            if region and not cur.execute("SELECT 1 FROM region WHERE code = %s", (region.upper(),)).fetchone():
                raise GazetteerError(f"unknown region: {region}")
            region = region.upper() if region else None
            cur.execute("""CREATE TEMP TABLE tmp_place (ext_id text, name_ru text, name_kk text, alt_names text[],
                kind text, population int, lat float8, lon float8, timezone text, source text, source_id text,
                region_code text, district_id int, already bool DEFAULT false, duplicate bool DEFAULT false)
                ON COMMIT DROP""")
            with cur.copy("COPY tmp_place (ext_id, name_ru, name_kk, alt_names, kind, population, lat, lon, timezone,"
                          " source, source_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    report.read += 1
            for statement in _PLACE_SQL.split(";\n"):
                if statement.strip():
                    cur.execute(statement, {"radius": DUPLICATE_RADIUS_M} if "%(radius)s" in statement else None)
            scope = "(CAST(%(region)s AS text) IS NULL OR region_code = %(region)s)"
            report.outside = cur.execute(
                f"SELECT count(*) FROM tmp_place WHERE region_code IS NULL OR NOT {scope}", {"region": region}).fetchone()[0]
            report.already = cur.execute(
                f"SELECT count(*) FROM tmp_place WHERE already AND {scope}", {"region": region}).fetchone()[0]
            report.added = cur.execute(_INSERT_SQL, {"region": region}).rowcount
            in_scope = report.read - report.outside - report.already
            report.duplicates = in_scope - report.added
            cur.execute(SYNC_NAMES_SQL.format(source="tmp_place"))
        conn.commit()
    except Exception:
        raw.driver_connection.rollback()
        raise
    finally:
        raw.close()
    return report
