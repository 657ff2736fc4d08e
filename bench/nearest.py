#!/usr/bin/env python
"""Latency of nearest help: the API end to end against the bare PostGIS KNN, on the same data, in the same run.

For each size (synthetic locations) a database `resourcemap_bench_<size>` is made once on the embedded cluster
(or on the server of RESOURCEMAP_BENCH_DATABASE_URL; only the database name is replaced) and reused while it
holds exactly that many synthetic locations. Then, over one fixed list of requests (origins at real settlements,
weighted by population; one kind of help per request, rotating), sequential single requests are timed for:

  raw SQL KNN          psycopg 3, prepared: the bare `ORDER BY geog <-> o LIMIT 10` on ix_sal_type_geog (the floor)
  nearest SQL          psycopg 3, prepared: the SQL text of resourcemap.data.nearest (KNN + exact spheroid
                       re-ranking + outreach + details), without SQLAlchemy
  nearest_services()   the search function itself through SQLAlchemy, one app context per request
  API in-process       GET /api/v1/nearest through Flask's test client (view, validation, JSON; no HTTP)
  API over HTTP        GET /api/v1/nearest on gunicorn (2 sync workers) over a local TCP socket
  HTTP floor           GET /api/v1/health on the same gunicorn: what the HTTP stack costs by itself

and p50/p95/p99 are printed as a Markdown table, with the ratios to the raw KNN and to the nearest SQL.
`--runs N` repeats the measurement and reports the median of each figure across runs.

    .venv/bin/python bench/nearest.py                    # 10k and 1M, 500 requests per approach, 3 runs
    .venv/bin/python bench/nearest.py --quick            # 10k, 100 requests, 1 run (CI)
    .venv/bin/python bench/nearest.py --output out.json  # also machine-readable results

Timings are only printed, never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

BENCH_DB_PREFIX = "resourcemap_bench_"
READY_MARK = "resourcemap bench database"
KINDS = ("early_help", "rehabilitation", "family_support", "crisis_apartment")
MULTI_KINDS = ("early_help", "rehabilitation", "family_support")
CONFIDENTIAL_KINDS = {"crisis_apartment"}  # their public distance is rounded to whole km (search/redaction.py)

RAW = "raw SQL KNN (psycopg)"
FULL = "nearest SQL (psycopg)"
SERVICE = "nearest_services() (SQLAlchemy)"
INPROC = "API in-process (Flask test client)"
HTTP = "API over HTTP (gunicorn)"
FLOOR = "HTTP floor: GET /api/v1/health (gunicorn)"
APPROACHES = (RAW, FULL, SERVICE, INPROC, HTTP, FLOOR)

RAW_KNN_SQL = """
SELECT sal.id, ST_Distance(sal.geog, o.g) AS d
FROM (SELECT CAST(ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) AS geography) AS g) o,
     service_at_location sal
WHERE sal.searchable AND sal.type_code = %(type)s
ORDER BY sal.geog <-> o.g
LIMIT 10
"""

# Several kinds: the same KNN once per kind (the GiST index answers one type_code at a time), merged.
RAW_KNN_MULTI_SQL = """
SELECT c.id, c.d
FROM (SELECT CAST(ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) AS geography) AS g) o,
     unnest(CAST(%(types)s AS text[])) AS t(code)
