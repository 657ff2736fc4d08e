#!/usr/bin/env python
"""Soak: a mixed load for N minutes against gunicorn on loopback, as production serves it.

Client threads (closed loop, a short think time) each repeat a mix of what the service is used for:

  nearest      GET /api/v1/nearest (a family's settlement, drawn by population; one kind of help)   public
  suggest      GET /api/v1/settlements?q=<the first 2-6 letters of a settlement's name>            public
  map pan      GET /map-data/locations?bbox=... (phone-sized views from street to region zoom)   public
  dispatch     POST /dispatch/api/search (signed-in dispatcher, session cookie and CSRF token)     staff
  edit         PUT /api/v1/registry/organizations/<id> (a curator's bearer token; each client edits
               its own draft organization, so a 409 would be a real lost update)                  staff

and the run reports, per kind and overall: requests, errors (any answer but 200, or a connection failure),
error rate, p50/p95/p99 latency; and the gunicorn workers' resident memory (VmRSS) after the warm-up and at the
end. The database is the soak's own, `resourcemap_soak_10000` (built once by bench/nearest.py's builder: schema,
every region, the demo registry, 10,000 synthetic locations; reused afterwards; the soak adds a few drafts and
their history per run).

    .venv/bin/python bench/soak.py                 # 5 minutes, 6 clients
    .venv/bin/python bench/soak.py --minutes 30 --clients 8 --output soak.json
    .venv/bin/python bench/soak.py --quick         # 20 s, 3 clients (CI smoke)

Figures are printed, never asserted (the smoke test asserts only that there are no 500s).
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import random
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for folder in (ROOT, BENCH):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import psycopg  # noqa: E402

import common  # noqa: E402  (bench/common.py: the bench databases, gunicorn as production runs it)

KINDS = ("nearest", "suggest", "map pan", "dispatch", "edit")
WEIGHTS = (40, 20, 20, 12, 8)
SIZE = 10_000
DISPATCHER = ("soak.dispatcher@example.org", "soak dispatcher password")
CURATOR = ("soak.curator@example.org", "soak curator password")
HELP_KINDS = ("early_help", "rehabilitation", "family_support", "psychological_help")
MAP_SPANS_DEG = (0.02, 0.1, 0.4, 1.5, 5.0)  # street, town, district, region, wide region (phone-shaped)


# --- the database ----------------------------------------------------------------------------------------------
def soak_database(server: str) -> tuple[str, dict]:
    """The soak's own database (bench/nearest.py's builder under another name), and its staff accounts."""
    common.nearest_bench.BENCH_DB_PREFIX = "resourcemap_soak_"
    info = common.ensure_database(server, SIZE, 0.42)
    dsn = common.conninfo(server, info["database"])
    url = common.sa_url(server, info["database"])
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from resourcemap.auth.accounts import create_account, find_account, issue_token

    engine = create_engine(url)
    try:
        with Session(engine) as session:
            for email, password, role, regions in ((*DISPATCHER, "dispatcher", []),
                                                   (*CURATOR, "curator", ["RU-MOS"])):
                if find_account(session, email) is None:
                    create_account(session, email, password, role, regions)
            _, token = issue_token(session, find_account(session, CURATOR[0]), f"soak {dt.date.today()}")
            session.commit()
    finally:
        engine.dispose()
    return url, {**info, "dsn": dsn, "token": token}


def settlements(dsn: str, n: int, seed: int) -> list[dict]:
    origins = common.sample_origins(dsn, n, seed)
    with psycopg.connect(dsn) as conn:  # Moscow oblast places for the curator's edits (the curator's region)
        mos = conn.execute("SELECT ST_Y(geog::geometry), ST_X(geog::geometry) FROM settlement"
                           " WHERE region_code = 'RU-MOS' ORDER BY population DESC NULLS LAST LIMIT 20").fetchall()
    return origins, mos


# --- one client ------------------------------------------------------------------------------------------------
class Client:
    """One keep-alive connection with a cookie (the dispatcher's session) and the curator's token."""

    def __init__(self, port: int, token: str):
        self.port, self.token, self.cookie = port, token, ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = body
        if isinstance(body, (dict, list)):
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            data, headers["Content-Type"] = body.encode(), "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest):
                self.conn.close()  # an idle keep-alive connection closed by the server: once more, anew
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, dict(response.getheaders()), raw

    def sign_in(self, email: str, password: str) -> str:
        """Sign in through the form; returns the console's CSRF token."""
        _, _, page = self.request("GET", "/signin")
        csrf = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
        status, _, _ = self.request("POST", "/signin", urllib.parse.urlencode(
            {"email": email, "password": password, "csrf_token": csrf}))
        if status != 302:
            raise RuntimeError(f"sign-in as {email}: HTTP {status}")
        _, _, console = self.request("GET", "/dispatch")
        return re.search(rb'name="csrf-token" content="([^"]+)"', console).group(1).decode()


class Worker(threading.Thread):
    def __init__(self, index: int, port: int, token: str, origins: list[dict], mos: list, deadline: float,
                 think_s: float, results: dict, lock: threading.Lock):
        super().__init__(daemon=True)
        self.index, self.port, self.token, self.origins, self.mos = index, port, token, origins, mos
        self.deadline, self.think_s, self.results, self.lock = deadline, think_s, results, lock
        self.rng = random.Random(1000 + index)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # the run goes on; the failure is counted and shown
            self._record("setup", 0.0, f"{exc.__class__.__name__}: {exc}")

    def _record(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            entry = self.results.setdefault(kind, {"ms": [], "errors": [], "statuses": {}})
            entry["ms"].append(ms)
            if error:
                entry["errors"].append(error)

    def _run(self) -> None:
        client = Client(self.port, self.token)
        csrf = client.sign_in(*DISPATCHER)
        bearer = {"Authorization": f"Bearer {self.token}"}
        lat, lon = self.mos[self.index % len(self.mos)]
        status, _, raw = client.request("POST", "/api/v1/registry/organizations", {
            "name": f"Черновик нагрузочного теста {self.index}", "status": "draft", "description": "",
            "locations": [{"name": "Отделение", "address": "ул. Нагрузочная, 1", "lat": lat, "lon": lon}],
            "services": [{"type": "family_support", "delivery": "on_site", "location": 0, "schedule": []}],
            "phones": [{"number": f"+7495777{self.index:04d}", "kind": "main"}]}, bearer)
        if status != 201:
            raise RuntimeError(f"creating the draft to edit: HTTP {status} {raw[:300]!r}")
        doc = json.loads(raw)["document"]
        edits = 0
        while time.monotonic() < self.deadline:
            kind = self.rng.choices(KINDS, WEIGHTS)[0]
            origin = self.rng.choice(self.origins)
            if kind == "nearest":
                method, path, body, headers = "GET", "/api/v1/nearest?" + urllib.parse.urlencode(
                    {"lat": origin["lat"], "lon": origin["lon"], "service": self.rng.choice(HELP_KINDS)}), None, {}
            elif kind == "suggest":
                typed = origin["name"][:self.rng.randint(2, 6)]
                method, body, headers = "GET", None, {}
                path = "/api/v1/settlements?" + urllib.parse.urlencode({"q": typed})
            elif kind == "map pan":
                span = self.rng.choice(MAP_SPANS_DEG)
                lat = origin["lat"] + self.rng.uniform(-span, span) / 4
                lon = origin["lon"] + self.rng.uniform(-span, span) / 4
                bbox = ",".join(f"{v:.5f}" for v in (max(-180, lon - span / 4), max(-90, lat - span / 2),
                                                      min(180, lon + span / 4), min(90, lat + span / 2)))
                method, path, body, headers = "GET", f"/map-data/locations?bbox={bbox}", None, {}
            elif kind == "dispatch":
                method, path, headers = "POST", "/dispatch/api/search", {"X-CSRFToken": csrf}
                body = {"settlement": origin["settlement_id"], "kinds": self.rng.sample(HELP_KINDS, 2),
                        "call": f"soak-{self.index}-{self.rng.randint(0, 10**9)}"}
            else:
                edits += 1
                method, path, headers = "PUT", f"/api/v1/registry/organizations/{doc['id']}", bearer
                body = {**doc, "description": f"правка {self.index}-{edits}"}
            t0 = time.perf_counter()
            try:
                status, _, raw = client.request(method, path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                self._record(kind, (time.perf_counter() - t0) * 1000, f"{exc.__class__.__name__}: {exc}")
                client = Client(self.port, self.token)
                csrf = client.sign_in(*DISPATCHER)
                continue
            ms = (time.perf_counter() - t0) * 1000
            self._record(kind, ms, None if status == 200 else f"HTTP {status}: {raw[:200]!r}")
            with self.lock:
                statuses = self.results[kind]["statuses"]
                statuses[status] = statuses.get(status, 0) + 1
            if kind == "edit" and status == 200:
                doc = json.loads(raw)["document"]
            if self.think_s:
                time.sleep(self.rng.uniform(0, 2 * self.think_s))


# --- the run -------------------------------------------------------------------------------------------------
def worker_rss(port: int) -> dict[int, float]:
    _, workers = common.gunicorn_processes(port)
    return {pid: rss for pid in workers if (rss := common.rss_mib(pid)) is not None}


def run(seconds: float, clients: int, think_ms: float, warmup_s: float) -> dict:
    server = common.server_url()
    url, info = soak_database(server)
    origins, mos = settlements(info["dsn"], 2000, 7)
    settings = common.app_settings()
    results: dict = {}
    lock = threading.Lock()
    with common.production_gunicorn(url, settings) as port:
        # Warm-up: every kind once per client, untimed (imports, caches, prepared statements), then the RSS baseline.
        warm = [Worker(100 + i, port, info["token"], origins, mos, time.monotonic() + warmup_s, 0, {}, lock)
                for i in range(clients)]
        for w in warm:
            w.start()
        for w in warm:
            w.join()
        rss_start = worker_rss(port)
        started = time.monotonic()
        workers = [Worker(i, port, info["token"], origins, mos, started + seconds, think_ms / 1000, results, lock)
                   for i in range(clients)]
        for w in workers:
            w.start()
        samples = []
        while any(w.is_alive() for w in workers):
            time.sleep(min(10.0, max(1.0, seconds / 10)))
            samples.append({"t_s": round(time.monotonic() - started, 1), "rss_mib": worker_rss(port)})
        elapsed = time.monotonic() - started
        rss_end = worker_rss(port)
        master, _ = common.gunicorn_processes(port)
    return {"seconds": elapsed, "clients": clients, "think_ms": think_ms, "results": results,
            "rss_start": rss_start, "rss_end": rss_end, "rss_samples": samples, "database": info["database"],
            "db_size": info.get("db_size"), "machine": common.machine(),
            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def report(run: dict) -> str:
    lines = [f"soak: {run['seconds']:.0f} s, {run['clients']} clients (think time ~{run['think_ms']:.0f} ms), "
             f"database {run['database']} ({run['db_size']}), {run['machine']['nproc']} CPUs, load average "
             f"{', '.join(f'{x:.1f}' for x in run['machine']['load_avg'])}",
             "", "| kind | requests | req/s | errors | error rate | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    total_n = total_err = 0
    all_ms: list[float] = []
    for kind in KINDS + ("setup",):
        entry = run["results"].get(kind)
        if not entry:
            continue
        n, errors = len(entry["ms"]), len(entry["errors"])
        total_n, total_err = total_n + n, total_err + errors
        all_ms += entry["ms"]
        s = common.summarize(entry["ms"])
        lines.append(f"| {kind} | {n:,} | {n / run['seconds']:.1f} | {errors} | {100.0 * errors / n:.2f}% | "
                     f"{s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | {s['max']:.1f} |")
    s = common.summarize(all_ms)
    lines.append(f"| all | {total_n:,} | {total_n / run['seconds']:.1f} | {total_err} | "
                 f"{100.0 * total_err / max(1, total_n):.2f}% | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | "
                 f"{s['max']:.1f} |")
    start, end = sum(run["rss_start"].values()), sum(run["rss_end"].values())
    each_start = ", ".join(f"{v:.1f}" for v in run["rss_start"].values())
    each_end = ", ".join(f"{v:.1f}" for v in run["rss_end"].values())
    lines += ["", f"worker RSS (MiB): start {start:.1f} ({each_start}), end {end:.1f} ({each_end}), "
                  f"growth {end - start:+.1f} MiB ({100.0 * (end - start) / max(start, 1):+.1f}%)"]
    if set(run["rss_start"]) != set(run["rss_end"]):
        lines.append("note: the worker processes changed during the run (a worker was restarted)")
    errors = [e for entry in run["results"].values() for e in entry["errors"]]
    if errors:
        lines.append("first errors: " + " | ".join(errors[:5]))
    statuses = {kind: entry["statuses"] for kind, entry in run["results"].items() if entry.get("statuses")}
    lines.append("statuses: " + json.dumps(statuses, sort_keys=True))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--think-ms", type=float, default=20.0, help="mean pause between a client's requests")
    parser.add_argument("--quick", action="store_true", help="20 s, 3 clients (CI smoke)")
    parser.add_argument("--output", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    seconds, clients = (20.0, 3) if args.quick else (args.minutes * 60, args.clients)
    result = run(seconds, clients, args.think_ms, warmup_s=3.0 if args.quick else 10.0)
    print(report(result))
    if args.output:
        slim = {**result, "results": {k: {"n": len(v["ms"]), "errors": v["errors"][:20], "statuses": v["statuses"],
                                          **common.summarize(v["ms"])} for k, v in result["results"].items()}}
        args.output.write_text(json.dumps(slim, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
