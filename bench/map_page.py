#!/usr/bin/env python
"""The public map page: what a phone downloads before tiles, and how fast the visible-area query answers.

1. Transfer size of `/` (first visit, no search) and of a shared result link (`/?settlement=…&service=early_help`):
   the HTML, every script, stylesheet and the icon sprite it loads, and the first map data
   (/map-data/locations for the first view), raw and gzipped (level 6, what a typical nginx sends).
   Target: under 300 kB gzipped before tiles.
2. The bbox answer at N synthetic locations (default 100,000; the database `resourcemap_bench_<N>` made by
   bench/nearest.py's builder, reused when present): GET /map-data/locations through the Flask test client
   (view + SQL + JSON, no HTTP) for phone-sized views (390×844 px) at street, town, district, region and country
   zoom around settlements drawn by population, and the search function alone (search.map.map_view: the grid
   read, the capped count when needed, the points with their details). Target: p95 under 50 ms.

    .venv/bin/python bench/map_page.py                      # 100k locations, 300 requests per zoom
    .venv/bin/python bench/map_page.py --size 10000 --requests 50 --output out.json
    .venv/bin/python bench/map_page.py --database mycopy    # an already built copy, migrated to the newest schema

Timings are printed, never asserted.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import math
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ZOOMS = {"street (z15)": 15, "town (z12)": 12, "district (z10)": 10, "region (z7)": 7, "country (z4)": 4}
PHONE_PX = (390, 844)


def _nearest_bench():
    spec = importlib.util.spec_from_file_location("bench_nearest", ROOT / "bench" / "nearest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bbox_for(lat: float, lon: float, zoom: int, px=PHONE_PX) -> tuple[float, float, float, float]:
    """The Web Mercator view of `px` pixels centred on (lat, lon) at `zoom`, as minlon,minlat,maxlon,maxlat."""
    scale = 256 * 2 ** zoom
    x = (lon + 180) / 360 * scale
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * scale

    def unproject(px_x, px_y):
        lon_ = px_x / scale * 360 - 180
        lat_ = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * px_y / scale))))
        return lon_, lat_

    minlon, maxlat = unproject(x - px[0] / 2, y - px[1] / 2)
    maxlon, minlat = unproject(x + px[0] / 2, y + px[1] / 2)
    return (max(minlon, -180), max(minlat, -85), min(maxlon, 180), min(maxlat, 85))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- 1. transfer size -----------------------------------------------------------------------------------
def transfer_sizes(app, page: str) -> list[dict]:
    client = app.test_client()
    rows = []

    def add(kind: str, url: str, body: bytes):
        rows.append({"kind": kind, "url": url, "raw": len(body), "gzip": len(gzip.compress(body, 6))})

    response = client.get(page)
    html = response.get_data()
    add("HTML", page, html)
    text = html.decode()
    for url in re.findall(r'<script src="([^"]+)"', text):
        add("JS", url, client.get(url).get_data())
    for url in re.findall(r'<link rel="stylesheet" href="([^"]+)"', text):
        add("CSS", url, client.get(url).get_data())
    for url in sorted(set(re.findall(r'href="(/static/[^"#]+\.svg(?:\?v=\w+)?)#', text))):  # ?v=: the fingerprint
        add("icons", url, client.get(url).get_data())
    # The first map data: the view the page opens with (folium's default centre and zoom, or the result's area).
    from resourcemap import maps
    origin = re.search(r'"origin": \{[^}]*"lat": ([\d.]+), "lon": ([\d.]+)', text)
    lat, lon, zoom = (float(origin.group(1)), float(origin.group(2)), 11) if origin else (*maps.DEFAULT_CENTER,
                                                                                       maps.DEFAULT_ZOOM)
    bbox = ",".join(f"{v:.4f}" for v in bbox_for(lat, lon, zoom))
    url = f"/map-data/locations?bbox={bbox}"
    add("first data", url, client.get(url).get_data())
    return rows


def size_table(title: str, rows: list[dict]) -> str:
    out = [f"**{title}**", "", "| part | file | raw | gzip |", "|---|---|---:|---:|"]
    for r in rows:
        out.append(f"| {r['kind']} | `{r['url'][:70]}` | {r['raw'] / 1024:.1f} kB | {r['gzip'] / 1024:.1f} kB |")
    by_kind: dict[str, list[int]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], [0, 0])
        by_kind[r["kind"]][0] += r["raw"]
        by_kind[r["kind"]][1] += r["gzip"]
    for kind, (raw, gz) in by_kind.items():
        out.append(f"| **{kind} total** | | {raw / 1024:.1f} kB | {gz / 1024:.1f} kB |")
    raw, gz = sum(r["raw"] for r in rows), sum(r["gzip"] for r in rows)
    out.append(f"| **everything before tiles** | | **{raw / 1024:.1f} kB** | **{gz / 1024:.1f} kB** |")
    return "\n".join(out)


# --- 2. the bbox query ----------------------------------------------------------------------------------
def bbox_latency(app, dsn: str, n: int, seed: int) -> list[dict]:
    from resourcemap.db import get_session
    from resourcemap.public import routes
    from resourcemap.search.map import map_view

    bench = _nearest_bench()
    origins = bench.sample_origins(dsn, n, seed)
    rng = random.Random(seed)
    client = app.test_client()
    results = []
    for label, zoom in ZOOMS.items():
        views = [bbox_for(o["lat"], o["lon"], zoom) for o in origins]
        kinds = [rng.choice([None, None, "early_help", "rehabilitation,early_help"]) for _ in views]
        for bbox, kind in zip(views[:10], kinds[:10]):  # warm
            client.get("/map-data/locations?bbox=" + ",".join(f"{v:.4f}" for v in bbox))
        http, sql, sizes, modes = [], [], [], {}
        for bbox, kind in zip(views, kinds):
            url = "/map-data/locations?bbox=" + ",".join(f"{v:.4f}" for v in bbox) + (f"&service={kind}" if kind else "")
            t0 = time.perf_counter()
            response = client.get(url)
            http.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.get_data()[:200]
            body = response.get_json()
            modes[body["mode"]] = modes.get(body["mode"], 0) + 1
            sizes.append(len(gzip.compress(response.get_data(), 6)))
            with app.app_context():
                t0 = time.perf_counter()
                map_view(get_session(), bbox, kind.split(",") if kind else None, points_limit=routes.MAP_POINTS_LIMIT,
                         cells_across=routes.MAP_GRID_CELLS, wide_grid_deg=routes.MAP_WIDE_GRID_DEG)
                sql.append((time.perf_counter() - t0) * 1000)
        results.append({"view": label, "requests": len(views), "modes": modes,
                        "endpoint_p50": percentile(http, 50), "endpoint_p95": percentile(http, 95),
                        "endpoint_p99": percentile(http, 99), "map_view_p50": percentile(sql, 50),
                        "map_view_p95": percentile(sql, 95), "gzip_kB_median": statistics.median(sizes) / 1024})
    return results


def latency_table(size: int, rows: list[dict]) -> str:
    out = [f"**GET /map-data/locations at {size:,} synthetic locations** (phone view 390×844 px; in-process, ms)", "",
           "| view | answers | endpoint p50 | endpoint p95 | endpoint p99 | map_view p50 | map_view p95 | "
           "answer gzip (median) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        modes = ", ".join(f"{v} {k}" for k, v in r["modes"].items())
        out.append(f"| {r['view']} | {modes} | {r['endpoint_p50']:.1f} | {r['endpoint_p95']:.1f} | "
                   f"{r['endpoint_p99']:.1f} | {r['map_view_p50']:.1f} | {r['map_view_p95']:.1f} | "
                   f"{r['gzip_kB_median']:.1f} kB |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output")
    parser.add_argument("--database", help="use this already built database (migrated to the newest schema) "
                                           "instead of resourcemap_bench_<size>")
    args = parser.parse_args()

    from resourcemap import create_app

    bench = _nearest_bench()
    server = bench.server_url()
    if args.database:
        info = {"database": args.database, "size": args.size}
        from sqlalchemy import create_engine

        from resourcemap.schema import upgrade
        engine = create_engine(bench.sa_url(server, args.database))
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    else:
        info = bench.ensure_database(server, args.size, 0.42)
    app = create_app({"DATABASE_URL": bench.sa_url(server, info["database"]), **bench.app_settings()})
    report: dict = {"machine": bench.machine(), "database": info}

    with app.test_client() as client:
        sid = client.get("/api/v1/settlements?q=Электросталь&limit=1").get_json()["results"][0]["id"]
    first = transfer_sizes(app, "/")
    shared = transfer_sizes(app, f"/?settlement={sid}&service=early_help")
    report["transfer"] = {"first_visit": first, "shared_result": shared}
    print(size_table("First visit: `/`", first))
    print()
    print(size_table("A shared result link: `/?settlement=<Электросталь>&service=early_help`", shared))
    print()
    latency = bbox_latency(app, bench.conninfo(server, info["database"]), args.requests, args.seed)
    report["bbox"] = latency
    print(latency_table(args.size, latency))
    total = max(sum(r["gzip"] for r in first), sum(r["gzip"] for r in shared)) / 1024
    worst = max(r["endpoint_p95"] for r in latency)
    print()
    print(f"targets: page before tiles {total:.1f} kB gzipped (< 300 kB: {'met' if total < 300 else 'MISSED'}); "
          f"bbox answer p95 worst view {worst:.1f} ms (< 50 ms: {'met' if worst < 50 else 'MISSED'})")
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2, default=str))
    app.extensions["resourcemap.engine"].dispose()


if __name__ == "__main__":
    main()