CROSS JOIN LATERAL (
  SELECT sal.id, ST_Distance(sal.geog, o.g) AS d, sal.geog <-> o.g AS kd
  FROM service_at_location sal
  WHERE sal.searchable AND sal.type_code = t.code
  ORDER BY sal.geog <-> o.g
  LIMIT 10
) c
ORDER BY c.kd
LIMIT 10
"""

# The agreement check: the raw KNN's candidates with what the service filters on.
# The public's view of the same: confidential places at their public point (migration 0015), the anonymous API's
# rule; each part in KNN order of its own index, merged in sphere order.
RAW_KNN_CHECK_SQL = """
WITH o AS (SELECT CAST(ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) AS geography) AS g),
place AS (SELECT rm_region_at(ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326), 20000) AS region_code)
SELECT * FROM (
  (SELECT sal.id, sal.service_id, sal.location_id, sal.delivery, ST_Distance(sal.geog, o.g) AS d,
          ST_Distance(sal.geog, o.g, false) AS d_sphere
   FROM o, service_at_location sal
   WHERE sal.searchable AND sal.type_code = %(type)s AND NOT sal.confidential AND (NOT %(same_country)s OR EXISTS (SELECT 1 FROM location l, place WHERE l.id = sal.location_id
        AND (place.region_code IS NULL OR left(l.region_code, 3) = left(place.region_code, 3))))
   ORDER BY sal.geog <-> o.g LIMIT 10)
  UNION ALL
  (SELECT sal.id, sal.service_id, sal.location_id, sal.delivery, ST_Distance(sal.public_geog, o.g) AS d,
          ST_Distance(sal.public_geog, o.g, false) AS d_sphere
   FROM o, service_at_location sal
   WHERE sal.searchable AND sal.type_code = %(type)s AND sal.confidential AND (NOT %(same_country)s OR EXISTS (SELECT 1 FROM location l, place WHERE l.id = sal.location_id
        AND (place.region_code IS NULL OR left(l.region_code, 3) = left(place.region_code, 3))))
   ORDER BY sal.public_geog <-> o.g LIMIT 10)
) c
ORDER BY d_sphere
LIMIT 10
"""


# What the app under test is given besides its database: a throwaway secret key (the app refuses to start on a
# configured database without one) and a rate limit the bench cannot reach (the limiter stays in the path).
def app_settings() -> dict:
    import secrets

    return {"SECRET_KEY": os.environ.get("RESOURCEMAP_SECRET_KEY") or secrets.token_urlsafe(48),
            "API_RATE_LIMIT": "100000000 per minute"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- databases ------------------------------------------------------------------------------------------
def server_url() -> str:
    url = os.environ.get("RESOURCEMAP_BENCH_DATABASE_URL")
    if url:
        return url
    from resourcemap.config import load_config
    from resourcemap.db_embedded import ensure_url

    return ensure_url(load_config()["VAR_DIR"])


def sa_url(server: str, dbname: str) -> str:
    url = make_url(server)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.set(database=dbname).render_as_string(hide_password=False)


def conninfo(server: str, dbname: str) -> str:
    return make_url(server).set(drivername="postgresql", database=dbname).render_as_string(hide_password=False)


# The floor's index: the bare KNN needs a GiST index of the kind and the point. The service's own schema has none
# since migration 0012 (nearest help reads one planar index per kind), so the bench makes it in its databases, as
# 0001 made it (and 0012's downgrade makes it again).
FLOOR_INDEX = ("CREATE INDEX IF NOT EXISTS ix_sal_type_geog ON service_at_location USING gist (type_code, geog)"
               " WHERE searchable")


def _synthetic_locations(dsn: str) -> int | None:
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM location l JOIN organization o ON o.id = l.organization_id"
                " WHERE o.source = 'synthetic'").fetchone()[0]
    except psycopg.Error:
        return None


def _revision(dsn: str) -> str | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT string_agg(version_num, ',') FROM alembic_version").fetchone()
    return row[0] if row else None


def ensure_database(server: str, size: int, seed: float) -> dict:
    """The bench database for `size` synthetic locations: reused when complete, else (re)built."""
    from resourcemap.gazetteer.load import load_regions
    from resourcemap.registry.demo import generate_synthetic, load_demo_registry
    from resourcemap.schema import upgrade

    name = f"{BENCH_DB_PREFIX}{size}"
    admin = conninfo(server, "postgres")
    dsn = conninfo(server, name)
    info = {"database": name, "size": size}
    with psycopg.connect(admin, autocommit=True) as adm:
        # One builder at a time per size (a smoke test may start while a full run builds the same database).
        adm.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        row = adm.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                          (name,)).fetchone()
        comment = row[0] if row else None
        count = _synthetic_locations(dsn) if row else None
        if row and comment and comment.startswith(READY_MARK) and count == size:
            info.update(created=False, build=json.loads(comment[len(READY_MARK):].strip() or "{}"))
            log(f"[{name}] reusing: {count} synthetic locations ({comment[len(READY_MARK):].strip()})")
            # The tree moves on: bring the schema to the newest migration (a no-op when it is there already).
            before = _revision(dsn)
            engine = create_engine(sa_url(server, name))
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            after = _revision(dsn)
            if after != before:
                log(f"[{name}] schema migrated {before} -> {after}; ANALYZE")
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("ANALYZE")
        else:
            if row:
                log(f"[{name}] exists but holds {count} synthetic locations (want {size}) or is incomplete:"
                    " rebuilding")
                adm.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            adm.execute(f'CREATE DATABASE "{name}"')
            engine = create_engine(sa_url(server, name))
            steps = {}
            try:
                t0 = time.perf_counter()
                upgrade(engine)
                steps["migrate_s"] = round(time.perf_counter() - t0, 1)
                t0 = time.perf_counter()
                load_regions(engine, ROOT / "data" / "regions")
                steps["regions_s"] = round(time.perf_counter() - t0, 1)
                t0 = time.perf_counter()
                load_demo_registry(engine, ROOT / "data" / "demo" / "registry.json")
                steps["demo_s"] = round(time.perf_counter() - t0, 1)
                log(f"[{name}] schema, regions and demo registry in "
                    f"{steps['migrate_s'] + steps['regions_s'] + steps['demo_s']:.1f} s; generating {size} ...")
                t0 = time.perf_counter()
                generate_synthetic(engine, size, seed)
                steps["generate_s"] = round(time.perf_counter() - t0, 1)
            finally:
                engine.dispose()
            t0 = time.perf_counter()
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            steps["vacuum_analyze_s"] = round(time.perf_counter() - t0, 1)
            steps["seed"] = seed
            steps["built_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            adm.execute(f"COMMENT ON DATABASE \"{name}\" IS '{READY_MARK} {json.dumps(steps)}'")
            info.update(created=True, build=steps)
            log(f"[{name}] built: generation {steps['generate_s']} s, VACUUM ANALYZE {steps['vacuum_analyze_s']} s")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(FLOOR_INDEX)
        adm.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
    with psycopg.connect(dsn, autocommit=True) as conn:
        info["db_size_bytes"] = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        info["db_size"] = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        info["counts"] = dict(conn.execute(
            "SELECT 'synthetic_locations', count(*) FROM location l JOIN organization o ON o.id = l.organization_id"
            " WHERE o.source = 'synthetic'"
            " UNION ALL SELECT 'service_at_location', count(*) FROM service_at_location"
            " UNION ALL SELECT 'searchable', count(*) FROM service_at_location WHERE searchable"
            " UNION ALL SELECT 'service_area', count(*) FROM service_area"
            " UNION ALL SELECT 'settlements', count(*) FROM settlement").fetchall())
        info["by_kind"] = dict(conn.execute(
            "SELECT type_code, count(*) FROM service_at_location WHERE searchable AND type_code = ANY(%s)"
            " GROUP BY type_code", (list(KINDS),)).fetchall())
        info["schema_revision"] = conn.execute("SELECT string_agg(version_num, ',') FROM alembic_version").fetchone()[0]
        info["index_size"] = conn.execute("SELECT pg_size_pretty(pg_relation_size('ix_sal_type_geog'))").fetchone()[0]
    return info


# --- the requests ---------------------------------------------------------------------------------------
def sample_origins(dsn: str, n: int, seed: int) -> list[dict]:
    """`n` settlements drawn with probability ~ population (fixed seed): where families ask from."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, name_ru, region_code, ST_Y(geog::geometry), ST_X(geog::geometry),"
            " greatest(coalesce(population, 300), 100) FROM settlement ORDER BY id").fetchall()
    rng = random.Random(seed)
    picks = rng.choices(rows, weights=[r[5] for r in rows], k=n)
    return [{"settlement_id": r[0], "name": r[1], "region": r[2], "lat": r[3], "lon": r[4]} for r in picks]


