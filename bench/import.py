#!/usr/bin/env python
"""Throughput of the spreadsheet import (resourcemap/exchange): a generated CSV of N rows at real settlements of a
region, read, dry-run and applied, in rows per second.

A base database `resourcemap_bench_import_<scope>` is made once on the embedded cluster (or on the server of
RESOURCEMAP_BENCH_DATABASE_URL; only the database name is replaced): the schema and the gazetteer (every region,
or with --quick the bench region only), and no registry. Every timed run works on a fresh copy of it
(CREATE DATABASE ... TEMPLATE), so each apply starts from the same empty registry:

  read           read_table() of the CSV bytes (decoding, separator, header mapping, cells)
  dry run        plan_import() on the empty registry: every row parsed and checked, points in the region,
                 settlements, likely duplicates (set-based), what each row would do
  apply          apply_import() + COMMIT on the empty registry: every row created, with its history
  apply again    apply_import() + COMMIT of the same file on the registry it made: every row unchanged,
                 nothing written
  apply changed  apply_import() + COMMIT of a second file with the same external ids and every value drawn again
                 (another seed): most rows updated in most of their columns, some new

The CSV: one row per service, one to three services at a location (one organization each), at settlements of the
region drawn with probability proportional to population and scattered within 4 km of them (points checked to lie
in the region), kinds of help weighted as the synthetic demo registry's, weekday hours, one or two phones, ages,
some outreach services with a radius and confidential crisis apartments. Points that fall outside the region's
boundary (over its edge, or settlements of the region lying in a neighbour's polygon) are drawn again.

    .venv/bin/python bench/import.py                    # 100,000 rows, RU-MOS, 3 runs (median)
    .venv/bin/python bench/import.py --quick            # 1,000 rows, 1 run (CI)
    .venv/bin/python bench/import.py --rows 10000 --runs 5 --output import.json

Timings are only printed, never asserted.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from common import ROOT, conninfo, log, sa_url, server_url  # bench/common.py: also puts the tree on sys.path

BASE_PREFIX = "resourcemap_bench_import_"
READY_MARK = "resourcemap import bench base"
TARGET_APPLY_ROWS_PER_S = 5000
STEPS = ("read", "dry run", "apply", "apply again", "apply changed")

KINDS = [("family_support", 14), ("psychological_help", 14), ("rehabilitation", 10), ("early_help", 9),
         ("legal_help", 8), ("day_care", 7), ("parent_club", 6), ("humanitarian_aid", 6), ("social_nanny", 5),
         ("respite_care", 4), ("rental_point", 4), ("mobile_team", 4), ("palliative_care", 3), ("hotline", 2),
         ("crisis_apartment", 2), ("addiction_rehab", 2)]
PREFIXES = ["Центр", "Служба", "Отделение", "АНО", "ГБУ СО", "Фонд", "Клуб", "Мастерская", "Дом", "Пункт"]
WORDS = ["Радуга", "Надежда", "Солнышко", "Парус", "Истоки", "Берег", "Маяк", "Родник", "Лучик", "Созвездие",
         "Гнездо", "Теремок", "Кораблик", "Мост", "Опора", "Забота", "Доверие", "Росток", "Ладушки", "Семья"]
STREETS = ["ул. Ленина", "ул. Мира", "пр-т Победы", "ул. Садовая", "ул. Школьная", "ул. Советская", "ул. Лесная"]
HOURS = ["пн-пт 09:00-18:00", "пн-пт 09:00-18:00; сб 10:00-14:00", "пн-чт 09:00-18:00; пт 09:00-16:45",
         "ежедневно 10:00-20:00", "пн-пт 09:00-13:00, 14:00-18:00", ""]
HEADER = ["external_id", "organization_external_id", "organization", "kind", "service_name", "address", "settlement",
          "lat", "lon", "phones", "hours", "age_min_months", "age_max_months", "delivery", "outreach_radius_km",
          "confidential", "website", "email", "description", "capacity_total", "capacity_free", "status",
          "location_external_id"]


# --- databases ------------------------------------------------------------------------------------------------
def ensure_base(server: str, scope: str, regions: list[str] | None) -> str:
    """The base database (schema and gazetteer, empty registry): reused when ready, else built."""
    from resourcemap.gazetteer.load import load_regions
    from resourcemap.schema import upgrade

    name = BASE_PREFIX + scope.lower().replace("-", "_")
    with psycopg.connect(conninfo(server, "postgres"), autocommit=True) as adm:
        adm.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            row = adm.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                              (name,)).fetchone()
            if row and (row[0] or "").startswith(READY_MARK):
                engine = create_engine(sa_url(server, name))
                try:
                    upgrade(engine)  # the tree moves on: the newest migration (a no-op when there already)
                finally:
                    engine.dispose()
                log(f"[{name}] reusing")
                return name
            if row:
                adm.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            adm.execute(f'CREATE DATABASE "{name}"')
            engine = create_engine(sa_url(server, name))
            t0 = time.perf_counter()
            try:
                upgrade(engine)
                load_regions(engine, ROOT / "data" / "regions", regions)
            finally:
                engine.dispose()
            with psycopg.connect(conninfo(server, name), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            adm.execute(f"COMMENT ON DATABASE \"{name}\" IS '{READY_MARK} {scope}'")
            log(f"[{name}] built in {time.perf_counter() - t0:.1f} s")
            return name
        finally:
            adm.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))


def fresh_copy(server: str, base: str, name: str) -> str:
    """A copy of the base, after a CHECKPOINT: the writes of an earlier run (a changed apply writes ~1 GB of WAL)
    are flushed before this run's timings, not during them. Without the right to CHECKPOINT, no checkpoint."""
    with psycopg.connect(conninfo(server, "postgres"), autocommit=True) as adm:
        adm.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        adm.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base}"')
        try:
            adm.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass
    return name


