"""The suite's figures as Markdown tables (ready to paste into docs/benchmarks.md) and the growth plot."""
from __future__ import annotations

import math
import statistics
from pathlib import Path

NEAREST_ORDER = ["floor", "perkind", "planar", "ohana_5mi", "ohana_50mi", "foodoasis_5mi", "earthbox_5mi", "dataframe",
                 "statement", "api"]
HOT_ORDER = ["settlements", "map", "org", "health"]
PEERS = ("ohana", "foodoasis")  # the "both peer approaches"


def _median(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else None


def combine(runs: list[dict], floor: str) -> dict:
    """Per approach: the median over runs of p50/p95/p99, of requests per second, and of the per-run ratios to the
    floor (p50 / floor p50, rps / floor rps)."""
    out = {}
    for key in runs[0]["latency"]:
        lat = [r["latency"][key] for r in runs]
        thr = [r["throughput"].get(key) for r in runs]
        row = {"n": sum(x["n"] for x in lat), "runs": len(runs),
               **{f: _median([x[f] for x in lat]) for f in ("p50", "p95", "p99", "mean")},
               "p50_runs": [round(x["p50"], 3) for x in lat], "failed": sum(x.get("failed", 0) for x in lat)}
        row["x_floor_p50"] = _median([x["p50"] / r["latency"][floor]["p50"] for x, r in zip(lat, runs)])
        if thr and all(thr):
            row["rps"] = _median([t["rps"] for t in thr])
            row["rps_runs"] = [round(t["rps"], 1) for t in thr]
            row["errors"] = sum(t.get("errors") or 0 for t in thr) + row["failed"]
            row["tool"] = thr[0]["tool"]
            floor_thr = [r["throughput"].get(floor) for r in runs]
            if all(floor_thr):
                row["x_floor_rps"] = _median([t["rps"] / f["rps"] for t, f in zip(thr, floor_thr)])
        out[key] = row
    return out


def ratios(runs: list[dict]) -> dict:
    """Issue 24's ratios, each computed within a run and then the median over runs: the statement's p50 over the
    per-kind KNN's (target at 1M: <= 2), the API's requests/s over the HTTP floor's on the same gunicorn (>= 0.5),
    and the API's p50 over its budget, twice the statement's p50 plus the HTTP floor's (<= 1)."""
    def per_run(f):
        values = []
        for r in runs:
            try:
                values.append(f(r["latency"], r["throughput"]))
            except (KeyError, TypeError, ZeroDivisionError):
                pass
        return _median(values)

    return {
        "statement_x_perkind_p50": per_run(lambda lat, thr: lat["statement"]["p50"] / lat["perkind"]["p50"]),
        "api_x_health_rps": per_run(lambda lat, thr: thr["api"]["rps"] / thr["health"]["rps"]),
        "api_p50_budget_ms": per_run(lambda lat, thr: 2 * lat["statement"]["p50"] + lat["health"]["p50"]),
        "api_x_budget_p50": per_run(
            lambda lat, thr: lat["api"]["p50"] / (2 * lat["statement"]["p50"] + lat["health"]["p50"])),
    }


def ratio_table(results: list[dict]) -> str:
    """Per size: the statement against the per-kind KNN, the API against the HTTP floor, the database and its
    build (issue 24)."""
    lines = ["| locations | statement p50 ms | per-kind KNN p50 ms | statement ÷ KNN | API p50 / p95 ms | "
             "2 × statement + HTTP floor, ms | API req/s | health req/s | API ÷ health | database | generation |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        s, x = res["summary"], res.get("ratios") or {}
        stmt, knn, api, health = (s.get(k, {}) for k in ("statement", "perkind", "api", "health"))
        build = res["database"].get("build") or {}
        gen = build.get("generate_s")
        lines.append(
            f"| {res['size']:,} | {_f(stmt.get('p50'))} | {_f(knn.get('p50'))} | "
            f"{_f(x.get('statement_x_perkind_p50'))} | {_f(api.get('p50'))} / {_f(api.get('p95'))} | "
            f"{_f(x.get('api_p50_budget_ms'))} | {_f(api.get('rps'), 0)} | {_f(health.get('rps'), 0)} | "
            f"{_f(x.get('api_x_health_rps'))} | {_mib(res['database'].get('db_size_bytes'))} | "
            f"{'–' if gen is None else f'{gen:,.0f} s'} |")
    return "\n".join(lines)


def _f(v, digits=2):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:,.{digits}f}"


def _mib(b):
    return "–" if b is None else f"{b / 2**20:,.0f} MB"


def _answers(a: dict | None, key: str) -> str:
    if key == "statement":
        return "the API's (its statement)"
    if not a or not a["checked"]:
        return "–"
    parts = [f"{a['agree']}/{a['checked']} exact"]
    for k, word in (("order", "reordered"), ("sphere", "sphere ties"), ("radius", "cut by radius"),
                    ("differ", "other places")):
        if a.get(k):
            parts.append(f"{a[k]} {word}")
    if key == "api" and a.get("outreach_moved"):
        parts.append(f"{a['outreach_moved']} outreach moved up")
    return ", ".join(parts)


def _table(results: list[dict], order, header: list[str], cells) -> str:
    """A Markdown table: `header`, then a row per size and per key of `order` that size has: its size, label, n,
    p50, p95 and p99, and then `cells(res, key, summary_row)`."""
    lines = list(header)
    for res in results:
        s = res["summary"]
        for key in [k for k in order if k in s]:
            row = s[key]
            first = [f"{res['size']:,}", res["labels"][key], row["n"], _f(row["p50"]), _f(row["p95"]), _f(row["p99"])]
            lines.append("| " + " | ".join(str(c) for c in first + cells(res, key, row)) + " |")
    return "\n".join(lines)


def nearest_table(results: list[dict]) -> str:
    return _table(results, NEAREST_ORDER,
                  ["| locations | approach | n | p50 ms | p95 ms | p99 ms | p50 × floor | req/s | req/s ÷ floor | "
                   "answers vs exact (sample) |",
                   "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"],
                  lambda res, key, row: [_f(row["x_floor_p50"]), _f(row.get("rps"), 0), _f(row.get("x_floor_rps")),
                                         _answers(res["agreement"].get(key), key)])


def hot_table(results: list[dict]) -> str:
    return _table(results, HOT_ORDER,
                  ["| locations | path | n | p50 ms | p95 ms | p99 ms | req/s | failed requests |",
                   "|---:|---|---:|---:|---:|---:|---:|---:|"],
                  lambda res, key, row: [_f(row.get("rps"), 0), row.get("errors", row.get("failed", "–"))])


def import_line(meta: dict) -> list[str]:
    imp = meta.get("import_apply")
    if not imp:
        return []
    if imp.get("rows_per_s"):
        rate, secs = imp["rows_per_s"], imp.get("median_s") or {}
        steps = ", ".join(f"{step} {secs.get(step, float('nan')):.2f} s ({rate[step]:,.0f} rows/s)" for step in rate)
        return [f"Import apply (bench/import.py, {imp['rows']:,} rows into an empty registry, 1 run): {steps}."]
    return [f"Import apply (bench/import.py --rows {imp['rows']}): failed ({imp.get('returncode')}): "
            f"{(imp.get('stderr_tail') or '').strip().splitlines()[-1:] }"]


def growth_table(results: list[dict]) -> str:
    lines = ["| locations | searchable rows | database (app) | ix_sal_type_geog | ix_sal_knn_* | peers' table + indexes | "
             "gunicorn worker RSS | in-memory data (data frame) | API p50 / p95 ms | API req/s | floor p50 ms | "
             "floor req/s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        z, s = res["sizes"], res["summary"]
        workers = [w for w in res.get("gunicorn_rss_mib", {}).get("workers", []) if w]
        rss = " / ".join(f"{w:,.0f}" for w in workers) + " MiB" if workers else "–"
        api, floor = s.get("api", {}), s.get("floor", {})
        lines.append(
            f"| {res['size']:,} | {res['database']['counts'].get('searchable', 0):,} | {_mib(z['app_bytes'])} | "
            f"{_mib(z['ix_sal_type_geog'])} | {_mib(z['ix_sal_knn_all'])} | {_mib(z['bench_peers_bytes'])} | {rss} | "
            f"{_f(res['in_memory']['rss_mib'], 0)} MiB ({res['in_memory']['places']:,} places, "
            f"{res['in_memory']['load_s']:.0f} s) | {_f(api.get('p50'))} / {_f(api.get('p95'))} | "
            f"{_f(api.get('rps'), 0)} | {_f(floor.get('p50'))} | {_f(floor.get('rps'), 0)} |")
    return "\n".join(lines)


def targets(results: list[dict]) -> list[str]:
    """The issues' targets, from this run: issue 24's first, then the older ones of issue 8."""
    out = []
    for res in results:
        x, size, api = res.get("ratios") or {}, res["size"], res["summary"].get("api")
        if size != 1_000_000 or not api:
            continue
        if x.get("statement_x_perkind_p50") is not None:
            v = x["statement_x_perkind_p50"]
            out.append(f"- {size:,}: statement p50 / per-kind KNN p50 = {v:.2f} (<= 2: {'met' if v <= 2 else 'NOT met'})")
        if x.get("api_x_health_rps") is not None:
            v = x["api_x_health_rps"]
            out.append(f"- {size:,}: API req/s / health req/s = {v:.2f} (>= 0.5: {'met' if v >= 0.5 else 'NOT met'})")
        if x.get("api_p50_budget_ms") is not None:
            v = x["api_x_budget_p50"]
            out.append(f"- {size:,}: API p50 {api['p50']:.2f} ms vs 2 × statement p50 + HTTP floor p50 "
                       f"{x['api_p50_budget_ms']:.2f} ms (ratio {v:.2f}: {'met' if v <= 1 else 'NOT met'})")
    for res in results:
        s, size = res["summary"], res["size"]
        api = s.get("api")
        if not api:
            continue
        if size == 1_000_000 and api.get("x_floor_rps") is not None:
            x = api["x_floor_rps"]
            out.append(f"- {size:,}: API throughput / floor throughput = {x:.2f} (>= 0.5: {'met' if x >= 0.5 else 'NOT met'})")
        if size in (1_000_000, 5_000_000):
            limit = 20 if size == 1_000_000 else 40
            out.append(f"- {size:,}: API p95 {api['p95']:.2f} ms (< {limit} ms: {'met' if api['p95'] < limit else 'NOT met'})")
        http = s.get("health", {}).get("p50") or 0.0
        for key, row in s.items():
            if key.startswith(PEERS):
                faster = api["p50"] < row["p50"]
                out.append(f"- {size:,}: API p50 {api['p50']:.2f} ms vs {res['labels'][key]} p50 {row['p50']:.2f} ms "
                           f"({'faster' if faster else 'NOT faster'}; the peer's SQL + our HTTP floor "
                           f"{row['p50'] + http:.2f} ms: {'faster' if api['p50'] < row['p50'] + http else 'NOT faster'})")
    return out


def markdown(meta: dict, results: list[dict], args) -> str:
    m = meta["machine"]
    head = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}; PostgreSQL "
        f"{meta['server']['postgresql']}, PostGIS {meta['server']['postgis']}; load average at start "
        f"{' '.join(f'{x:.2f}' for x in m['load_avg'])}, at end {' '.join(f'{x:.2f}' for x in meta['load_avg_end'])}.",
        f"Code under test: {meta['code']}; started {meta['started_at']}, took {meta['duration_s']:.0f} s; load tools: "
        f"HTTP {meta['tools']['http']}, SQL {meta['tools']['sql']}.",
        f"Per approach and run: up to {args.requests} sequential requests (at most {args.max_seconds:g} s), then "
        f"{args.duration:g} s under load with {results[0]['concurrency'] if results else '?'} clients; median of "
        f"{args.runs} run(s). gunicorn: {results[0]['serve'] if results else ''} (as `resourcemap serve`). "
        f"Peers' radius: {args.radius_mi:g} mi (and Ohana at its maximum, 50 mi).",
    ]
    parts = ["\n".join(head), "", "**Nearest help: 10 nearest of one kind**", "", nearest_table(results), "",
             "**Other hot paths (HTTP, same gunicorn)**", "", hot_table(results), "", *import_line(meta), "",
             "**Growth**", "", growth_table(results), "",
             "**The statement and the API against their floors (issue 24; each ratio within a run, then the median)**",
             "", ratio_table(results), "", "targets:", *targets(results)]
    return "\n".join(parts)