def make_requests(origins: list[dict], n: int, multi: bool, offset: int = 0) -> list[dict]:
    reqs = []
    for i in range(n):
        o = origins[(i + offset) % len(origins)]
        types = MULTI_KINDS if multi else (KINDS[(i + offset) % len(KINDS)],)
        reqs.append({**o, "types": types})
    return reqs


# --- the approaches -------------------------------------------------------------------------------------
def _nearest_sql_and_params(req: dict) -> tuple[str, dict]:
    """The statement nearest_services() runs for this request (as the API asks: from a point, locating it), for
    psycopg."""
    from resourcemap.data import nearest as n

    q = n.NearestQuery(lat=req["lat"], lon=req["lon"], service_types=tuple(req["types"]), limit=10)
    sql = n._statement("point", q.service_types, n._filters(q), True)
    params = {**n._params(q), "region": None, "settlement_id": None, "per_kind": 5}
    return sql, params


def timed(fn, reqs: list, warm: list, max_seconds: float | None = None, min_requests: int = 5) -> list[float]:
    """Latencies (ms) of `fn(req)` for each request, one at a time, after the untimed `warm` ones. With
    `max_seconds`, stop early once that much time went by (and at least `min_requests` were timed): a peer that
    scans the whole table at 5M locations takes a second per request, and the run must stay bounded."""
    for req in warm:
        fn(req)
    out = []
    start = time.perf_counter()
    for req in reqs:
        t0 = time.perf_counter_ns()
        fn(req)
        out.append((time.perf_counter_ns() - t0) / 1e6)
        if max_seconds is not None and len(out) >= min_requests and time.perf_counter() - start > max_seconds:
            break
    return out