def drop(server: str, name: str) -> None:
    with psycopg.connect(conninfo(server, "postgres"), autocommit=True) as adm:
        adm.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the file -------------------------------------------------------------------------------------------------
def _settlements(server: str, base: str, region: str) -> list[tuple]:
    with psycopg.connect(conninfo(server, base)) as conn:
        return conn.execute(
            "SELECT name_ru, ST_Y(geog::geometry), ST_X(geog::geometry), greatest(coalesce(population, 300), 100)"
            " FROM settlement WHERE region_code = %s ORDER BY id", (region,)).fetchall()


def _inside(server: str, base: str, region: str, points: list[tuple[float, float]]) -> list[bool]:
    with psycopg.connect(conninfo(server, base)) as conn:
        inside = conn.execute(
            "SELECT ST_Intersects(r.boundary, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))"
            " FROM region r, unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lat, lon, n)"
            " WHERE r.code = %s ORDER BY p.n",
            ([p[0] for p in points], [p[1] for p in points], region)).fetchall()
    return [r[0] for r in inside]


def generate_csv(server: str, base: str, region: str, n_rows: int, seed: int) -> bytes:
    """N rows (services) at settlements of the region, weighted by population (see the module's docstring)."""
    rng = random.Random(seed)
    places = _settlements(server, base, region)
    if not places:
        raise SystemExit(f"no settlements in {region}")
    kind_names = [k for k, _ in KINDS]
    kind_weights = [w for _, w in KINDS]
    rows, locations = [], []
    points: list[tuple[str, float, float]] = []
    n = 0
    while len(rows) < n_rows:
        if not points:  # a batch of points scattered around settlements, only those inside the region
            batch = []
            for name, lat, lon, _ in rng.choices(places, weights=[p[3] for p in places], k=5000):
                distance = 4000 * math.sqrt(rng.random())
                bearing = 2 * math.pi * rng.random()
                batch.append((name, lat + distance * math.cos(bearing) / 111_320,
                              lon + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))))
            inside = _inside(server, base, region, [(p[1], p[2]) for p in batch])
            points = [p for p, ok in zip(batch, inside) if ok][::-1]
        name, plat, plon = points.pop()
        n += 1
        locations.append((plat, plon))
        services = 1 + (rng.random() < 0.35) + (rng.random() < 0.10)
        org = f"{rng.choice(PREFIXES)} «{rng.choice(WORDS)}-{n}» {name}"
        phone = (f"+7 49{rng.choice('5689')} {rng.randrange(200, 1000)}-{rng.randrange(100):02d}-"
                 f"{rng.randrange(100):02d}")
        address = f"{rng.choice(STREETS)}, {rng.randrange(1, 120)}"
        kinds = rng.choices(kind_names, kind_weights, k=services)
        confidential = "да" if "crisis_apartment" in kinds else "нет"
        for k, kind in enumerate(kinds):
            delivery = "выезд к семье" if kind in ("mobile_team", "palliative_care") or rng.random() < 0.06 \
                else "онлайн" if kind == "hotline" else "на месте"
            young = rng.random()
            rows.append({
                "external_id": f"bench-{n}-{k}", "organization_external_id": f"bench-org-{n}", "organization": org,
                "kind": kind, "service_name": "" if rng.random() < 0.5 else f"Программа «{rng.choice(WORDS)}»",
                "address": address, "settlement": name,
                "_loc": len(locations) - 1, "phones": phone, "hours": rng.choice(HOURS),
                "age_min_months": "0" if young < 0.3 else "",
                "age_max_months": "36" if young < 0.3 else "84" if young < 0.6 else "",
                "delivery": delivery, "outreach_radius_km": str(20 + 20 * rng.randrange(5))
                if delivery == "выезд к семье" else "",
                "confidential": confidential, "website": "",
                "email": f"org{n}@example.org", "description": "",
                "capacity_total": str(5 + n % 20) if kind in ("crisis_apartment", "rental_point") else "",
                "capacity_free": str(n % 5) if kind in ("crisis_apartment", "rental_point") else "",
                "status": "опубликовано", "location_external_id": f"bench-loc-{n}",
            })
            if len(rows) == n_rows:
                break
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for r in rows:
        lat, lon = locations[r["_loc"]]
        writer.writerow([f"{lat:.6f}" if h == "lat" else f"{lon:.6f}" if h == "lon" else r[h] for h in HEADER])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- timing ---------------------------------------------------------------------------------------------------
