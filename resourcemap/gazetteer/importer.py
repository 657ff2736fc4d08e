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

from ..data import gazetteer

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


def import_gazetteer(engine: Engine, path: Path, fmt: str, region: str | None = None) -> ImportReport:
    """Add the places of `path` that the database lacks, in one transaction; returns the counts."""
    rows = _read_geonames(path) if fmt == "geonames" else _read_csv(path)
    report = ImportReport()
    with gazetteer.bulk_transaction(engine) as cur:
        gazetteer.no_statement_timeout(cur)  # a bulk import is not a web request
        if region and not gazetteer.region_exists(cur, region.upper()):
            raise GazetteerError(f"unknown region: {region}")
        region = region.upper() if region else None
        report.read = gazetteer.stage_places(cur, rows)
        gazetteer.place_places(cur, DUPLICATE_RADIUS_M)
        report.outside = gazetteer.places_outside(cur, region)
        report.already = gazetteer.places_imported_before(cur, region)
        report.added = gazetteer.add_places(cur, region)
        in_scope = report.read - report.outside - report.already
        report.duplicates = in_scope - report.added
        gazetteer.sync_names(cur, "tmp_place")
    return report