def measure_raw(dsn: str, reqs: list[dict], warm: list[dict], multi: bool) -> list[float]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor()
        sql = RAW_KNN_MULTI_SQL if multi else RAW_KNN_SQL

        def one(req):
            params = ({"lat": req["lat"], "lon": req["lon"], "types": list(req["types"])} if multi
                      else {"lat": req["lat"], "lon": req["lon"], "type": req["types"][0]})
            cur.execute(sql, params, prepare=True)
            rows = cur.fetchall()
            assert rows, f"raw KNN found nothing for {req}"

        return timed(one, reqs, warm)


def measure_full_sql(dsn: str, reqs: list[dict], warm: list[dict]) -> list[float]:
    # As the app's connections: prepared statements run with a generic plan (resourcemap/db.py).
    from resourcemap.db import PLAN_OPTIONS

    with psycopg.connect(dsn, autocommit=True, options=PLAN_OPTIONS) as conn:
        cur = conn.cursor()

        def one(req):
            sql, params = _nearest_sql_and_params(req)  # the kinds are written into the SQL: one statement each
            cur.execute(sql, params, prepare=True)
            rows = cur.fetchall()
            assert rows, f"nearest SQL found nothing for {req}"

        return timed(one, reqs, warm)


def measure_service(app, reqs: list[dict], warm: list[dict]) -> list[float]:
    from resourcemap.db import get_read_session
    from resourcemap.search.nearest import NearestQuery, nearest_services

    def one(req):
        with app.app_context():
            q = NearestQuery(lat=req["lat"], lon=req["lon"], service_types=tuple(req["types"]), limit=10,
                             outreach_equivalent_km=app.config["OUTREACH_EQUIVALENT_KM"])
            answer = nearest_services(get_read_session(), q, locate=True)
            assert answer.results, f"nearest_services found nothing for {req}"

    return timed(one, reqs, warm)


def _path(req: dict) -> str:
    return "/api/v1/nearest?" + urllib.parse.urlencode(
        {"lat": repr(req["lat"]), "lon": repr(req["lon"]), "service": ",".join(req["types"]), "limit": 10})


def _check_body(body: dict, req: dict) -> None:
    results = body.get("results")
    assert isinstance(results, list) and results, f"no results for {req}: {str(body)[:300]}"
    assert all(r["service"]["type"] in req["types"] for r in results), f"wrong kinds for {req}"


def measure_inproc(app, reqs: list[dict], warm: list[dict]) -> list[float]:
    client = app.test_client()

    def one(req):
        response = client.get(_path(req))
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.get_data(as_text=True)[:300]}"
        _check_body(response.get_json(), req)

    return timed(one, reqs, warm)


