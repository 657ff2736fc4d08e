#!/usr/bin/env python
"""Nearest help measured against its peers, side by side, on the same data, in the same run; and the other hot paths.

For each size (synthetic locations: 10k, 100k, 1M, 5M) on the database `resourcemap_bench_<N>` (bench/nearest.py's
builder, reused when present), the question "the 10 nearest services of this kind to this point" is answered by

  floor        the bare PostGIS KNN query on the service's own index (SQL)               bench/peers/postgis.py
  per kind     the same on a per-kind geography index (bench-only): what the floor could be
  planar       the planar KNN on the per-kind index, for reference (SQL)                 bench/peers/postgis.py
  Ohana API    float lat/lon, B-tree, bounding box, haversine ORDER BY, 5 and 50 mi (SQL) bench/peers/ohana.py
  Food Oasis   earthdistance `<@>`, no index, 5 mi; and earthdistance's indexed form     bench/peers/foodoasis.py
  data frame   geopandas STRtree in EPSG:3857, in memory                                  bench/peers/dataframe.py
  our statement  the API's own nearest-help statement (resourcemap.data.nearest), bare from psycopg as the app
               runs it: prepared, generic plan, PostgreSQL's $n form, rows as dicts (no HTTP, no Flask)
  our API      GET /api/v1/nearest on gunicorn as `resourcemap serve` runs it (workers, threads, access log)

with the same requests (origins at settlements drawn by population, the kind rotating over four), then the other
hot paths over HTTP (settlement suggestions, the map's bbox, the organization page, the HTTP floor) and, once,
import apply (bench/import.py, when it exists). Per approach and run: p50/p95/p99 of sequential single requests
(each run capped in time), then throughput with `--concurrency` clients from another process for `--duration` seconds (wrk,
pgbench, forked processes). Each figure is the median over `--runs`; ratios to the floor are per run, then the
median. Every answer of a sample is checked against the exact one (pyproj.Geod brute force, bench/peers/exact.py).
Also recorded per size: database and index sizes, and the resident memory of each gunicorn worker.

    .venv/bin/python bench/suite.py                              # 10k,100k,1M,5M; about 15-20 min with the DBs built
    .venv/bin/python bench/suite.py --sizes 10000,1000000 --output out.json --plot docs/benchmarks-growth.png
    .venv/bin/python bench/suite.py --quick                      # CI: 10k, one short run, every approach, checks
    .venv/bin/python bench/suite.py --prepare-only               # build the databases and the peers' table only

Timings are printed, never asserted. Exit status 1 when an answer disagrees with the exact one in a way its method
does not explain (see bench/peers/exact.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import psycopg  # noqa: E402

import common  # noqa: E402
from peers import agreement, exact, foodoasis, hotpaths, load, ohana, postgis, report  # noqa: E402
from peers.dataframe import DataFrameNearest, load_places  # noqa: E402
from peers.schema import ensure_peer_tables  # noqa: E402
from resourcemap.db import PLAN_OPTIONS  # noqa: E402

API = agreement.API
DATAFRAME = agreement.DATAFRAME
API_LABEL = "our API: GET /api/v1/nearest, gunicorn"
STATEMENT = "statement"
STATEMENT_LABEL = "our statement: the API's nearest-help statement, bare (psycopg)"


def sql_approaches(radius_mi: float) -> list[postgis.SqlApproach]:
    return [postgis.FLOOR, postgis.PER_KIND, postgis.PLANAR, ohana.approach(radius_mi),
            ohana.approach(ohana.MAX_RADIUS_MI), foodoasis.approach(radius_mi), foodoasis.indexed_approach(radius_mi)]


def _sql_runner(conn, approach: postgis.SqlApproach):
    def one(req):
        sql, params = approach.statement(req)
        conn.execute(sql, params, prepare=True).fetchall()
    return one


def _statement_runner(conn):
    """The API's statement for a request as `data.nearest.nearest_rows` runs it: prepared, in its $n form, dict
    rows (the connection must carry the app's options: a generic plan)."""
    from psycopg.rows import dict_row

    from resourcemap.data import nearest as n

    cur = psycopg.RawCursor(conn, row_factory=dict_row)

    def one(req):
        sql, params = common.nearest_bench._nearest_sql_and_params(req)
        raw, names = n._server_form(sql)
        rows = cur.execute(raw, [params[name] for name in names], prepare=True).fetchall()
        if not rows:
            raise AssertionError(f"the nearest statement found nothing for {req}")
    return one


def _http_runner(client, path_of, failures: list):
    """GET one request; a status other than 200 is recorded (and reported), not fatal to a long run."""
    def one(item):
        status, body = client.get(path_of(item))
        if status != 200:
            failures.append(f"HTTP {status} for {path_of(item)}: {body[:200]!r}")
    return one


def _sizes(conn) -> dict:
    rel = dict(conn.execute(
        "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'i') AND n.nspname IN ('public', 'bench_peers')").fetchall())
    total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    peers = conn.execute(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bench_peers' AND c.relkind = 'r'"
    ).fetchone()[0]
    return {"database_bytes": total, "bench_peers_bytes": int(peers), "app_bytes": total - int(peers),
            "service_at_location_bytes": conn.execute(
                "SELECT pg_total_relation_size('service_at_location')").fetchone()[0],
            "ix_sal_type_geog": rel.get("ix_sal_type_geog"),
            "ix_sal_knn_all": sum(v for k, v in rel.items() if k.startswith("ix_sal_knn_")),
            "ix_place_lat_lon": rel.get("ix_place_lat_lon"), "ix_place_earth": rel.get("ix_place_earth")}


_FOOTPRINT = """
import sys
sys.path.insert(0, {bench!r})
import common
from peers.dataframe import DataFrameNearest, load_places
before = common.rss_mib(common.os.getpid())
nearest = DataFrameNearest(load_places({dsn!r}, {kinds!r}))
print(common.rss_mib(common.os.getpid()) - before)
"""


def in_memory_footprint(dsn: str) -> float | None:
    """What the data scientist's places and trees cost in memory: the growth of a fresh interpreter's resident size
    when it loads them (measured apart: in this process, memory freed by an earlier size would be reused)."""
    import subprocess

    code = _FOOTPRINT.format(bench=str(BENCH), dsn=dsn, kinds=list(common.KINDS))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        common.log(f"in-memory footprint not measured: {proc.stderr[-500:]}")
        return None


def explain(dsn: str, approaches, req: dict) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every SQL approach for one request (after one run of it, warm)."""
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for a in approaches:
            sql, params = a.statement(req)
            conn.execute(sql, params).fetchall()
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()
            out.append(f"-- {a.label} ({req['types'][0]} at {req['name']})\n" + "\n".join(r[0] for r in plan))
    return "\n\n".join(out)


def bench_size(server: str, size: int, args) -> dict:
    info = common.ensure_database(server, size, args.seed)
    name = info["database"]
    dsn, url = common.conninfo(server, name), common.sa_url(server, name)
    peers_info = ensure_peer_tables(dsn, common.log, common.KINDS)
    common.log(f"[{name}] {info['db_size']}; {info['counts']}")

    origins = common.sample_origins(dsn, args.origins, args.origin_seed)
    reqs = common.make_requests(origins, args.requests, multi=False)
    warm = common.make_requests(origins, args.warmup, multi=False, offset=args.requests)
    approaches = sql_approaches(args.radius_mi)

    t0 = time.perf_counter()
    frame = load_places(dsn, list(common.KINDS))
    frame_nearest = DataFrameNearest(frame)
    load_s = time.perf_counter() - t0
    rss_frame = in_memory_footprint(dsn)
    reference = exact.ExactNearest(frame)
    common.log(f"[{name}] in memory: {len(frame):,} places of {len(common.KINDS)} kinds, {load_s:.1f} s, "
               f"{'+%.0f MiB' % rss_frame if rss_frame is not None else 'size not measured'}")

    api_paths = [common.nearest_bench._path(r) for r in reqs]
    hot = hotpaths.hot_path_lists(dsn, origins, args.origin_seed)
    pgbench = common.pg_program("pgbench")
    scripts = {a.key: load.literal_statements(dsn, [a.statement(r) for r in reqs[:120]]) for a in approaches}
    scripts[STATEMENT] = load.literal_statements(dsn, [common.nearest_bench._nearest_sql_and_params(r)
                                                       for r in reqs[:120]])
    serve = common.production_serve_settings()
    concurrency = args.concurrency or serve["workers"] * serve["threads"]

    runs = []
    result = {"size": size, "database": info, "peers_table": peers_info, "origins": len(origins),
              "requests": len(reqs), "concurrency": concurrency, "serve": serve,
              "in_memory": {"places": len(frame), "load_s": round(load_s, 2),
                            "rss_mib": round(rss_frame, 1) if rss_frame is not None else None},
              "labels": {**{a.key: a.label for a in approaches}, DATAFRAME: DataFrameNearest.label, API: API_LABEL,
                         STATEMENT: STATEMENT_LABEL,
                         **hotpaths.HOT_PATHS},
              "notes": {a.key: a.notes for a in approaches}, "runs": runs}
    with common.production_gunicorn(url, common.app_settings()) as port:
        client = common.HttpClient(port)
        try:
            for run in range(args.runs):
                common.log(f"[{name}] run {run + 1}/{args.runs}: latency")
                latency = {}
                with psycopg.connect(dsn, autocommit=True) as conn:
                    for a in approaches:
                        latency[a.key] = common.timed(_sql_runner(conn, a), reqs, warm, args.max_seconds)
                with psycopg.connect(dsn, autocommit=True, options=PLAN_OPTIONS) as conn:
                    latency[STATEMENT] = common.timed(_statement_runner(conn), reqs, warm, args.max_seconds)
                latency[DATAFRAME] = common.timed(frame_nearest.ids, reqs, warm, args.max_seconds)
                failures = {key: [] for key in [API, *hot]}
                latency[API] = common.timed(_http_runner(client, common.nearest_bench._path, failures[API]), reqs,
                                            warm, args.max_seconds)
                for key, paths in hot.items():
                    items = [paths[i % len(paths)] for i in range(len(reqs))]
                    latency[key] = common.timed(_http_runner(client, lambda p: p, failures[key]), items,
                                                items[:args.warmup], args.max_seconds)
                for key, errors in failures.items():
                    if errors:
                        common.log(f"[{name}] {key}: {len(errors)} failed requests, e.g. {errors[0]}")
                throughput = {}
                if args.duration > 0:
                    common.log(f"[{name}] run {run + 1}/{args.runs}: throughput, {concurrency} clients, "
                               f"{args.duration:g} s each")
                    for key in [a.key for a in approaches] + [STATEMENT]:
                        throughput[key] = load.sql_throughput(dsn, scripts[key], concurrency, args.duration, pgbench)
                    throughput[DATAFRAME] = load.memory_throughput(frame_nearest.ids, reqs, concurrency,
                                                                   args.duration)
                    time.sleep(0.5)
                    throughput[API] = load.http_throughput(port, api_paths, concurrency, args.duration)
                    for key, paths in hot.items():
                        if args.hot_load or key == "health":
                            time.sleep(0.5)  # let gunicorn finish what the previous load left queued
                            throughput[key] = load.http_throughput(port, paths, concurrency, args.duration)
                summaries = {k: common.summarize(v) for k, v in latency.items()}
                for key, errors in failures.items():
                    summaries[key]["failed"] = len(errors)
                runs.append({"latency": summaries, "throughput": throughput, "failures": {
                    k: v[:3] for k, v in failures.items() if v}})
            master, workers = common.gunicorn_processes(port)
            result["gunicorn_rss_mib"] = {"master": common.rss_mib(master) if master else None,
                                          "workers": [common.rss_mib(p) for p in workers]}
            common.log(f"[{name}] checking {min(args.check, len(reqs))} answers against the exact ten")
            result["agreement"] = agreement.check_answers(dsn, port, reqs[:args.check], approaches, frame_nearest,
                                                          reference, 2 * args.max_seconds)
        finally:
            client.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        result["sizes"] = _sizes(conn)
    if args.explain:
        result["explain"] = explain(dsn, approaches, reqs[0])
    result["summary"] = report.combine(runs, floor="floor")
    result["ratios"] = report.ratios(runs)
    return result


def render_saved(args) -> int:
    """The tables and the plot from earlier runs' JSON (e.g. the small sizes and 5M measured apart)."""
    saved = [json.loads(path.read_text()) for path in args.report]
    by_size = {r["size"]: r for run in saved for r in run["results"]}  # a size measured again: the later file wins
    results = [by_size[size] for size in sorted(by_size)]
    meta = {**saved[-1], "duration_s": sum(run.get("duration_s", 0) for run in saved)}
    meta["load_avg_end"] = saved[-1].get("load_avg_end", [0, 0, 0])
    meta["import_apply"] = next((run["import_apply"] for run in saved if run.get("import_apply")), None)
    for name in ("requests", "max_seconds", "duration", "runs", "radius_mi"):
        setattr(args, name, saved[-1].get("settings", {}).get(name, getattr(args, name)))
    text = report.markdown(meta, results, args)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.plot:
        report.plot(results, args.plot)
        print(f"\nplot: {args.plot}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,1000000,5000000", help="synthetic locations, comma-separated")
    p.add_argument("--runs", type=int, default=3, help="the median of each figure over this many runs")
    p.add_argument("--requests", type=int, default=100, help="sequential requests per approach and run")
    p.add_argument("--max-seconds", type=float, default=6.0,
                   help="stop an approach's sequential requests after this long in a run (at least 5 are timed)")
    p.add_argument("--warmup", type=int, default=10, help="untimed requests per approach and run")
    p.add_argument("--duration", type=float, default=3.0, help="seconds of load per approach and run (0: none)")
    p.add_argument("--concurrency", type=int, default=0,
                   help="clients under load (default: gunicorn workers x threads of `resourcemap serve`)")
    p.add_argument("--check", type=int, default=40, help="requests whose answers are checked against the exact ten")
    p.add_argument("--radius-mi", type=float, default=ohana.DEFAULT_RADIUS_MI,
                   help="the peers' search radius in miles (Ohana's default; Food Oasis's client sends 5)")
    p.add_argument("--origins", type=int, default=250, help="distinct origins (settlements) in the request list")
    p.add_argument("--origin-seed", type=int, default=20260415)
    p.add_argument("--seed", type=float, default=0.42, help="seed of the synthetic registry")
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every SQL approach once per size")
    p.add_argument("--import-rows", type=int, default=10000,
                   help="rows for bench/import.py (import apply), run once when it exists (0: skip)")
    p.add_argument("--no-hot-load", dest="hot_load", action="store_false",
                   help="time the other hot paths one request at a time only, not under load")
    p.add_argument("--quick", action="store_true", help="CI: 10k, one short run of every approach, answers checked")
    p.add_argument("--output", type=Path, help="write every figure as JSON here")
    p.add_argument("--markdown", type=Path, help="write the Markdown tables here too")
    p.add_argument("--plot", type=Path, help="write the growth plot (PNG) here")
    p.add_argument("--prepare-only", action="store_true", help="build the databases and the peers' table, no timing")
    p.add_argument("--remigrate", metavar="REVISION",
                   help="with --prepare-only: run this migration again on each existing bench database (its "
                        "downgrade, then up to the newest), for databases migrated before the migration's final text")
    p.add_argument("--report", type=Path, nargs="+", metavar="JSON",
                   help="measure nothing: print the tables (and --plot) from earlier --output files, sizes merged "
                        "(a size in several files: the last one's)")
    args = p.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    if args.quick:
        args.sizes, args.runs, args.requests, args.warmup, args.duration = "10000", 1, 20, 3, 2.0
        args.max_seconds, args.check, args.origins, args.import_rows = 2.0, min(args.check, 12), 60, 0
        args.hot_load = False  # the hot paths are timed one request at a time; under load only the HTTP floor
    if args.report:
        return render_saved(args)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    server = common.server_url()
    if args.prepare_only:
        for size in sizes:
            if args.remigrate:
                name = f"{common.nearest_bench.BENCH_DB_PREFIX}{size}"
                common.log(f"[{name}] migration {args.remigrate} again: downgrade, upgrade to the newest")
                common.remigrate(common.sa_url(server, name), args.remigrate)
                with psycopg.connect(common.conninfo(server, name), autocommit=True) as conn:
                    conn.execute("ANALYZE")
            info = common.ensure_database(server, size, args.seed)
            info["peers_table"] = ensure_peer_tables(common.conninfo(server, info["database"]), common.log,
                                                     common.KINDS)
            print(json.dumps(info, default=str))
        return 0

    started = time.perf_counter()
    meta = {"machine": common.machine(), "server": common.server_versions(server), "argv": sys.argv[1:],
            "code": common.code_fingerprint(), "tools": json.loads(load.describe_tools(common.pg_program("pgbench"))),
            "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "settings": {name: getattr(args, name) for name in ("requests", "max_seconds", "duration", "runs",
                                                                "radius_mi", "concurrency", "check")}}
    results = [bench_size(server, size, args) for size in sizes]
    if args.import_rows:
        common.log(f"import apply: bench/import.py --rows {args.import_rows} --runs 1")
        meta["import_apply"] = hotpaths.import_apply(args.import_rows)
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    meta["load_avg_end"] = os.getloadavg()

    text = report.markdown(meta, results, args)
    print(text)
    for res in results:
        if res.get("explain"):
            print(f"\nEXPLAIN at {res['size']:,}:\n{res['explain']}")
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.plot:
        report.plot(results, args.plot)
        print(f"\nplot: {args.plot}")
    if args.output:
        args.output.write_text(json.dumps({**meta, "results": results}, indent=2, ensure_ascii=False, default=str))
    # Planar orders (degrees, Web Mercator) are expected to keep farther places: reported, not an error.
    bad = [(r["size"], key, counts["examples"]) for r in results for key, counts in r["agreement"].items()
           if counts["differ"] and not key.startswith(("planar", DATAFRAME))]
    for size, key, examples in bad:
        common.log(f"answers of {key} differ from the exact ten at {size:,}: {examples}")
    failed = [(r["size"], key, row["errors"]) for r in results for key, row in r["summary"].items()
              if row.get("errors")] + [(r["size"], "api (answer check)", r["agreement"][API]["failed"])
                                       for r in results if r["agreement"][API]["failed"]]
    for size, key, n in failed:
        common.log(f"{key} at {size:,}: {n} failed requests")
    return 1 if bad or failed else 0


if __name__ == "__main__":
    sys.exit(main())
