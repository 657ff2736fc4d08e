"""Bench: the 2021 census' settlements (issue 19) — what they add to the first start and to the database, and what
the settlement suggestions cost over HTTP with ~167,000 settlements instead of ~16,600.

Two fresh databases on the bench server (the embedded cluster, or RESOURCEMAP_BENCH_DATABASE_URL):
`resourcemap_bench_census_before` gets what a first start without the census wheel loads, `..._after` the same
with it (var/cache/census/, fetched by scripts/install). For each, in the same run:

- the first start (`resourcemap serve`'s bootstrap: schema, regions and settlements, demo registry), timed, and
  within it `load-regions`; then a second `load-regions`, which must change nothing;
- the database size, and the settlement tables' (settlement + settlement_name with their indexes);
- settlement suggestions over HTTP (gunicorn, 2 workers, as `resourcemap serve` runs): `/api/v1/settlements?q=`
  for what a consultant types — the first 3 and 5 letters and the whole name — of N names drawn from both the
  census table and data/regions/ (the same requests against both databases), one at a time: p50 and p95.

`--runs` repeats the whole and reports each figure's median. Never a test: figures go to docs/benchmarks.md.

    .venv/bin/python bench/census.py [--names 100] [--runs 3] [--json out.json]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402

from common import (HttpClient, app_settings, code_fingerprint, conninfo, log, machine, nearest_bench,  # noqa: E402
                    sa_url, server_url, server_versions, summarize)

DBS = {"before": "resourcemap_bench_census_before", "after": "resourcemap_bench_census_after",
       "baseline": "resourcemap_bench_census_baseline"}


def typed_queries(names: int, seed: int) -> list[str]:
    """The prefixes typed for `names` names: half from the census table (mostly villages), half from
    data/regions/ (towns and bigger villages, Kazakhstan too)."""
    from resourcemap.config import load_config
    from resourcemap.gazetteer import census

    rng = random.Random(seed)
    wheel = census.find_wheel(load_config()["VAR_DIR"])
    if wheel is None:
        sys.exit(census.HOW_TO_ADD)
    village_names = sorted({r["settlement"] for r in census.read_rows(wheel)})
    today = []
    for path in sorted((ROOT / "data" / "regions").glob("*/settlements.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            today += [r["name_ru"] for r in csv.DictReader(fh)]
    chosen = rng.sample(village_names, names - names // 2) + rng.sample(sorted(set(today)), names // 2)
    queries = []
    for name in chosen:
        queries += sorted({name[:3], name[:5], name}, key=len)
    return queries


def fresh_database(server: str, name: str) -> str:
    with psycopg.connect(conninfo(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return sa_url(server, name)


def first_start(url: str, with_census: bool) -> dict:
    """bootstrap() as `resourcemap serve` runs it, timed; and a second load-regions."""
    from resourcemap.cli import bootstrap
    from resourcemap.config import load_config
    from resourcemap.db import make_engine
    from resourcemap.gazetteer import census
    from resourcemap.gazetteer.load import load_regions

    settings = load_config()
    empty = tempfile.mkdtemp(prefix="bench-census-var-")
    if not with_census:
        settings = {**settings, "VAR_DIR": empty}  # no wheel there: the start without the census
    engine = make_engine(url)
    lines: list[str] = []
    try:
        started = time.perf_counter()
        bootstrap(engine, settings, echo=lines.append)
        seconds = time.perf_counter() - started
        wheel = census.find_wheel(settings["VAR_DIR"])
        started = time.perf_counter()
        again = load_regions(engine, Path(settings["REGIONS_DIR"]), census=wheel)
        reload_seconds = time.perf_counter() - started
        assert again.settlements["inserted"] == again.settlements["updated"] == again.names_changed == 0, again.lines()
        with engine.connect() as conn:
            from sqlalchemy import text

            sizes = conn.execute(text(
                "SELECT pg_database_size(current_database()),"
                " pg_total_relation_size('settlement') + pg_total_relation_size('settlement_name'),"
                " (SELECT count(*) FROM settlement), (SELECT count(*) FROM settlement_name)")).one()
    finally:
        engine.dispose()
        Path(empty).rmdir()
    return {"first_start_s": seconds, "reload_s": reload_seconds, "db_bytes": sizes[0], "settlement_bytes": sizes[1],
            "settlements": sizes[2], "names": sizes[3], "lines": lines}


def baseline_start(url: str, tree: Path) -> dict:
    """The first start with the census as the code of another tree (`--baseline`) makes it: its schema, its
    load; run in that tree, with this checkout's var/ (the census wheel)."""
    script = ("import sys, time\n"
              "from resourcemap.cli import bootstrap\nfrom resourcemap.config import load_config\n"
              "from resourcemap.db import make_engine\n"
              "t = time.perf_counter(); bootstrap(make_engine(sys.argv[1]), load_config(), echo=lambda line: None)\n"
              "print(time.perf_counter() - t)\n")
    env = {**os.environ, "RESOURCEMAP_VAR_DIR": str(ROOT / "var")}
    out = subprocess.run([sys.executable, "-c", script, url], cwd=tree, env=env, check=True, capture_output=True,
                         text=True)
    return {"first_start_s": float(out.stdout.strip().splitlines()[-1])}


