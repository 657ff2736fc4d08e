#!/usr/bin/env python
"""Latency of the dispatch console's search round trip, as the consultant's browser makes it:

  suggestion       GET  /dispatch/api/settlements?q=<the first letters of a settlement's name>
  search, 3 kinds  POST /dispatch/api/search {settlement, kinds: early_help, rehabilitation, family_support}
                   (nearest per kind, the region's online services, hours, and the request-log write)
  HTTP floor       GET  /api/v1/health

over HTTP on gunicorn (2 sync workers, a local TCP socket, keep-alive), signed in as a dispatcher (session cookie,
CSRF header), sequential single requests; p50/p95/p99 printed as a Markdown table. Origins are real settlements
drawn with probability ~ population (fixed seed), as in bench/nearest.py, whose helpers this reuses.

The database is bench/nearest.py's `resourcemap_bench_<size>` (1M synthetic locations by default). It is reused,
never dropped or rebuilt here: only brought to the newest migration (0005, the request log). What the bench adds is
removed afterwards: its temporary dispatcher account, that account's audit events, and the request-log rows its
searches wrote. Without the 1M database, --size 100000 (built by bench/nearest.py if absent).

    .venv/bin/python bench/dispatch.py                     # 1M, 500 requests each
    .venv/bin/python bench/dispatch.py --size 100000 --requests 200
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import secrets
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (str(ROOT), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

import psycopg  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

import nearest as nb  # noqa: E402  (bench/nearest.py: databases, origins, gunicorn, statistics)

KINDS = ["early_help", "rehabilitation", "family_support"]
TARGET_MS = 100.0


class Browser:
    """A keep-alive HTTP client that keeps the session cookie, like the console's page."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=h)
        response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data

    def close(self):
        self.conn.close()


def sign_in(browser: Browser, email: str, password: str) -> str:
    """Sign in through the form; returns the console's CSRF token."""
    status, _, html = browser.request("GET", "/signin")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1).decode()
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    status, _, _ = browser.request("POST", "/signin?next=/dispatch", form,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, f"sign-in failed: HTTP {status}"
    status, _, html = browser.request("GET", "/dispatch")
    assert status == 200, f"console: HTTP {status}"
    return re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()


def prefix(name: str) -> str:
    """What a consultant has typed when the suggestion is wanted: the first 5 letters (or the whole name)."""
    return name[:5]


def run(size: int, n: int, seed: int) -> dict:
    from resourcemap.auth.accounts import create_account
    from resourcemap.schema import upgrade
    from sqlalchemy.orm import Session

    server = nb.server_url()
    name = f"{nb.BENCH_DB_PREFIX}{size}"
    dsn = nb.conninfo(server, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        synthetic = conn.execute("SELECT count(*) FROM organization WHERE source = 'synthetic'").fetchone()[0]
    nb.log(f"[{name}] {synthetic} synthetic organizations; migrating to the newest revision")
    engine = create_engine(nb.sa_url(server, name))
    before = nb._revision(dsn)
    upgrade(engine)
    after = nb._revision(dsn)
    if before != after:
        nb.log(f"[{name}] schema {before} -> {after}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        info = dict(conn.execute(
            "SELECT 'searchable_service_at_location', count(*) FROM service_at_location WHERE searchable"
            " UNION ALL SELECT 'settlements', count(*) FROM settlement"
            " UNION ALL SELECT 'organizations', count(*) FROM organization").fetchall())
        info["database"], info["size"], info["revision"] = name, size, after
        info["db_size"] = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        last_log = conn.execute("SELECT coalesce(max(id), 0) FROM request_log").fetchone()[0]

    email = f"bench-dispatch-{secrets.token_hex(4)}@example.org"
    password = secrets.token_urlsafe(18)
    with Session(engine) as session:
        account_id = create_account(session, email, password, "dispatcher", []).id
        session.commit()
    origins = nb.sample_origins(dsn, n, seed)
    results: dict = {"info": info}
    try:
        with nb.gunicorn(nb.sa_url(server, name), nb.app_settings(), 2, 1, None, "resourcemap.wsgi:app") as port:
            browser = Browser(port)
            csrf = sign_in(browser, email, password)

            def suggest(o):
                status, _, data = browser.request(
                    "GET", "/dispatch/api/settlements?q=" + urllib.parse.quote(prefix(o["name"])),
                    headers={"Accept": "application/json"})
                assert status == 200, data[:300]
                assert json.loads(data)["results"], f"no suggestion for {prefix(o['name'])}"

            server_ms: list[float] = []

            def search(o):
                body = json.dumps({"settlement": o["settlement_id"], "kinds": KINDS, "call": secrets.token_hex(6)})
                status, _, data = browser.request("POST", "/dispatch/api/search", body.encode(), {
                    "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf})
                assert status == 200, data[:300]
                answer = json.loads(data)
                assert [g["kind"] for g in answer["groups"]] == KINDS
                assert all(g["results"] for g in answer["groups"]), f"a kind found nothing for {o}"
                server_ms.append(answer["took_ms"])

            def health(o):
                status, _, data = browser.request("GET", "/api/v1/health")
                assert status == 200

            warm = min(20, n)
            results["suggestion"] = nb.summarize(nb.timed(suggest, origins, origins[:warm]))
            results["search"] = nb.summarize(nb.timed(search, origins, origins[:warm]))
            results["search_server"] = nb.summarize(server_ms[warm:])
            results["health"] = nb.summarize(nb.timed(health, origins, origins[:warm]))
            browser.close()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            removed = conn.execute("DELETE FROM request_log WHERE id > %s", (last_log,)).rowcount
            conn.execute("DELETE FROM audit_event WHERE account_id = %s OR email = %s", (account_id, email))
            conn.execute("DELETE FROM account WHERE id = %s", (account_id,))
        nb.log(f"[{name}] cleaned up: the bench account and {removed} request-log rows")
        engine.dispose()
    return results


def table(results: dict) -> str:
    rows = [("suggestion: GET /dispatch/api/settlements", "suggestion"),
            ("search, 3 kinds: POST /dispatch/api/search", "search"),
            ("  of which server time (took_ms, view + SQL + log write)", "search_server"),
            ("HTTP floor: GET /api/v1/health", "health")]
    out = ["| request (over HTTP, gunicorn 2 workers) | n | p50 ms | p95 ms | p99 ms | max ms |",
           "|---|---:|---:|---:|---:|---:|"]
    for label, key in rows:
        s = results[key]
        out.append(f"| {label} | {s['n']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | {s['max']:.1f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    server = nb.server_url()
    name = f"{nb.BENCH_DB_PREFIX}{args.size}"
    with psycopg.connect(nb.conninfo(server, "postgres"), autocommit=True) as adm:
        exists = adm.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        if args.size == 1_000_000:
            nb.log(f"{name} is absent: measuring at 100k instead")
            args.size = 100_000
        nb.ensure_database(server, args.size, 0.42)
    results = run(args.size, args.requests, args.seed)
    print(f"\n{results['info']}\n")
    print(table(results))
    verdict = [f"{k}: p95 {results[k]['p95']:.1f} ms {'<' if results[k]['p95'] < TARGET_MS else '>='} {TARGET_MS:g} ms"
               for k in ("suggestion", "search")]
    print("\n" + "\n".join(verdict))
    print(json.dumps({"machine": nb.machine()}, ensure_ascii=False))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