class HttpClient:
    """Keep-alive when the server allows it (http.client reopens the connection itself when it does not)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self):
        self.conn.close()


def measure_health(port: int, reqs: list[dict], warm: list[dict]) -> list[float]:
    """The HTTP stack's own floor: gunicorn, Flask, a pooled session (pre-ping) and `SELECT 1`."""
    client = HttpClient(port)

    def one(req):
        status, data = client.get("/api/v1/health")
        assert status == 200, f"HTTP {status}: {data[:300]!r}"

    try:
        return timed(one, reqs, warm)
    finally:
        client.close()


def measure_http(port: int, reqs: list[dict], warm: list[dict]) -> list[float]:
    client = HttpClient(port)

    def one(req):
        status, data = client.get(_path(req))
        assert status == 200, f"HTTP {status}: {data[:300]!r}"
        _check_body(json.loads(data), req)

    try:
        return timed(one, reqs, warm)
    finally:
        client.close()


# --- gunicorn -------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health_status(port: int) -> int:
    client = HttpClient(port)
    status, _ = client.get("/api/v1/health")
    client.close()
    return status


def wait_until_healthy(proc: subprocess.Popen, healthy, log_path: Path, timeout: float = 60) -> None:
    """Wait for a server just started until `healthy()` (an OSError counts as not yet); fail with the tail of its
    log when it exits first or `timeout` seconds go by."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if healthy():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not become healthy:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def stop_session(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a server started in a session of its own (start_new_session=True): SIGTERM, then after `timeout`
    seconds SIGKILL to the whole session (gunicorn and its workers)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def gunicorn(database_url: str, settings: dict, workers: int, threads: int, worker_class: str | None,
             wsgi_app: str, code: Path = ROOT):
    port = free_port()
    env = {**os.environ, "RESOURCEMAP_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1",
           **{f"RESOURCEMAP_{k}": str(v) for k, v in settings.items()}}
    args = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
            "--bind", f"127.0.0.1:{port}"]
    if worker_class:
        args += ["--worker-class", worker_class]
    args.append(wsgi_app)
    logfile = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen(args, cwd=code, env=env, stdout=logfile, stderr=subprocess.STDOUT,
                            start_new_session=True)  # cwd: the tree whose code is served (another for an A/B)
    try:
        wait_until_healthy(proc, lambda: _health_status(port) == 200, Path(logfile.name))
        yield port
    finally:
        stop_session(proc)
        logfile.close()
        if proc.returncode in (0, -signal.SIGTERM):
            os.unlink(logfile.name)
        else:
            log(f"gunicorn exited with {proc.returncode}; its log: {logfile.name}")


# --- statistics and checks ------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summarize(samples: list[float]) -> dict:
    return {"n": len(samples), "p50": percentile(samples, 50), "p95": percentile(samples, 95),
            "p99": percentile(samples, 99), "mean": statistics.fmean(samples), "max": max(samples)}


def check_agreement(dsn: str, port: int, reqs: list[dict], outreach_m: float) -> dict:
    """The API's answers against the raw KNN's candidates, for each request of a sample.

    The raw KNN orders by the sphere (`<->`) while ST_Distance on geography is on the spheroid, so the first KNN
    row need not be the spheroid-nearest of the ten: we take the minimum spheroid distance among them (and count
    how often the orders differ). The service ranks only located services (online ones are listed apart), so
    online candidates are left out. The API must list a service at that distance: exactly (its distances are
    rounded to 1 m), or to 500 m when the place is confidential (the public sees whole kilometres). Like the service,
    the candidates are those of the family's country (the region of the point), or abroad when it has none. The one
    legitimate exception is the outreach rule: a service that comes to the family ranks as if it stood at most
    15 km away, so ten of them can push a farther site out of the list; then every result must rank nearer."""
    client = HttpClient(port)
    out = {"checked": 0, "agree": 0, "first_exact": 0, "pushed_out_by_outreach": 0, "mismatches": [],
           "sphere_order_differs": 0, "online_in_knn": 0, "confidential_result": 0}
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for req in reqs:
                kind = req["types"][0]
                status, data = client.get(_path(req))
                assert status == 200, data[:300]
                results = json.loads(data)["results"]
                origin = {"lat": req["lat"], "lon": req["lon"], "type": kind}
                cands = conn.execute(RAW_KNN_CHECK_SQL, {**origin, "same_country": True}).fetchall()
                if not any(c[3] != "online" for c in cands):  # none in the family's country: the nearest abroad
                    cands = conn.execute(RAW_KNN_CHECK_SQL, {**origin, "same_country": False}).fetchall()
                out["online_in_knn"] += any(c[3] == "online" for c in cands)
                out["sphere_order_differs"] += [c[0] for c in cands] != [c[0] for c in sorted(cands, key=lambda c: c[4])]
                located = [c for c in cands if c[3] != "online"]
                if not located:
                    continue
                raw_min = min(c[4] for c in located)
                out["checked"] += 1
                shown = [(r["distance_km"] * 1000.0, 500.5 if r["location"]["confidential"] else 1.0, r) for r in results]
                out["confidential_result"] += any(r["location"]["confidential"] for r in results)
                if abs(shown[0][0] - raw_min) <= 1.0 and not results[0]["reaches_you"]:
                    out["first_exact"] += 1
                if any(abs(d - raw_min) <= tol for d, tol, _ in shown):
                    out["agree"] += 1
                elif len(results) >= 10 and all(
                        (min(d, outreach_m) if r["reaches_you"] else d) <= raw_min + tol for d, tol, r in shown):
                    out["agree"] += 1
                    out["pushed_out_by_outreach"] += 1
                else:
                    out["mismatches"].append({"lat": req["lat"], "lon": req["lon"], "type": kind, "raw_min_m": raw_min,
                                              "api_m": [d for d, _, _ in shown]})
    finally:
        client.close()
    return out


def explain(dsn: str, req: dict) -> str:
    sql, params = _nearest_sql_and_params(req)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql, params)  # warm
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()
        raw = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + RAW_KNN_SQL,
                           {"lat": req["lat"], "lon": req["lon"], "type": req["types"][0]}).fetchall()
    return ("-- nearest SQL\n" + "\n".join(r[0] for r in rows) + "\n\n-- raw SQL KNN\n"
            + "\n".join(r[0] for r in raw))


# --- one size -------------------------------------------------------------------------------------------
def bench_size(server: str, size: int, args) -> dict:
    from resourcemap import create_app

    info = ensure_database(server, size, args.seed)
    url, dsn = sa_url(server, info["database"]), conninfo(server, info["database"])
    log(f"[{info['database']}] size {info['db_size']}, {info['counts']}")
    origins = sample_origins(dsn, args.origins, args.origin_seed)
    single = make_requests(origins, args.requests, multi=False)
    multi = make_requests(origins, args.multi_requests, multi=True) if args.multi_requests else []
    warm = make_requests(origins, args.warmup, multi=False, offset=args.requests)  # same kinds, other order
    warm_multi = make_requests(origins, min(args.warmup, 20), multi=True, offset=args.requests)

    settings = app_settings()
    app = create_app({"DATABASE_URL": url, **settings})
    runs = []
    result = {"size": size, "database": info, "origins": len(origins), "requests": args.requests,
              "multi_requests": args.multi_requests, "runs": runs}
    with gunicorn(url, settings, args.workers, args.threads, args.worker_class, args.wsgi_app) as port:
        for run in range(args.runs):
            log(f"[{info['database']}] run {run + 1}/{args.runs}")
            samples = {}
            for label, reqs, wreqs in (("1 kind", single, warm), ("3 kinds", multi, warm_multi)):
                if not reqs:
                    continue
                is_multi = label != "1 kind"
                samples[(RAW, label)] = measure_raw(dsn, reqs, wreqs, is_multi)
                samples[(FULL, label)] = measure_full_sql(dsn, reqs, wreqs)
                samples[(SERVICE, label)] = measure_service(app, reqs, wreqs)
                samples[(INPROC, label)] = measure_inproc(app, reqs, wreqs)
                samples[(HTTP, label)] = measure_http(port, reqs, wreqs)
                if not is_multi:
                    samples[(FLOOR, label)] = measure_health(port, reqs, wreqs)
            runs.append([{"approach": a, "kinds": k, **summarize(v)} for (a, k), v in samples.items()])
        if args.check:
            result["agreement"] = check_agreement(dsn, port, single[:args.check],
                                                  app.config["OUTREACH_EQUIVALENT_KM"] * 1000.0)
    app.extensions["resourcemap.engine"].dispose()
    if args.explain:
        result["explain"] = explain(dsn, single[0])
    result["summary"] = combine(runs)
    return result


def combine(runs: list[list[dict]]) -> list[dict]:
    """Median across runs of each figure, and of the per-run ratios to the raw KNN and to the nearest SQL."""
    out = []
    for row in runs[0]:
        key = (row["approach"], row["kinds"])
        per_run = [next(r for r in run if (r["approach"], r["kinds"]) == key) for run in runs]
        raw = [next(r for r in run if (r["approach"], r["kinds"]) == (RAW, key[1])) for run in runs]
        full = [next(r for r in run if (r["approach"], r["kinds"]) == (FULL, key[1])) for run in runs]
        med = {f: statistics.median(r[f] for r in per_run) for f in ("p50", "p95", "p99", "mean")}
        out.append({"approach": key[0], "kinds": key[1], "n": per_run[0]["n"], "runs": len(runs), **med,
                    "x_raw_p50": statistics.median(r["p50"] / w["p50"] for r, w in zip(per_run, raw)),
                    "x_full_p50": statistics.median(r["p50"] / w["p50"] for r, w in zip(per_run, full)),
                    "p50_runs": [r["p50"] for r in per_run], "p95_runs": [r["p95"] for r in per_run]})
    return out


# --- output ---------------------------------------------------------------------------------------------
def markdown_table(results: list[dict]) -> str:
    lines = ["| locations | approach | kinds | requests | p50 ms | p95 ms | p99 ms | p50 × raw KNN | p50 × nearest SQL |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        for row in res["summary"]:
            lines.append(f"| {res['size']:,} | {row['approach']} | {row['kinds']} | {row['n']} | {row['p50']:.2f} | "
                         f"{row['p95']:.2f} | {row['p99']:.2f} | {row['x_raw_p50']:.2f} | {row['x_full_p50']:.2f} |")
    return "\n".join(lines)


def targets(results: list[dict]) -> list[str]:
    """The issue's targets: API p95 < 20 ms at 1M locations, API p50 <= 3 x raw SQL p50 (one kind of help)."""
    lines = []
    for res in results:
        api = next(r for r in res["summary"] if r["approach"] == HTTP and r["kinds"] == "1 kind")
        if res["size"] >= 1_000_000:
            lines.append(f"- {res['size']:,}: API p95 {api['p95']:.2f} ms < 20 ms: "
                         f"{'met' if api['p95'] < 20 else 'NOT met'}")
        lines.append(f"- {res['size']:,}: API p50 / raw KNN p50 = {api['x_raw_p50']:.2f} <= 3: "
                     f"{'met' if api['x_raw_p50'] <= 3 else 'NOT met'}")
    return lines


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "load_avg": os.getloadavg()}