def run_once(server: str, base: str, region: str, data: bytes, changed: bytes) -> dict:
    from resourcemap.auth.policy import Viewer
    from resourcemap.exchange import apply_import, plan_import, read_table

    actor = Viewer(role="admin", email="bench@example.org")
    name = fresh_copy(server, base, f"{base}_run_{os.getpid()}")  # its own: another bench may run meanwhile
    engine = create_engine(sa_url(server, name))
    out = {}
    try:
        t0 = time.perf_counter()
        table = read_table("bench.csv", data)
        out["read"] = time.perf_counter() - t0
        with Session(engine) as session:
            t0 = time.perf_counter()
            plan = plan_import(session, table, region, actor)
            out["dry run"] = time.perf_counter() - t0
            session.rollback()
        log(f"  read {out['read']:.2f} s, dry run {out['dry run']:.2f} s")
        out["plan"] = {"counts": plan.counts, "errors": len(plan.errors), "warnings": len(plan.warnings)}
        if not plan.ok:
            raise SystemExit(f"the generated file does not import: {[tuple(p) for p in plan.errors[:5]]}")
        with Session(engine) as session:
            t0 = time.perf_counter()
            applied = apply_import(session, table, region, actor)
            session.commit()
            out["apply"] = time.perf_counter() - t0
        log(f"  apply {out['apply']:.2f} s")
        with Session(engine) as session:
            t0 = time.perf_counter()
            again = apply_import(session, read_table("bench.csv", data), region, actor)
            session.commit()
            out["apply again"] = time.perf_counter() - t0
        assert again.counts["unchanged"] == len(table.rows), again.counts
        with engine.connect() as conn:
            out["written"] = dict(conn.execute(text(
                "SELECT 'organization', count(*) FROM organization UNION ALL SELECT 'location', count(*) FROM location"
                " UNION ALL SELECT 'service', count(*) FROM service"
                " UNION ALL SELECT 'schedule (view)', count(*) FROM schedule"
                " UNION ALL SELECT 'phone', count(*) FROM phone UNION ALL SELECT 'service_area', count(*)"
                " FROM service_area UNION ALL SELECT 'change (history)', count(*) FROM change")).all())
        with Session(engine) as session:
            t0 = time.perf_counter()
            moved = apply_import(session, read_table("bench-changed.csv", changed), region, actor)
            session.commit()
            out["apply changed"] = time.perf_counter() - t0
        out["changed"] = moved.counts
        out["created"] = applied.counts["create"]
    finally:
        engine.dispose()
        drop(server, name)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000, help="rows (services) in the generated CSV")
    p.add_argument("--runs", type=int, default=3, help="repeat; each figure is the median across runs")
    p.add_argument("--region", default="RU-MOS", help="the region the file is for (ISO 3166-2 code)")
    p.add_argument("--seed", type=int, default=20261124)
    p.add_argument("--quick", action="store_true", help="CI: 1,000 rows, 1 run, only the bench region loaded")
    p.add_argument("--output", type=Path, help="also write the results as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.runs = 1000, 1
    server = server_url()
    scope = args.region if args.quick else "all"
    base = ensure_base(server, scope, [args.region] if args.quick else None)
    t0 = time.perf_counter()
    data = generate_csv(server, base, args.region, args.rows, args.seed)
    log(f"generated {args.rows} rows ({len(data) / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    # The same external ids with everything drawn again (places, kinds, ages, hours, phones, names): most rows
    # change, some services move to a new location, some are new.
    changed = generate_csv(server, base, args.region, args.rows, args.seed + 1)
    runs = []
    for i in range(args.runs):
        runs.append(run_once(server, base, args.region, data, changed))
        log(f"run {i + 1}/{args.runs}: " + ", ".join(f"{s} {runs[-1][s]:.2f} s" for s in STEPS))
    medians = {s: statistics.median(r[s] for r in runs) for s in STEPS}
    rate = {s: args.rows / medians[s] for s in STEPS}
    print(f"Import of {args.rows:,} rows into {args.region} ({len(data) / 1e6:.1f} MB CSV), {args.runs} run(s), "
          f"median; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='minutes')}")
    print()
    print("| rows | step | median s | rows/s |")
    print("|---:|---|---:|---:|")
    for s in STEPS:
        print(f"| {args.rows:,} | {s} | {medians[s]:.2f} | {rate[s]:.0f} |")
    print()
    print(f"written by one apply: {runs[0]['written']}")
    print(f"dry run: {runs[0]['plan']}")
    print(f"apply changed: {runs[0]['changed']}")
    met = "met" if rate["apply"] >= TARGET_APPLY_ROWS_PER_S else "NOT met"
    print(f"targets:\n- apply {rate['apply']:.0f} rows/s >= {TARGET_APPLY_ROWS_PER_S} rows/s: {met}")
    if args.output:
        args.output.write_text(json.dumps({"rows": args.rows, "region": args.region, "runs": runs,
                                           "median_s": medians, "rows_per_s": rate}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