def suggestions(url: str, queries: list[str], warm: int, code: Path = ROOT) -> dict:
    """p50/p95 of the suggestions for the typed queries, over HTTP, one at a time, served by the code of `code`."""
    with nearest_bench.gunicorn(url, app_settings(), workers=2, threads=4, worker_class=None,
                                wsgi_app="resourcemap.wsgi:app", code=code) as port:
        client = HttpClient(port)
        paths = [f"/api/v1/settlements?q={urllib.parse.quote(q)}&limit=10" for q in queries]
        for path in paths[:warm]:
            client.get(path)
        out = []
        for path in paths:
            started = time.perf_counter()
            status, body = client.get(path)
            out.append((time.perf_counter() - started) * 1000)
            assert status == 200, (status, path, body[:200])
        client.close()
    return summarize(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--names", type=int, default=100, help="names typed (3 prefixes each)")
    p.add_argument("--runs", type=int, default=3, help="repeat the whole; medians reported")
    p.add_argument("--warmup", type=int, default=30, help="untimed requests before timing")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--keep", action="store_true", help="keep the two databases")
    p.add_argument("--json", type=Path, help="write every run's figures here")
    p.add_argument("--baseline", type=Path, help="a checkout of other code (e.g. `git worktree add /tmp/base "
                   "<commit>`): its first start with the census and its suggestions are measured in each run too")
    args = p.parse_args(argv)
    server = server_url()
    queries = typed_queries(args.names, args.seed)
    log(f"{len(queries)} typed queries; machine {machine()}; {server_versions(server)}; code {code_fingerprint()}")
    runs = []
    for run in range(args.runs):
        figures = {}
        for label, with_census in (("before", False), ("after", True)):
            url = fresh_database(server, DBS[label])
            start = first_start(url, with_census)
            log(f"run {run + 1} {label}: first start {start['first_start_s']:.1f} s, reload {start['reload_s']:.1f} s,"
                f" {start['settlements']:,} settlements, database {start['db_bytes'] / 2**20:.0f} MiB")
            figures[label] = {**start, **{f"suggest_{k}": v for k, v in suggestions(url, queries, args.warmup).items()}}
            log(f"run {run + 1} {label}: suggestions p50 {figures[label]['suggest_p50']:.1f} ms,"
                f" p95 {figures[label]['suggest_p95']:.1f} ms")
        if args.baseline:
            url = fresh_database(server, DBS["baseline"])
            figures["baseline"] = {**baseline_start(url, args.baseline), **{
                f"suggest_{k}": v for k, v in suggestions(url, queries, args.warmup, args.baseline).items()}}
            log(f"run {run + 1} baseline ({args.baseline}): first start {figures['baseline']['first_start_s']:.1f} s,"
                f" suggestions p50 {figures['baseline']['suggest_p50']:.1f} ms,"
                f" p95 {figures['baseline']['suggest_p95']:.1f} ms")
        runs.append(figures)
    if not args.keep:
        with psycopg.connect(conninfo(server, "postgres"), autocommit=True) as conn:
            for name in DBS.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def median(label: str, key: str) -> float:
        return statistics.median(r[label][key] for r in runs)

    rows = [("first start (schema, regions, settlements, demo registry), s", "first_start_s", 1, 1),
            ("second `load-regions` (changes nothing), s", "reload_s", 1, 1),
            ("settlements", "settlements", 1, 0), ("settlement names (spellings)", "names", 1, 0),
            ("database size, MiB", "db_bytes", 2**20, 0), ("settlement tables with indexes, MiB", "settlement_bytes", 2**20, 0),
            ("suggestions p50, ms", "suggest_p50", 1, 1), ("suggestions p95, ms", "suggest_p95", 1, 1)]
    print(f"| median of {len(runs)} runs, {len(queries)} typed queries | before (no census) | after (census) | added |")
    print("|---|---:|---:|---:|")
    for title, key, scale, digits in rows:
        b, a = median("before", key) / scale, median("after", key) / scale
        print(f"| {title} | {b:,.{digits}f} | {a:,.{digits}f} | {a - b:+,.{digits}f} |")
    if args.baseline:
        print(f"\n| median of {len(runs)} runs, census loaded | baseline ({args.baseline}) | this code | ratio |")
        print("|---|---:|---:|---:|")
        for title, key in (("first start, s", "first_start_s"), ("suggestions p50, ms", "suggest_p50"),
                           ("suggestions p95, ms", "suggest_p95")):
            b, a = median("baseline", key), median("after", key)
            print(f"| {title} | {b:,.1f} | {a:,.1f} | {a / b:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "runs": runs}, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
