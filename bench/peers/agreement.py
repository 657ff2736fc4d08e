"""Every approach's answers against the exact ten (bench/peers/exact.py), for a sample of the requests."""
from __future__ import annotations

import json
import time

import psycopg

import common

from . import exact

API = "api"
DATAFRAME = "dataframe"


def check_answers(dsn: str, port: int, reqs: list[dict], approaches, frame_nearest, reference,
                  max_seconds: float) -> dict:
    """Every approach's answer to each request of the sample, against the exact ten (bench/peers/exact.py). An
    approach that has spent `max_seconds` answering (a whole-table scan at 5M) is checked on fewer requests (5 at
    least)."""
    out = {key: {"checked": 0, "agree": 0, "order": 0, "sphere": 0, "radius": 0, "differ": 0, "short": 0,
                 "examples": []} for key in [a.key for a in approaches] + [DATAFRAME, API]}
    out[API].update(outreach_moved=0, failed=0)
    spent = {a.key: 0.0 for a in approaches}
    client = common.HttpClient(port)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for req in reqs:
                lat, lon, kind = req["lat"], req["lon"], req["types"][0]
                answers = {}
                for a in approaches:
                    if spent[a.key] > max_seconds and out[a.key]["checked"] >= 5:
                        continue
                    t0 = time.perf_counter()
                    answers[a.key] = (a.ids(conn, req), a.radius_km)
                    spent[a.key] += time.perf_counter() - t0
                answers[DATAFRAME] = (frame_nearest.ids(req), None)
                status, body = client.get(common.nearest_bench._path(req))
                if status != 200:
                    out[API]["failed"] += 1
                    common.log(f"API HTTP {status} for {common.nearest_bench._path(req)}: {body[:200]!r}")
                    results = None
                else:
                    results = json.loads(body)["results"]
                top = [d for _, d in reference.top(lat, lon, kind, 10)]
                for key, (got, radius_km) in answers.items():
                    _tally(out[key], reference.distances(lat, lon, got), top,
                           radius_km * 1000.0 if radius_km else None, req, got)
                if results is None:
                    continue
                pairs = [(r["service"]["id"], r["location"]["id"]) for r in results]
                found = dict(((s, loc), i) for i, s, loc in conn.execute(
                    "SELECT id, service_id, location_id FROM service_at_location"
                    " WHERE (service_id, location_id) IN (SELECT * FROM unnest(%s::int[], %s::int[]))",
                    ([p[0] for p in pairs], [p[1] for p in pairs])).fetchall())
                kept, moved = exact.api_comparable(results, [found[p] for p in pairs])
                reaching = {found[p] for p, r in zip(pairs, results) if r["reaches_you"]}
                want = _same_country_top(conn, reference, lat, lon, kind, 10 + len(reaching), req["region"][:2])
                api_want = [d for i, d in want if i not in reaching][:10 - moved]
                _tally(out[API], reference.distances(lat, lon, kept), api_want, None, req, kept)
                out[API]["outreach_moved"] += moved
    finally:
        client.close()
    return out


_COUNTRIES_SQL = ("SELECT sal.id, left(l.region_code, 2) FROM service_at_location sal"
                  " JOIN location l ON l.id = sal.location_id WHERE sal.id = ANY(%s)")


def _same_country_top(conn, reference, lat: float, lon: float, kind: str, k: int, country: str) -> list:
    """The exact k nearest in the family's country (the service's rule: another country's services only when the
    family's has none of the kind), widening the exact list until k of them are in it."""
    n = k + 10
    while True:
        top = reference.top(lat, lon, kind, n)
        countries = dict(conn.execute(_COUNTRIES_SQL, ([i for i, _ in top],)).fetchall())
        same = [(i, d) for i, d in top if countries.get(i) == country]
        if len(same) >= k or len(top) < n:
            return same[:k] if same else top[:k]
        n *= 4


def _tally(counts: dict, got_d: list[float], want_d: list[float], radius_m, req: dict, got: list[int]) -> None:
    verdict = exact.classify(got_d, want_d, radius_m)
    counts["checked"] += 1
    counts[verdict] += 1
    counts["short"] += len(got_d) < len(want_d)
    if verdict == "differ" and len(counts["examples"]) < 3:
        counts["examples"].append({"lat": req["lat"], "lon": req["lon"], "kind": req["types"][0], "ids": got,
                                   "got_m": [round(d, 1) for d in got_d], "exact_m": [round(d, 1) for d in want_d]})
