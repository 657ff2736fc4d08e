#!/usr/bin/env python
"""What the condition and cost filters cost nearest help (issue 22): `nearest_services` (the one statement of
search/nearest.py, KNN scans that filter on service_at_location's copies in their own WHERE) timed without a filter
and with filters that keep many, some and few services, on the database of RESOURCEMAP_DATABASE_URL (the registry
it holds, e.g. `resourcemap demo-data --synthetic 100000`). Origins are random settlements of Russia and
Kazakhstan (seeded); the kind of help rotates over early_help, rehabilitation, psychological_help; limit 10.
For each filter: p50 / p95 in ms and how many services of those kinds match it in the registry.

    RESOURCEMAP_DATABASE_URL=... .venv/bin/python bench/filters.py [--requests 300]

Timings are only printed, never asserted."""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from resourcemap.db import make_engine  # noqa: E402
from resourcemap.search.nearest import NearestQuery, nearest_services  # noqa: E402

KINDS = ("early_help", "rehabilitation", "psychological_help")
FILTERS = {  # name -> (conditions, costs)
    "no filter": ((), ()),
    "cost=free": ((), ("free",)),
    "condition=autism": (("autism",), ()),
    "condition=autism&cost=free": (("autism",), ("free",)),
    "condition=hearing,down_syndrome&cost=paid": (("hearing", "down_syndrome"), ("paid",)),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--seed", type=float, default=0.22)
    args = p.parse_args()
    engine = make_engine(os.environ["RESOURCEMAP_DATABASE_URL"])
    with Session(engine) as session:
        session.execute(text("SELECT setseed(:s)"), {"s": args.seed})
        origins = session.execute(text(
            "SELECT ST_Y(geog::geometry), ST_X(geog::geometry) FROM settlement ORDER BY random() LIMIT :n"),
            {"n": args.requests}).all()
        services = session.execute(text("SELECT count(*) FROM service_at_location WHERE searchable")).scalar()
        print(f"{platform.node()} · {os.cpu_count()} CPUs · {services} searchable services · "
              f"{len(origins)} requests per filter\n")
        print("| filter | matching services of the 3 kinds | p50 ms | p95 ms |\n|---|---:|---:|---:|")
        for name, (conditions, costs) in FILTERS.items():
            matching = session.execute(text(
                "SELECT count(*) FROM service_at_location sal WHERE searchable AND type_code = ANY(:k)"
                " AND sal.conditions @> CAST(:c AS text[]) AND (cardinality(CAST(:m AS text[])) = 0"
                " OR sal.cost = ANY(CAST(:m AS text[])))"), {"k": list(KINDS), "c": list(conditions),
                                                            "m": list(costs)}).scalar()
            times = []
            for i, (lat, lon) in enumerate(origins):
                q = NearestQuery(lat=lat, lon=lon, service_types=(KINDS[i % 3],), conditions=conditions,
                                 costs=costs)
                started = time.perf_counter()
                nearest_services(session, q, locate=True)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(f"| {name} | {matching} | {statistics.median(times):.1f} | "
                  f"{times[int(0.95 * (len(times) - 1))]:.1f} |")


if __name__ == "__main__":
    main()
