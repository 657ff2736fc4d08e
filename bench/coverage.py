#!/usr/bin/env python
"""Coverage (issue 21): the full computation of every kind of help for every settlement, and how long the figures
take to be fresh again after one edit.

On databases built as bench/nearest.py builds its own (`resourcemap_bench_coverage_<size>`, made once and reused;
synthetic locations at real settlements), for each size:

  full        resourcemap.coverage.refresh of every kind, each kind in its own transaction, and its figures kept
              (keep_figures): seconds per kind and in all; the database backend's peak resident memory (VmHWM,
              when the server runs on this machine) and the coverage table's size
  reads       coverage.figures as the page and the API read them: every region's, one region's with its
              districts, as the public and as staff, kept or computed (median of 5)
  one edit    an editor's transaction (a location moved 5 km, a service's organization unpublished; of a row that
              is the nearest help of some settlements), timed to its commit, then the drain that applies it
              (coverage.bring_up_to_date's first step): the time until the figures are fresh is the sum (figures
              read then are computed, ~1 s); then the figures kept again (its second step: reads are one row);
              every edit is undone afterwards the same way, so the database stays as it was

    .venv/bin/python bench/coverage.py                       # 10k and 100k, 10 edits each
    .venv/bin/python bench/coverage.py --sizes 10000 --edits 5
    .venv/bin/python bench/coverage.py --sizes 100000 --census   # the 2021 census' 155,921 Russian settlements

Timings are only printed, never asserted.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
for path in (BENCH, BENCH.parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sqlalchemy import create_engine, text  # noqa: E402

import common  # noqa: E402
from common import ensure_database, log, machine, sa_url, server_url  # noqa: E402
from resourcemap import coverage  # noqa: E402
from resourcemap.data import coverage as data  # noqa: E402

# Databases of their own (built as bench/nearest.py builds its own): the migration under test must not reach the
# databases that other benchmarks reuse with another tree.
common.nearest_bench.BENCH_DB_PREFIX = "resourcemap_bench_coverage_"
BACKEND_PID = text("SELECT pg_backend_pid()")
SETTLEMENTS = text("SELECT count(*) FROM settlement")
SIZES = text("SELECT pg_size_pretty(pg_total_relation_size('coverage')), (SELECT count(*) FROM coverage)")
# Edits and their undoing: (what an editor does, what undoes it), on a published on-site row of the kind.
EDITS = {
    "move 5 km": ("UPDATE location SET geog = ST_Project(geog, 5000, radians(60)) WHERE id = :location_id",
                  "UPDATE location SET geog = ST_Project(geog, 5000, radians(240)) WHERE id = :location_id"),
    "unpublish": ("UPDATE organization SET status = 'draft' WHERE id = :organization_id",
                  "UPDATE organization SET status = 'published' WHERE id = :organization_id"),
}
# The edited rows: the nearest help of some settlements (an edit elsewhere changes no figure, and costs less).
PICK = text("""
SELECT sal.location_id, l.organization_id FROM service_at_location sal JOIN location l ON l.id = sal.location_id
WHERE sal.searchable AND sal.delivery = 'on_site' AND sal.type_code = :kind AND NOT sal.confidential
  AND sal.id IN (SELECT nearest_sal_id FROM coverage WHERE type_code = :kind AND NOT reached)
ORDER BY sal.id
""")


def peak_memory_mib(pid: int) -> float | None:
    """VmHWM of a process on this machine (the database backend, when the server runs here)."""
    return common.rss_mib(pid, "VmHWM")


def with_census(engine) -> int:
    """Merge the census' settlements into the database once (load-regions --census); the settlements there are."""
    from resourcemap.config import load_config
    from resourcemap.gazetteer.census import find_wheel
    from resourcemap.gazetteer.load import load_regions

    with engine.connect() as conn:
        count = conn.execute(SETTLEMENTS).scalar_one()
    if count < 100_000:
        t0 = time.perf_counter()
        load_regions(engine, BENCH.parent / "data" / "regions", census=find_wheel(load_config()["VAR_DIR"]))
        with engine.connect() as conn:
            count = conn.execute(SETTLEMENTS).scalar_one()
        log(f"census merged in {time.perf_counter() - t0:.0f} s: {count} settlements")
    return count


def full_refresh_side_by_side(engine, workers: int) -> dict:
    """coverage.refresh with `workers` kinds at a time (no per-kind times, no backend memory)."""
    t0 = time.perf_counter()
    coverage.refresh(engine, workers=workers)
    with engine.connect() as conn:
        size, rows = conn.execute(SIZES).one()
    return {"seconds": round(time.perf_counter() - t0, 1), "workers": workers, "backend_peak_mib": None,
            "coverage_size": size, "coverage_rows": rows}


def full_refresh(engine) -> dict:
    with engine.connect() as conn:
        kinds = data.kinds(conn)
    per_kind, keep_s, started = {}, 0.0, time.perf_counter()
    with engine.connect() as conn:
        pid = conn.execute(BACKEND_PID).scalar_one()
        conn.commit()
        for code in kinds:
            t0 = time.perf_counter()
            with conn.begin():
                data.refresh_kind(conn, code)
            per_kind[code] = round(time.perf_counter() - t0, 2)
            t1 = time.perf_counter()
            coverage.keep_figures(engine, code)
            keep_s += time.perf_counter() - t1
            log(f"  {code}: {per_kind[code]} s, its figures kept in {time.perf_counter() - t1:.2f} s")
        size, rows = conn.execute(SIZES).one()
    return {"seconds": round(time.perf_counter() - started, 1), "per_kind_s": per_kind,
            "figures_kept_s": round(keep_s, 1), "backend_peak_mib": peak_memory_mib(pid),
            "coverage_size": size, "coverage_rows": rows}


