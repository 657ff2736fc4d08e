"""Capacity (issue 23): nearest-help requests per second through HAProxy for 1 and 2 app instances and 0 and 1
streaming replicas, on this machine, in the same run.

The loopback demo (resourcemap/loopback) is started once under --root: a primary, a streaming replica
(pg_basebackup), Redis, two gunicorn instances that read from the replica, and HAProxy. The bench adds two more
instances configured without the replica (RESOURCEMAP_READ_DATABASE_URLS unset: every query goes to the primary) and
one HAProxy per remaining configuration, so the four configurations are

    1 instance, 0 replicas    HAProxy -> app3           -> primary
    2 instances, 0 replicas   HAProxy -> app3, app4     -> primary
    1 instance, 1 replica     HAProxy -> app1           -> replica (public reads)
    2 instances, 1 replica    HAProxy -> app1, app2     -> replica (the demo's own balancer)

and each is measured in turn, round after round (alternating, so that a machine getting busier or quieter affects
them all alike): `--clients` threads with keep-alive connections send `GET /api/v1/nearest` (origins at settlements
drawn by population, as bench/nearest.py draws them, one kind of help each) for `--seconds`, then the same for
`GET /api/v1/health` (the HTTP floor: gunicorn, Flask, one `SELECT 1`). Throughput is answered requests per second;
latencies are p50/p95 over all rounds. Alongside: CPU seconds the app instances (gunicorn masters and workers) and
the databases (postmasters and backends) used per request (so requests per second per app core and per database
core), the resident memory of each gunicorn worker, and the primary's database size.

Nothing here asserts a timing: it prints a table (ratios against 1 instance, 0 replicas) and writes JSON.

    .venv/bin/python bench/capacity.py --seconds 20 --rounds 3 --output var/bench/capacity.json
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from common import (  # noqa: E402 - bench/common.py puts the repository root on sys.path
    HttpClient, ROOT, code_fingerprint, conninfo, log, machine, make_requests, rss_mib, sample_origins, summarize,
)

from resourcemap.loopback import processes, running  # noqa: E402

CONFIGS = [(1, 0), (2, 0), (1, 1), (2, 1)]  # (app instances, replicas)
BASE = (1, 0)
ENDPOINTS = ("nearest", "health")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def label(config: tuple[int, int]) -> str:
    return f"{config[0]} instance{'s' if config[0] > 1 else ''}, {config[1]} replica{'s' if config[1] != 1 else ''}"


# --- CPU and memory from /proc --------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_ticks(pid: int, with_reaped: bool) -> int:
    """utime + stime of a process (and, with_reaped, of its children that have ended: cutime + cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(fields[11]) + int(fields[12])
    return ticks + (int(fields[13]) + int(fields[14]) if with_reaped else 0)


def tree_cpu_s(pids: list[int]) -> float:
    """CPU seconds of each process, its direct children (gunicorn workers, PostgreSQL backends) and those that
    have ended."""
    ticks = sum(_cpu_ticks(p, True) + sum(_cpu_ticks(c, False) for c in _children(p)) for p in pids)
    return ticks / CLK_TCK


def postmaster_pid(cluster) -> int | None:
    try:
        return int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def worker_rss(master_pids: list[int]) -> list[float]:
    return [m for p in master_pids for c in _children(p) if (m := rss_mib(c)) is not None]


# --- the configurations ---------------------------------------------------------------------------------------
@contextmanager
def configurations(demo, root: Path, settings: dict):
    """Two more instances without the replica and HAProxy in front of each configuration the demo lacks. Yields
    {config: (balancer port, gunicorn master pids)}."""
    env = {**os.environ, "RESOURCEMAP_DATABASE_URL": demo.primary.url, "RESOURCEMAP_REDIS_URL": demo.redis_url,
           "RESOURCEMAP_SECRET_KEY": secrets.token_urlsafe(48), **settings}
    env.pop("RESOURCEMAP_READ_DATABASE_URLS", None)
    log_dir = root / "log"
    with ExitStack() as stack:
        plain = []
        for n in (3, 4):
            port = processes.free_port()
            child = processes.app_instance(n, port, env, log_dir)
            stack.callback(child.stop)
            plain.append((port, child))
        for port, child in plain:
            processes.wait_until(lambda: processes.answers_health(f"http://127.0.0.1:{port}"), child, child.name)
        replica_ports = [int(url.rsplit(":", 1)[1]) for url in demo.instance_urls]
        replica_pids = [c.process.pid for c in demo.instances]
        wanted = {(1, 0): ([plain[0][0]], [plain[0][1].process.pid]),
                  (2, 0): ([p for p, _ in plain], [c.process.pid for _, c in plain]),
                  (1, 1): (replica_ports[:1], replica_pids[:1])}
        found = {(2, 1): (int(demo.balancer_url.rsplit(":", 1)[1]), replica_pids)}
        for config, (ports, pids) in wanted.items():
            found[config] = (_balancer(stack, root, config, ports), pids)
        yield found


def _balancer(stack: ExitStack, root: Path, config: tuple[int, int], ports: list[int]) -> int:
    run_dir = root / "run" / f"capacity-{config[0]}-{config[1]}"
    run_dir.mkdir(parents=True, exist_ok=True)
    port = processes.free_port()
    child = processes.balancer(port, ports, run_dir, run_dir)
    stack.callback(child.stop)
    processes.wait_until(lambda: processes.answers_health(f"http://127.0.0.1:{port}"), child, "HAProxy")
    return port


# --- the load -------------------------------------------------------------------------------------------------
def _path(endpoint: str, req: dict) -> str:
    if endpoint == "health":
        return "/api/v1/health"
    return "/api/v1/nearest?lat={:.6f}&lon={:.6f}&service={}&limit=10".format(req["lat"], req["lon"], req["types"][0])


def load(port: int, endpoint: str, reqs: list[dict], clients: int, seconds: float) -> dict:
    """`clients` threads, each with its own keep-alive connection, for `seconds`: latencies (ms) of the answered
    requests, statuses other than 200 counted."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[dict] = [{} for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    def client(k: int) -> None:
        http, i = HttpClient(port), k
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    status, _ = http.get(_path(endpoint, reqs[i % len(reqs)]))
                except OSError as error:
                    status = type(error).__name__
                if status == 200:
                    latencies[k].append((time.perf_counter() - t0) * 1000.0)
                else:
                    failures[k][str(status)] = failures[k].get(str(status), 0) + 1
                i += clients
        finally:
            http.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged: dict[str, int] = {}
    for f in failures:
        for key, n in f.items():
            merged[key] = merged.get(key, 0) + n
    return {"latencies": [x for lat in latencies for x in lat], "seconds": time.perf_counter() - started,
            "failures": merged}


def measure_round(configs: dict, dbs: list[int], reqs: list[dict], args) -> dict:
    """One round: every configuration, each endpoint, with the CPU the apps, the databases and this client used."""
    out = {}
    for config in CONFIGS:
        port, app_pids = configs[config]
        for endpoint in ENDPOINTS:
            before = (tree_cpu_s(app_pids), tree_cpu_s(dbs), time.process_time())
            run = load(port, endpoint, reqs, args.clients, args.seconds)
            after = (tree_cpu_s(app_pids), tree_cpu_s(dbs), time.process_time())
            run["app_cpu_s"], run["db_cpu_s"], run["client_cpu_s"] = (b - a for a, b in zip(before, after))
            out[(config, endpoint)] = run
            log(f"  {label(config)}, {endpoint}: {len(run['latencies']) / run['seconds']:.0f} req/s"
                + (f", failures {run['failures']}" if run["failures"] else ""))
    return out


def combine(rounds: list[dict]) -> list[dict]:
    rows = []
    for config in CONFIGS:
        for endpoint in ENDPOINTS:
            runs = [r[(config, endpoint)] for r in rounds]
            answered = sum(len(r["latencies"]) for r in runs)
            seconds = sum(r["seconds"] for r in runs)
            app_cpu, db_cpu = sum(r["app_cpu_s"] for r in runs), sum(r["db_cpu_s"] for r in runs)
            stats = summarize([x for r in runs for x in r["latencies"]])
            rows.append({"instances": config[0], "replicas": config[1], "endpoint": endpoint, "requests": answered,
                         "seconds": round(seconds, 2), "rps": answered / seconds,
                         "rps_per_round": [round(len(r["latencies"]) / r["seconds"], 1) for r in runs],
                         "p50_ms": stats["p50"], "p95_ms": stats["p95"], "p99_ms": stats["p99"],
                         "app_cpu_ms_per_request": 1000 * app_cpu / max(answered, 1),
                         "db_cpu_ms_per_request": 1000 * db_cpu / max(answered, 1),
                         "client_cpu_share": sum(r["client_cpu_s"] for r in runs) / seconds,
                         "failures": {k: sum(r["failures"].get(k, 0) for r in runs)
                                      for k in {k for r in runs for k in r["failures"]}}})
    for row in rows:
        base = next(r for r in rows if (r["instances"], r["replicas"]) == BASE and r["endpoint"] == row["endpoint"])
        row["x_base"] = row["rps"] / base["rps"]
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = ["| configuration | endpoint | req/s | × (1 instance, 0 replicas) | p50 ms | p95 ms | app CPU ms/req "
             "| DB CPU ms/req | failures |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {label((r['instances'], r['replicas']))} | {r['endpoint']} | {r['rps']:,.0f} | "
                     f"{r['x_base']:.2f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['app_cpu_ms_per_request']:.2f} "
                     f"| {r['db_cpu_ms_per_request']:.2f} | {sum(r['failures'].values()) or ''} |")
    return "\n".join(lines)


# --- the database ---------------------------------------------------------------------------------------------
def dsn(url: str) -> str:
    """A libpq connection string from one of the demo's SQLAlchemy URLs."""
    from sqlalchemy.engine import make_url

    return conninfo(url, make_url(url).database)


def ensure_synthetic(url: str, wanted: int, echo) -> None:
    """Exactly `wanted` synthetic locations on the primary (none added when they are there already)."""
    from resourcemap.db import make_engine
    from resourcemap.registry.demo import delete_synthetic, generate_synthetic

    engine = make_engine(url, statement_timeout_ms=0)
    try:
        with engine.connect() as conn:
            have = conn.exec_driver_sql("SELECT count(*) FROM location l JOIN organization o ON o.id = "
                                        "l.organization_id WHERE o.source = 'synthetic'").scalar()  # not the demo's
        if have != wanted:
            echo(f"synthetic locations: {have} there, {wanted} wanted ...")
            started = time.monotonic()
            delete_synthetic(engine)
            if wanted:
                generate_synthetic(engine, wanted)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")  # not autovacuum's work during the measurement
            echo(f"synthetic locations: {wanted} in {time.monotonic() - started:.0f} s")
    finally:
        engine.dispose()


def wait_for_replica(demo, timeout_s: float = 1800) -> None:
    """Until the replica has replayed everything the primary had written when asked."""
    import psycopg

    with psycopg.connect(dsn(demo.primary.url), autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(dsn(demo.replica.url), autocommit=True) as replica:
        while replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0] is not True:
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not catch up")
            time.sleep(1)


def database_facts(demo) -> dict:
    import psycopg

    with psycopg.connect(dsn(demo.primary.url), autocommit=True) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        counts = dict(conn.execute("SELECT 'locations', count(*) FROM location UNION ALL SELECT 'services at "
                                   "locations', count(*) FROM service_at_location UNION ALL SELECT 'settlements', "
                                   "count(*) FROM settlement").fetchall())
        version = conn.execute("SHOW server_version").fetchone()[0]
    return {"database_mb": round(size / 2 ** 20, 1), **counts, "postgresql": version}


# --- the run --------------------------------------------------------------------------------------------------
def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="per configuration, endpoint and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients (threads)")
    p.add_argument("--origins", type=int, default=250)
    p.add_argument("--origin-seed", type=int, default=7)
    p.add_argument("--census", action="store_true", help="the census' settlements in the primary (first start)")
    p.add_argument("--synthetic", type=int, default=0,
                   help="exactly this many synthetic locations in the primary (made or removed as needed)")
    p.add_argument("--root", type=Path, default=ROOT / "var" / "bench-capacity",
                   help="the demo's directory; its primary is kept between runs: one per --synthetic size")
    p.add_argument("--output", type=Path, help="write the results as JSON here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    settings = {"RESOURCEMAP_API_RATE_LIMIT": "100000000 per minute"}  # the limiter stays in the path, unreached
    with running(args.root, census=args.census, env=settings, echo=log) as demo:
        ensure_synthetic(demo.primary.url, args.synthetic, log)  # those of an earlier run removed when 0
        wait_for_replica(demo)
        origins = sample_origins(dsn(demo.primary.url), args.origins, args.origin_seed)
        reqs = make_requests(origins, max(args.origins, 500), multi=False)
        with configurations(demo, args.root, settings) as configs:
            dbs = [p for p in (postmaster_pid(demo.primary), postmaster_pid(demo.replica)) if p]
            for config in CONFIGS:  # warm every instance and cache, untimed
                load(configs[config][0], "nearest", reqs, args.clients, min(args.seconds, 3.0))
            rounds = []
            for n in range(args.rounds):
                log(f"round {n + 1} of {args.rounds}")
                rounds.append(measure_round(configs, dbs, reqs, args))
            memory = worker_rss(sorted({pid for config in CONFIGS for pid in configs[config][1]}))
        facts = database_facts(demo)
    rows = combine(rounds)
    result = {"machine": machine(), "code": code_fingerprint(), "database": facts, "clients": args.clients,
              "seconds": args.seconds, "rounds": args.rounds, "origins": args.origins, "census": args.census,
              "synthetic": args.synthetic, "worker_rss_mib": [round(m, 1) for m in sorted(memory)],
              "results": rows}
    print(markdown_table(rows))
    print(f"\ngunicorn worker RSS (MiB): {', '.join(f'{m:.0f}' for m in sorted(memory))}; database {facts}; "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
