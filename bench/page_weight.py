#!/usr/bin/env python
"""What a parent's phone downloads for the public pages, and how long they take on slow 3G (issue 18).

The app runs as `resourcemap serve` runs it (gunicorn, 2 workers × 4 threads) on a free port, on a database of
its own (`resourcemap_page_weight`: the schema, the regions and the demo registry, made once by the same
first-start setup as `resourcemap serve` and reused). Debian's /usr/bin/chromium, driven by Playwright, opens each
page as a phone (390×844, touch) under CDP `Network.emulateNetworkConditions`: 400 kbit/s down and up, 400 ms
latency, the HTTP cache on.

Per page and run, in a fresh browser context (an empty cache):

- **first load**: the requests the server answered (counted in gunicorn's access log) and the bytes that came
  over the wire for them (CDP `encodedDataLength`: headers and the body as sent, compressed or not);
- **repeat visit**: the same URL in a new tab of the same context (a later visit with the cache warm, not a
  reload): the requests the server answered;
- **times** from the navigation's start, on both loads: first contentful paint, the load event, and "ready" —
  the first animation frame in which the page's answer is on screen: for `/` the map's first markers (the
  visible area's locations from /map-data/locations), for a shared result link the first result card, for an
  organization page its heading.

Map tiles come from the tile server (`TILE_URL`, OpenStreetMap), not from the app: the browser is told to block
them (CDP `Network.setBlockedURLs`: they fail at once, use no bandwidth and do not hold up the load event), and
they are counted apart. Printed figures are medians over
`--runs`; timings are printed, never asserted.

    .venv/bin/python bench/page_weight.py                       # this tree, 5 runs
    .venv/bin/python bench/page_weight.py --tree /tmp/before    # another checkout (e.g. a git worktree), same database
    .venv/bin/python bench/page_weight.py --tree /tmp/before --tree . --runs 7 --json out.json --detail
                                                                # two trees, their runs taking turns
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import common  # bench/common.py: the tree on sys.path; a server's port, start and stop as bench/nearest.py's

ROOT = common.ROOT

DATABASE = "resourcemap_page_weight"
CHROMIUM = os.environ.get("RESOURCEMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}

# Recorded in every page before its own scripts: the first animation frame in which the answer is in the
# document (rAF runs just before a frame is painted, and not while stylesheets still block rendering).
READY_SCRIPT = """
(() => {
  const sel = %s;
  window.__bench = {ready: null};
  const look = () => {
    if (document.querySelector(sel)) { window.__bench.ready = performance.now(); return; }
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the database --------------------------------------------------------------------------------------------
def prepare_database(tree: Path) -> str:
    """The bench database on the embedded cluster (or RESOURCEMAP_BENCH_DATABASE_URL's server), set up once by the
    served tree's first-start setup (as `resourcemap serve` does) and then reused as it is, so that trees compared
    are measured on the same data; returns its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = os.environ.get("RESOURCEMAP_BENCH_DATABASE_URL")
    if not server:
        from resourcemap.config import load_config
        from resourcemap.db_embedded import ensure_url
        server = ensure_url(load_config()["VAR_DIR"])
    url = make_url(server)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    sa_url = url.set(drivername="postgresql+psycopg", database=DATABASE).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (DATABASE,))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        with psycopg.connect(url.set(drivername="postgresql", database=DATABASE).render_as_string(
                hide_password=False)) as db:
            ready = db.execute("SELECT to_regclass('organization') IS NOT NULL AND "
                               "EXISTS (SELECT FROM pg_class WHERE relname = 'region')").fetchone()[0] and \
                db.execute("SELECT (SELECT count(*) FROM organization) > 0 AND "
                           "(SELECT count(*) FROM region) > 0").fetchone()[0]
        if ready:  # made once and kept: every tree measured on the same data
            return sa_url
        setup = ("import sys\n"
                 "from sqlalchemy import create_engine\n"
                 "from resourcemap.cli import bootstrap\n"
                 "from resourcemap.config import load_config\n"
                 "engine = create_engine(sys.argv[1])\n"
                 "bootstrap(engine, {**load_config(), 'DATABASE_URL': sys.argv[1]}, echo=print)\n"
                 "engine.dispose()\n")
        subprocess.run([sys.executable, "-c", setup, sa_url], cwd=tree, check=True, stdout=sys.stderr,
                       env={**os.environ, "PYTHONPATH": str(tree)})
    return sa_url


def sample_urls(database_url: str) -> dict[str, tuple[str, str]]:
    """{label: (path, ready selector)}: the map, a shared result link (Электросталь, early help), the
    organization page of the first result there."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            sid = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Электросталь' "
                                    "ORDER BY population DESC NULLS LAST LIMIT 1")).scalar()
            org = conn.execute(text("SELECT id FROM organization WHERE name = 'Золотой ключик' "
                                    "ORDER BY id LIMIT 1")).scalar()
            if org is None:
                org = conn.execute(text("SELECT min(id) FROM organization")).scalar()
    finally:
        engine.dispose()
    return {"map /": ("/", "#map_parents .leaflet-marker-icon"),
            "shared result link": (f"/?settlement={sid}&service=early_help", "#result-list > li"),
            "organization page": (f"/org/{org}", "h1")}


# --- the server ----------------------------------------------------------------------------------------------
def _health_status(base: str) -> int:
    with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as r:
        return r.status


@contextmanager
def gunicorn(tree: Path, database_url: str):
    """The tree's app as `resourcemap serve` runs it; yields (base URL, access log path)."""
    port = common.free_port()
    access = tempfile.NamedTemporaryFile("w+", prefix="page-weight-access-", suffix=".log", delete=False)
    errors = tempfile.NamedTemporaryFile("w+", prefix="page-weight-error-", suffix=".log", delete=False)
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1", "RESOURCEMAP_DATABASE_URL": database_url,
           "RESOURCEMAP_SECRET_KEY": secrets.token_urlsafe(32), "RESOURCEMAP_TILE_URL": TILE_URL,
           "RESOURCEMAP_API_RATE_LIMIT": "1000000 per minute"}
    args = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
            "--access-logfile", access.name, "--error-logfile", errors.name, "resourcemap.wsgi:app"]
    proc = subprocess.Popen(args, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        common.wait_until_healthy(proc, lambda: _health_status(base) == 200, Path(errors.name))
        yield base, Path(access.name)
    finally:
        common.stop_session(proc)
        for f in (access, errors):
            f.close()
            os.unlink(f.name)


def served(access_log: Path, since: int) -> list[str]:
    """Request lines gunicorn logged after byte offset `since`."""
    with open(access_log, "rb") as fh:
        fh.seek(since)
        lines = fh.read().decode("utf-8", "replace").splitlines()
    return [line.split('"')[1] for line in lines if line.count('"') >= 2]


# --- the browser ---------------------------------------------------------------------------------------------
class Visit:
    """One page load in a tab with slow 3G emulated: what went over the wire (CDP Network events)."""

    def __init__(self, context, base: str, tile_host: str):
        self.page = context.new_page()
        self.base, self.tile_host = base, tile_host
        self.cdp = context.new_cdp_session(self.page)
        self.requests: dict[str, dict] = {}
        self.tiles = 0
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.requestServedFromCache", self._from_cache)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        self.cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        # Tiles fail at once inside the browser: no network, no bandwidth, no wait (nor a round trip through
        # this process, which a busy machine would add to the load event).
        self.cdp.send("Network.setBlockedURLs", {"urls": [f"*://{tile_host}/*"]})

    def _sent(self, e):
        if self.tile_host in e["request"]["url"]:
            self.tiles += 1
        if e["request"]["url"].startswith(self.base):
            self.requests[e["requestId"]] = {"url": e["request"]["url"][len(self.base):], "bytes": 0,
                                             "cached": False, "status": None, "headers": {}, "done": False}

    def _response(self, e):
        r = self.requests.get(e["requestId"])
        if r is not None:
            resp = e["response"]
            r.update(status=resp["status"], type=e.get("type"),
                     headers={k.lower(): v for k, v in resp.get("headers", {}).items()},
                     cached=r["cached"] or resp.get("fromDiskCache", False) or resp.get("fromPrefetchCache", False))

    def _from_cache(self, e):
        if e["requestId"] in self.requests:
            self.requests[e["requestId"]]["cached"] = True

    def _finished(self, e):
        r = self.requests.get(e["requestId"])
        if r is not None:
            r["bytes"], r["done"] = e["encodedDataLength"], True

    def load(self, path: str, ready: str) -> dict:
        page = self.page
        page.add_init_script(READY_SCRIPT % json.dumps(ready))
        page.goto(self.base + path, wait_until="load", timeout=120_000)
        page.wait_for_function("() => window.__bench && window.__bench.ready !== null", timeout=120_000)
        self._settle()
        t = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            return {load: nav.loadEventStart, dcl: nav.domContentLoadedEventStart,
                    fcp: fcp ? fcp.startTime : null, ready: window.__bench.ready};
        }""")
        return {k: round(v) if v is not None else None for k, v in t.items()}

    def _settle(self, quiet_ms: int = 1500, limit_ms: int = 60_000) -> None:
        """Wait until no request of the app's has been open for `quiet_ms` (the map's data comes after load)."""
        waited, quiet = 0, 0
        while quiet < quiet_ms and waited < limit_ms:
            self.page.wait_for_timeout(100)  # lets Playwright deliver the CDP events meanwhile
            waited += 100
            quiet = quiet + 100 if all(r["done"] for r in self.requests.values()) else 0

    def close(self):
        self.page.close()


def measure(browser, base: str, access_log: Path, path: str, ready: str, tile_host: str) -> dict:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale="ru-RU")
    try:
        out = {}
        for phase in ("first", "repeat"):
            offset = access_log.stat().st_size
            visit = Visit(context, base, tile_host)
            times = visit.load(path, ready)
            time.sleep(0.3)  # gunicorn writes its access log line after the response
            lines = served(access_log, offset)
            out[phase] = {**times, "served": len(lines), "served_urls": lines,
                          "bytes": sum(r["bytes"] for r in visit.requests.values() if not r["cached"]),
                          "tiles": visit.tiles,
                          "resources": [{k: r[k] for k in ("url", "status", "bytes", "cached")} | {
                              "encoding": r["headers"].get("content-encoding", ""),
                              "cache_control": r["headers"].get("cache-control", ""),
                              "type": r.get("type")} for r in visit.requests.values()]}
            visit.close()  # the tab only: the context's cache stays for the repeat visit
        return out
    finally:
        context.close()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPU ({cpu}), {mem / 2**20:.1f} GiB, Python {platform.python_version()}, "
            f"load average {load}")


def tree_label(tree: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return f"{tree} @ {head}{' + uncommitted changes' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return str(tree)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs: list[dict]) -> dict:
    f, r = [x["first"] for x in runs], [x["repeat"] for x in runs]
    return {"first_requests": median([x["served"] for x in f]), "first_kb": median([x["bytes"] / 1000 for x in f]),
            "repeat_requests": median([x["served"] for x in r]), "first_fcp_ms": median([x["fcp"] for x in f]),
            "first_load_ms": median([x["load"] for x in f]), "first_ready_ms": median([x["ready"] for x in f]),
            "repeat_load_ms": median([x["load"] for x in r]), "repeat_ready_ms": median([x["ready"] for x in r])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", type=Path, action="append",
                   help="a checkout whose app is served (default: this one); given twice or more, the trees' runs "
                        "take turns, so a busy machine weighs on each alike")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", type=Path, help="write every run's figures here")
    p.add_argument("--detail", action="store_true", help="list each resource of the first run's loads")
    args = p.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]

    from contextlib import ExitStack

    from playwright.sync_api import sync_playwright

    database_url = prepare_database(trees[0])
    pages = sample_urls(database_url)
    tile_host = TILE_URL.split("/")[2]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    labels = [tree_label(t) for t in trees]
    log(f"{'; '.join(labels)}; {args.runs} runs; {machine()}")
    results = {lab: {page: [] for page in pages} for lab in labels}
    with ExitStack() as stack:
        servers = [stack.enter_context(gunicorn(t, database_url)) for t in trees]
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)
        for base, _ in servers:  # one untimed warm-up per page and server (its caches)
            for path, _ in pages.values():
                urllib.request.urlopen(base + path, timeout=30).read()
        for run in range(args.runs):
            for lab, (base, access_log) in zip(labels, servers):
                for page, (path, ready) in pages.items():
                    r = measure(browser, base, access_log, path, ready, tile_host)
                    results[lab][page].append(r)
                    log(f"run {run + 1} {lab.split(' @ ')[0]} {page}: first {r['first']['served']} req "
                        f"{r['first']['bytes'] / 1000:.1f} kB ready {r['first']['ready']} ms load "
                        f"{r['first']['load']} ms; repeat {r['repeat']['served']} req ready {r['repeat']['ready']} ms")

    print(f"\n{started}; {machine()}; Chromium {CHROMIUM}; slow 3G: 400 kbit/s down and up, 400 ms latency; "
          f"phone 390×844; medians of {args.runs} runs{' taking turns' if len(trees) > 1 else ''}")
    summary = {}
    for lab in labels:
        print(f"\n{lab}\n")
        print("| page | first load: requests | first load: kB transferred | repeat visit: requests "
              "| first: FCP ms | first: load ms | first: ready ms | repeat: load ms | repeat: ready ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        summary[lab] = {}
        for page, runs in results[lab].items():
            row = summary[lab][page] = summarize(runs)
            print(f"| {page} (`{pages[page][0]}`) | {row['first_requests']:g} | {row['first_kb']:.1f} "
                  f"| {row['repeat_requests']:g} | {row['first_fcp_ms']:g} | {row['first_load_ms']:g} "
                  f"| {row['first_ready_ms']:g} | {row['repeat_load_ms']:g} | {row['repeat_ready_ms']:g} |")
        tiles = median([x["first"]["tiles"] for runs in results[lab].values() for x in runs if x["first"]["tiles"]])
        print(f"\nmap tiles blocked in the browser (not counted): median {tiles or 0:g} per first load of a map")
    if args.detail:
        for lab in labels:
            for page, runs in results[lab].items():
                for phase in ("first", "repeat"):
                    print(f"\n{lab.split(' @ ')[0]}: {page}, {phase} (run 1):\n")
                    print("| resource | status | bytes | encoding | Cache-Control | from cache |")
                    print("|---|---:|---:|---|---|---|")
                    for res in runs[0][phase]["resources"]:
                        print(f"| `{res['url'][:80]}` | {res['status']} | {res['bytes']} | {res['encoding']} "
                              f"| {res['cache_control']} | {'yes' if res['cached'] else ''} |")
    if args.json:
        args.json.write_text(json.dumps({"trees": labels, "started": started, "machine": machine(),
                                         "pages": pages, "summary": summary, "runs": results},
                                        ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
