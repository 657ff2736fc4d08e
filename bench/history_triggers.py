"""What the change-history triggers (migration 0008) cost a bulk import.

Inserts N organizations the way the spreadsheet import writes (one INSERT ... SELECT per table: organization,
location, service with weekday hours, service_at_location, an outreach radius area for a fifth of them, phone), then
one bulk UPDATE of two columns of every service; three ways:

- on:       the history triggers record everything (one `change` row per inserted record, one per changed field);
- skipped:  the triggers fire but return at once (`resourcemap.history = 'off'`, the synthetic generator's switch);
- disabled: the history triggers disabled (ALTER TABLE ... DISABLE TRIGGER), the schema as before 0008.

Each run is one transaction rolled back afterwards (and the database vacuumed before the next), so runs do not
grow the database. Medians of --repeat runs.

    .venv/bin/python bench/history_triggers.py --orgs 10000 --repeat 3 [--database-url URL]

Without --database-url it makes (or reuses) the database `resourcemap_bench_history` on the embedded cluster,
migrated and with the regions loaded.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

TABLES = ("organization", "location", "service", "service_at_location", "phone", "service_area")

BULK = """
CREATE TEMP TABLE b ON COMMIT DROP AS
  SELECT n, nextval('organization_id_seq') AS org_id, nextval('location_id_seq') AS loc_id,
         nextval('service_id_seq') AS svc_id, s.id AS settlement_id, s.region_code, s.timezone, s.geog
  FROM generate_series(1, :n) n
  JOIN LATERAL (SELECT id, region_code, timezone, geog FROM settlement WHERE region_code = 'RU-MOS'
                ORDER BY id OFFSET (n % 500) LIMIT 1) s ON true;
INSERT INTO organization (id, name, description, status, source, external_id, region_code)
  SELECT org_id, 'Импортированная организация №' || n, 'Описание ' || n, 'published', 'bench', 'bench:' || n,
         region_code FROM b;
INSERT INTO location (id, organization_id, name, address, settlement_id, geog, timezone, region_code, external_id)
  SELECT loc_id, org_id, 'Отделение', 'ул. Тестовая, ' || n, settlement_id, geog, timezone, region_code,
         'bench-loc:' || n FROM b;
INSERT INTO service (id, organization_id, type_code, name, age_min_months, age_max_months, delivery, external_id,
                     hours)
  SELECT svc_id, org_id, 'early_help', 'Служба ранней помощи', 0, 36,
         CASE WHEN n % 5 = 0 THEN 'outreach' ELSE 'on_site' END, 'bench-svc:' || n,
         '{[540,1080),[1980,2520),[3420,3960),[4860,5400),[6300,6840)}' FROM b;
INSERT INTO service_at_location (service_id, location_id) SELECT svc_id, loc_id FROM b;
INSERT INTO service_area (service_id, radius_km, area)
  SELECT svc_id, 25, ST_Buffer(geog, 25000, 'quad_segs=16') FROM b WHERE n % 5 = 0;
INSERT INTO phone (organization_id, location_id, number, kind)
  SELECT org_id, loc_id, '+7495' || lpad(n::text, 7, '0'), 'main' FROM b
"""
UPDATE = "UPDATE service SET capacity_total = 10, eligibility = 'Все семьи' WHERE external_id LIKE 'bench-svc:%'"


def _database_url(args) -> str:
    if args.database_url:
        return args.database_url
    import psycopg
    from sqlalchemy.engine import make_url

    from resourcemap.config import load_config
    from resourcemap.db import make_engine
    from resourcemap.db_embedded import ensure_url
    from resourcemap.gazetteer.load import load_regions
    from resourcemap.schema import upgrade

    server = make_url(ensure_url(load_config()["VAR_DIR"]))
    name = "resourcemap_bench_history"
    with psycopg.connect(server.set(drivername="postgresql", database="postgres")
                         .render_as_string(hide_password=False), autocommit=True) as conn:
        fresh = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        if fresh:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, statement_timeout_ms=0)
    upgrade(engine)
    if fresh:
        load_regions(engine, ROOT / "data" / "regions", ["RU-MOS"])
    engine.dispose()
    return url


def run(engine, mode: str, n: int) -> tuple[float, float, int]:
    """(insert seconds, update seconds, change rows written) of one rolled-back run."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM"))  # the rolled-back rows of the previous run out of the indexes
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        if mode == "skipped":
            conn.execute(text("SELECT set_config('resourcemap.history', 'off', true)"))
        if mode == "disabled":
            for table in TABLES:
                for op in ("insert", "update", "delete"):
                    conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_history_{op}"))
        before = conn.execute(text("SELECT coalesce(max(id), 0) FROM change")).scalar()
        t0 = time.perf_counter()
        for statement in BULK.split(";\n"):
            conn.execute(text(statement), {"n": n})
        t1 = time.perf_counter()
        conn.execute(text(UPDATE))
        t2 = time.perf_counter()
        written = conn.execute(text("SELECT count(*) FROM change WHERE id > :b"), {"b": before}).scalar()
        tx.rollback()
    return t1 - t0, t2 - t1, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    engine = create_engine(_database_url(args))
    run(engine, "on", min(args.orgs, 1000))  # warm the caches
    print(f"{args.orgs} organizations ({args.orgs * 9 + args.orgs // 5} rows) per run, median of {args.repeat}")
    for mode in ("disabled", "skipped", "on"):
        results = [run(engine, mode, args.orgs) for _ in range(args.repeat)]
        insert = statistics.median(r[0] for r in results)
        update = statistics.median(r[1] for r in results)
        print(f"  history {mode:8}  insert {insert:6.2f} s ({args.orgs / insert:7.0f} orgs/s)"
              f"   update {update:5.2f} s   change rows {results[0][2]}")
    engine.dispose()


if __name__ == "__main__":
    main()