def plot(results: list[dict], path: Path) -> None:
    """Three panels against the number of locations (log scales): p50 latency and requests per second per
    approach, and the sizes (database, the peers' table, a gunicorn worker's memory, the data frame's memory)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["size"] for r in results]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 6.2))
    keys = [k for k in NEAREST_ORDER if all(k in r["summary"] for r in results)]
    for key in keys:
        label = results[-1]["labels"][key].replace(", SQL", "")
        style = {"linewidth": 2.8, "color": "black"} if key == "api" else {"linewidth": 1.4}
        ax1.plot(sizes, [r["summary"][key]["p50"] for r in results], marker="o", label=label, **style)
        rps = [r["summary"][key].get("rps") for r in results]
        if all(rps):
            ax2.plot(sizes, rps, marker="o", **style)
    mib = 2 ** 20
    series = {
        "database (app tables)": [r["sizes"]["app_bytes"] / mib for r in results],
        "peers' table + indexes": [r["sizes"]["bench_peers_bytes"] / mib for r in results],
        "gunicorn worker RSS (max)": [max(w for w in r.get("gunicorn_rss_mib", {}).get("workers", [0]) if w)
                                      if r.get("gunicorn_rss_mib", {}).get("workers") else float("nan")
                                      for r in results],
        "data frame in memory (RSS)": [r["in_memory"]["rss_mib"] or float("nan") for r in results],
    }
    for label, values in series.items():
        ax3.plot(sizes, values, marker="s", linestyle="--", label=label)
    ax1.set(xscale="log", yscale="log", xlabel="synthetic locations", ylabel="p50 latency, ms (one request at a time)",
            title="Nearest help: latency")
    ax2.set(xscale="log", yscale="log", xlabel="synthetic locations", ylabel="requests per second",
            title=f"Nearest help: throughput, {results[0]['concurrency']} concurrent clients")
    ax3.set(xscale="log", yscale="log", xlabel="synthetic locations", ylabel="MiB", title="Sizes")
    for ax in (ax1, ax2, ax3):
        ax.grid(True, which="both", alpha=0.3)
    ax3.legend(fontsize=8, loc="upper left")
    fig.legend(*ax1.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8.5, frameon=False)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