def code_fingerprint() -> str:
    """A short hash of the code under test (the tree changes between runs; results say which code they measured)."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted([*(ROOT / "resourcemap" / "search").glob("*.py"), ROOT / "resourcemap" / "api" / "routes.py",
                        *(ROOT / "resourcemap" / "migrations" / "versions").glob("*.py")]):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:12]


def server_versions(server: str) -> dict:
    with psycopg.connect(conninfo(server, "postgres"), autocommit=True) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        postgis = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    return {"postgresql": pg, "postgis": postgis[0] if postgis else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,1000000", help="synthetic locations per database, comma-separated")
    p.add_argument("--requests", type=int, default=500, help="timed requests per approach (one kind each)")
    p.add_argument("--multi-requests", type=int, default=100, help="timed three-kind requests per approach (0: none)")
    p.add_argument("--warmup", type=int, default=50, help="untimed requests per approach before timing")
    p.add_argument("--runs", type=int, default=3, help="repeat the measurement; the median of each figure is reported")
    p.add_argument("--origins", type=int, default=250, help="distinct origins (settlements) in the request list")
    p.add_argument("--origin-seed", type=int, default=20260415)
    p.add_argument("--seed", type=float, default=0.42, help="seed of the synthetic registry")
    p.add_argument("--check", type=int, default=60, help="requests whose answers are checked against the raw KNN")
    p.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) the nearest SQL once per size")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--worker-class", default=None, help="gunicorn worker class (default: gunicorn's choice)")
    p.add_argument("--wsgi-app", default="resourcemap.wsgi:app", help="what gunicorn serves")
    p.add_argument("--quick", action="store_true", help="CI: 10k only, 100 requests, 1 run")
    p.add_argument("--output", type=Path, help="write the results as JSON here")
    p.add_argument("--prepare-only", action="store_true", help="make (or check) the databases, measure nothing")
    args = p.parse_args(argv)
    # Stop cleanly (gunicorn included, by the `finally` of its context) on SIGTERM, and on SIGINT even when
    # started in the background, where the shell has it ignored.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    if args.quick:
        args.sizes, args.requests, args.multi_requests, args.warmup, args.runs = "10000", 100, 10, 10, 1
        args.check = min(args.check, 12)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]

    server = server_url()
    if args.prepare_only:
        for size in sizes:
            info = ensure_database(server, size, args.seed)
            print(json.dumps(info, default=str))
        return 0
    meta = {"machine": machine(), "server": server_versions(server), "argv": sys.argv[1:], "code": code_fingerprint(),
            "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    results = []
    for size in sizes:
        results.append(bench_size(server, size, args))

    print(f"nearest help, sequential single requests, limit 10; {args.requests} one-kind requests "
          f"(kinds rotate over {', '.join(KINDS)}) and {args.multi_requests} three-kind requests per approach; "
          f"median of {args.runs} run(s)")
    print(f"code under test: {meta['code']} (hash of resourcemap/search, api/routes.py, migrations); "
          f"load average at start {' '.join(f'{x:.2f}' for x in meta['machine']['load_avg'])}")
    print(f"machine: {meta['machine']['nproc']} CPUs ({meta['machine']['cpu']}), {meta['machine']['ram_gib']} GiB; "
          f"PostgreSQL {meta['server']['postgresql']}, PostGIS {meta['server']['postgis']}")
    for res in results:
        db = res["database"]
        built = ("built now" if db["created"] else "reused") + (
            f", generation took {db['build'].get('generate_s')} s" if db.get("build") else "")
        print(f"- {res['size']:,} synthetic locations: database {db['database']}, {db['db_size']} ({built}); "
              f"{db['counts'].get('searchable')} searchable service-at-locations")
    print()
    print(markdown_table(results))
    print()
    print("targets:")
    for line in targets(results):
        print(line)
    for res in results:
        if "agreement" in res:
            a = res["agreement"]
            print(f"- {res['size']:,}: answers agree with the raw KNN for {a['agree']}/{a['checked']} checked requests "
                  f"(first result at the KNN's spheroid minimum to 1 m: {a['first_exact']}; nearest pushed out by "
                  f"outreach services: {a['pushed_out_by_outreach']}; confidential places shown to 500 m in "
                  f"{a['confidential_result']}; KNN's sphere order differs from spheroid order in "
                  f"{a['sphere_order_differs']}; online services among the KNN's ten in {a['online_in_knn']})")
        if "explain" in res:
            print(f"\nEXPLAIN at {res['size']:,}:\n{res['explain']}")
    if args.output:
        args.output.write_text(json.dumps({**meta, "results": results}, indent=2, ensure_ascii=False, default=str))
    bad = [res for res in results if res.get("agreement", {}).get("mismatches")]
    for res in bad:
        log(f"answers disagree at {res['size']}: {res['agreement']['mismatches'][:5]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
