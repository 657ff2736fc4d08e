#!/usr/bin/env python
"""Where the nearest-help statement's time goes: the statement as the API runs it, and the same statement with one
part taken out, timed on the same requests in alternating rounds (bare psycopg, prepared, generic plans, warm).

    .venv/bin/python bench/statement_parts.py --size 1000000          # on bench/nearest.py's database of that size

A part's cost is the full statement's p50 minus the p50 without it (parts overlap a little: the costs need not add
up). The parts: the country rule on every candidate, the online services of the region, the family's place (region
and settlement: the variant is given the region instead), the teams that come within their radius, the details of
the listed services; and all but the place together. The per-kind geography KNN (bench/peers/postgis.py) is timed in
the same rounds. The variants are made by replacing the named SQL pieces of resourcemap/data/nearest.py; the
statement's text is not otherwise changed. Timings are printed, never asserted."""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

import common  # noqa: E402
from peers import postgis  # noqa: E402
from resourcemap.data import nearest as n  # noqa: E402
from resourcemap.db import PLAN_OPTIONS  # noqa: E402

NO_REACH = "  SELECT sal.id, sal.service_id, sal.location_id, 0.0::float8, true FROM service_at_location sal WHERE false"
IDS_ONLY = "SELECT r.section, r.sal_id, r.d AS distance_m, r.rank_m FROM chosen r /* {lat} {lon} */"


@contextlib.contextmanager
def replaced(**pieces):
    """data/nearest.py's SQL pieces replaced for the statements built inside (its statement cache emptied)."""
    old = {name: getattr(n, name) for name in pieces}
    for name, value in pieces.items():
        setattr(n, name, value)
    n._statement.cache_clear()
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(n, name, value)
        n._statement.cache_clear()


def statement(req: dict, online: bool = True, origin: str = "point") -> tuple[str, list]:
    q = n.NearestQuery(lat=req["lat"], lon=req["lon"], service_types=tuple(req["types"]), limit=10)
    raw, names = n._server_form(n._statement(origin, q.service_types, n._filters(q), online))
    params = {**n._params(q), "region": req["region"], "settlement_id": None, "per_kind": 5}
    return raw, [params[name] for name in names]


def variants(reqs: list[dict]) -> dict[str, list]:
    out = {"the statement": [statement(r) for r in reqs]}
    with replaced(_SAME_COUNTRY="true"):
        out["without the country rule"] = [statement(r) for r in reqs]
    out["without the online services"] = [statement(r, online=False) for r in reqs]
    out["without the place (region given)"] = [statement(r, origin="region") for r in reqs]
    with replaced(_REACH_PART=NO_REACH):
        out["without the teams that come (radius)"] = [statement(r) for r in reqs]
    with replaced(_DETAILS=IDS_ONLY):
        out["without the details"] = [statement(r) for r in reqs]
    with replaced(_SAME_COUNTRY="true", _REACH_PART=NO_REACH, _DETAILS=IDS_ONLY):
        out["without country, teams, details, online"] = [statement(r, online=False) for r in reqs]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=1_000_000, help="synthetic locations (the database is built if absent)")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    server = common.server_url()
    info = common.ensure_database(server, args.size, 0.42)
    dsn = common.conninfo(server, info["database"])
    origins = common.sample_origins(dsn, 250, 20260415)
    reqs = common.make_requests(origins, args.requests, multi=False)
    warm = common.make_requests(origins, 40, multi=False, offset=args.requests)
    built = variants(reqs + warm)
    index = {id(r): i for i, r in enumerate(reqs + warm)}
    p50s: dict[str, list[float]] = {key: [] for key in built}
    p50s["per-kind geography KNN"] = []
    with psycopg.connect(dsn, autocommit=True, options=PLAN_OPTIONS) as conn:
        cur = psycopg.RawCursor(conn, row_factory=dict_row)

        def runner(key):
            def one(req):
                raw, values = built[key][index[id(req)]]
                cur.execute(raw, values, prepare=True).fetchall()
            return one

        def knn(req):
            sql, params = postgis.PER_KIND.statement(req)
            conn.execute(sql, params, prepare=True).fetchall()

        for _ in range(args.rounds):
            for key in built:
                p50s[key].append(statistics.median(common.timed(runner(key), reqs, warm)))
            p50s["per-kind geography KNN"].append(statistics.median(common.timed(knn, reqs, warm)))
    full = statistics.median(p50s["the statement"])
    print(f"{args.size:,} locations, {args.requests} requests (the kind rotating over {len(common.KINDS)}), "
          f"median of {args.rounds} rounds of p50s\n")
    print("| statement | p50 ms | the part's cost, ms |\n|---|---:|---:|")
    for key, values in p50s.items():
        m = statistics.median(values)
        print(f"| {key} | {m:.3f} | {'' if key == 'the statement' else f'{full - m:+.3f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