# What the page and the API read (coverage.figures): every region's figures (the page's overview, the API without a
# region) and one region's with its districts, as the public and as staff; the figures kept (keep_figures), and the
# same computed (as for a staff member's own distance).
READS = [(None, True, True), (None, False, True), ("RU-MOS", True, True), ("RU-SA", False, True),
         (None, True, False), ("RU-MOS", False, False), ("RU-SA", False, False)]


def figure_reads(engine, kind: str, repeats: int = 5) -> dict:
    """Median milliseconds of coverage.figures per read of READS."""
    out = {}
    for region, public, kept in READS:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            coverage.figures(engine, kind, region, public=public, kept_ok=kept)
            times.append((time.perf_counter() - t0) * 1000.0)
        name = f"{region or 'every region'} ({'public' if public else 'staff'}, {'kept' if kept else 'computed'})"
        out[name] = round(statistics.median(times), 1)
    log(f"  figures read, median ms: {out}")
    return out


def _timed(engine, sql: str, params: dict) -> tuple[float, float, float, dict]:
    """(the edit's transaction in ms, the drain after it in ms, keeping the figures after that in ms, what the
    drain did) — coverage.bring_up_to_date's two steps timed apart: once the drain has committed, the figures read
    are those of the edit (computed until the kept ones catch up, as their version says)."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    t1 = time.perf_counter()
    with engine.begin() as conn:
        drained = data.refresh_pending(conn)
    t2 = time.perf_counter()
    for code in sorted({*drained["full"], *drained["measured"]}):
        coverage.keep_figures(engine, code)
    return (t1 - t0) * 1000.0, (t2 - t1) * 1000.0, (time.perf_counter() - t2) * 1000.0, drained


def edits(engine, n: int, kind: str, seed: int) -> dict:
    coverage.bring_up_to_date(engine)  # nothing waiting before the first edit
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(PICK, {"kind": kind}).mappings()]
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    out = {}
    for name, (edit, undo) in EDITS.items():
        edit_ms, fresh_ms, kept_ms, measured = [], [], [], []
        for params in picked:
            e, d, k, drained = _timed(engine, edit, params)
            edit_ms.append(e)
            fresh_ms.append(e + d)
            kept_ms.append(e + d + k)
            measured.append(sum(drained["measured"].values()))
            _timed(engine, undo, params)
        out[name] = {"edits": len(picked), "edit_ms_median": round(statistics.median(edit_ms), 1),
                     "fresh_ms_median": round(statistics.median(fresh_ms), 1),
                     "fresh_ms_max": round(max(fresh_ms), 1),
                     "kept_ms_median": round(statistics.median(kept_ms), 1), "kept_ms_max": round(max(kept_ms), 1),
                     "settlements_measured_median": statistics.median(measured)}
        log(f"  {name}: {out[name]}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000", help="synthetic locations per database, comma-separated")
    p.add_argument("--edits", type=int, default=10, help="edits of each sort timed per size")
    p.add_argument("--kind", default="early_help", help="the kind of help of the edited rows")
    p.add_argument("--seed", type=float, default=0.42, help="seed of the synthetic registry")
    p.add_argument("--census", action="store_true",
                   help="with the 2021 census' settlements (var/cache/census/; databases of their own)")
    p.add_argument("--workers", type=int, default=1, help="kinds computed side by side in the full computation")
    p.add_argument("--edits-only", action="store_true", help="only the edits (the figures computed already)")
    p.add_argument("--output", type=Path, help="write the results as JSON here")
    args = p.parse_args(argv)
    server = server_url()
    results = {"machine": machine(), "sizes": []}
    if args.census:
        common.nearest_bench.BENCH_DB_PREFIX = "resourcemap_bench_coverage_census_"
    for size in [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]:
        info = ensure_database(server, size, args.seed)
        engine = create_engine(sa_url(server, info["database"]))
        try:
            if args.census:
                info["counts"]["settlements"] = with_census(engine)
            full = {"seconds": None, "backend_peak_mib": None, "coverage_size": None}
            if not args.edits_only:
                log(f"[{info['database']}] {info['counts']}: computing every kind in full")
                full = full_refresh(engine) if args.workers == 1 else full_refresh_side_by_side(engine, args.workers)
            log(f"[{info['database']}] full: {full['seconds']} s; one edit at a time:")
            one = edits(engine, args.edits, args.kind, size)
            reads = figure_reads(engine, args.kind)
        finally:
            engine.dispose()
        results["sizes"].append({"size": size, "counts": info["counts"], "full": full, "edits": one,
                                 "reads_ms": reads})
    for res in results["sizes"]:
        print(f"{res['size']:>9,} locations, {res['counts'].get('settlements')} settlements: full refresh "
              f"{res['full']['seconds']} s (backend peak {res['full']['backend_peak_mib']} MiB, coverage "
              f"{res['full']['coverage_size']}); " + "; ".join(
                  f"{name}: fresh in {e['fresh_ms_median']} ms median, {e['fresh_ms_max']} ms max, figures kept "
                  f"in {e['kept_ms_median']} ms median, {e['kept_ms_max']} ms max "
                  f"(the edit's own transaction {e['edit_ms_median']} ms)" for name, e in res["edits"].items())
              + "; figures read (median ms): " + ", ".join(f"{k} {v}" for k, v in res["reads_ms"].items()))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
