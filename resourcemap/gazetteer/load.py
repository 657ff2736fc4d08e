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

from sqlalchemy import Engine

from ..data import gazetteer
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


def _tally(counts: dict[str, int], written: gazetteer.Written) -> list:
    """Count inserted / updated / unchanged rows from RETURNING (inserted, key); returns the written keys."""
    rows = written.rows
    counts["inserted"] += sum(1 for r in rows if r[0])
    counts["updated"] += sum(1 for r in rows if not r[0])
    counts["unchanged"] += written.staged - len(rows)
    return [r[1] for r in rows if len(r) > 1]


def _mark(label: str, clock: list[float]) -> None:
    """With RESOURCEMAP_LOAD_TIMINGS set, the time of each phase of a load on standard error."""
    now = time.perf_counter()
    if os.environ.get("RESOURCEMAP_LOAD_TIMINGS"):
        print(f"{now - clock[0]:7.2f} s  {label}", file=sys.stderr)
    clock[0] = now


def _int_or_none(value: str) -> int | None:
    return int(float(value)) if value not in ("", None) else None


def _selected(index: list[dict], codes: list[str] | None) -> list[dict]:
    """The index rows of the regions `codes` (all when None); an unknown code is an error."""
    wanted = {c.upper() for c in codes} if codes else None
    if not wanted:
        return index
    unknown = wanted - {row["code"] for row in index}
    if unknown:
        raise ValueError(f"unknown region code(s): {', '.join(sorted(unknown))}")
    return [row for row in index if row["code"] in wanted]


def _region_rows(regions_dir: Path, index: list[dict]):
    for row in index:
        boundary = json.loads((regions_dir / row["code"] / "boundary.geojson").read_text("utf-8"))
        yield (row["code"], row["name_ru"], row["name_en"], row["country"], row["timezone"],
               json.dumps(boundary["features"][0]["geometry"]))


def _district_rows(regions_dir: Path, index: list[dict]):
    for row in index:
        districts = json.loads((regions_dir / row["code"] / "districts.geojson").read_text("utf-8"))
        for f in districts["features"]:
            p = f["properties"]
            yield (p["id"], row["code"], p.get("name_ru") or p.get("name_en") or p["id"],
                   p.get("name_en") or "", p.get("kind") or "", json.dumps(f["geometry"]))


def _settlement_rows(regions_dir: Path, index: list[dict]):
    for row in index:
        path = regions_dir / row["code"] / "settlements.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            for s in csv.DictReader(fh):
                alt = sorted({a for a in s["alt_names"].split("|") if a})
                yield (s["id"], s["name_ru"], s["name_kk"], alt, s["kind"], row["code"],
                       s["district_id"] or None, _int_or_none(s["population"]),
                       _int_or_none(s["population_year"]), float(s["lat"]), float(s["lon"]),
                       s["timezone"] or row["timezone"], s["source"], s["source_id"])


def _stage_files(cur, regions_dir: Path, index: list[dict]) -> None:
    """The regions' files into the staging tables."""
    gazetteer.create_staging_tables(cur)
    gazetteer.stage_regions(cur, _region_rows(regions_dir, index))
    gazetteer.stage_districts(cur, _district_rows(regions_dir, index))
    gazetteer.stage_settlements(cur, _settlement_rows(regions_dir, index))


def _write_boundaries(cur, report: LoadReport) -> None:
    """Regions and districts written, and the parts of those that changed cut again."""
    regions = _tally(report.regions, gazetteer.write_regions(cur))
    districts = _tally(report.districts, gazetteer.write_districts(cur))
    gazetteer.redraw_parts(cur, regions, districts)


def load_regions(engine: Engine, regions_dir: Path, codes: list[str] | None = None,
                 census: Path | None = None) -> LoadReport:
    """Load the regions `codes` (all when None) in one transaction; returns what changed. `census`: the census
    wheel (census.find_wheel), whose settlements are merged in; without it, settlements that the census filled in
    are left as they are."""
    index = _selected(read_index(regions_dir), codes)
    report = LoadReport()
    clock = [time.perf_counter()]
    with gazetteer.bulk_transaction(engine) as cur:
        gazetteer.no_statement_timeout(cur)
        gazetteer.ask_for_temp_buffers(cur)
        _stage_files(cur, regions_dir, index)
        _mark("read data/regions/", clock)
        _write_boundaries(cur, report)
        _mark("regions, districts and their parts", clock)
        if census is not None:  # needs the districts and their parts written above
            gazetteer.analyze_for_census(cur)
            report.census = census_table.stage(cur, census, read_index(regions_dir), [row["code"] for row in index])
            _mark("census staged", clock)
        _tally(report.settlements, gazetteer.write_settlements(cur, census is not None))
        _mark("settlements written", clock)
        gazetteer.analyze_settlements(cur)
        report.names_changed = gazetteer.sync_names(cur, "tmp_settlement")
        _mark("settlement names", clock)
        gazetteer.analyze_gazetteer(cur)
        report.settlement_total = gazetteer.settlement_total(cur)
    _mark("analyzed and committed", clock)
    return report
