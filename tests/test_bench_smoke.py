"""bench/nearest.py --quick runs end to end and prints a table naming every approach, with numbers.

Nothing here is about time: the benchmark's figures are printed, never asserted. The first run makes the
database resourcemap_bench_10000 (about 20 s); later runs reuse it."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "nearest.py"


def _approaches() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("bench_nearest", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.APPROACHES


def test_quick_bench_prints_every_approach_with_numbers(tmp_path):
    output = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--output", str(output)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 10,000 |")]
    for approach in _approaches():
        row = next((r for r in rows if f"| {approach} |" in r), None)
        assert row is not None, f"{approach} missing from:\n{proc.stdout}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        numbers = cells[4:]  # p50, p95, p99, ratios
        assert all(re.fullmatch(r"\d+\.\d+", c) for c in numbers), row
        assert float(cells[4]) > 0, row
    assert "targets:" in proc.stdout
    assert output.exists() and '"summary"' in output.read_text()


# --- bench/suite.py: the nearest-help question answered by the service and its peers, side by side -------------
SUITE = ROOT / "bench" / "suite.py"


def _bench_module(name: str):
    """A module of bench/ (bench/peers/...) imported as bench/suite.py imports it."""
    bench_dir = str(ROOT / "bench")
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    return importlib.import_module(name)


def test_exact_reference_is_the_brute_force_on_the_ellipsoid():
    """bench/peers/exact.py prefilters on a sphere before measuring on the ellipsoid: its ten must be those of a
    full pyproj.Geod brute force, near the poles and across the antimeridian too."""
    import numpy as np
    import pandas as pd
    from pyproj import Geod

    exact = _bench_module("peers.exact")
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({"id": np.arange(1, n + 1), "type_code": rng.choice(["a", "b"], n),
                          "latitude": rng.uniform(40, 80, n), "longitude": rng.uniform(-180, 180, n)})
    reference = exact.ExactNearest(frame)
    geod = Geod(ellps="WGS84")
    for lat, lon, kind in [(55.75, 37.62, "a"), (69.0, 179.9, "b"), (64.7, -177.5, "a"), (79.5, 10.0, "b")]:
        part = frame[frame.type_code == kind]
        _, _, d = geod.inv(np.full(len(part), lon), np.full(len(part), lat), part.longitude.to_numpy(),
                           part.latitude.to_numpy())
        order = np.lexsort((part.id.to_numpy(), d))[:10]
        want = [(int(part.id.to_numpy()[i]), float(d[i])) for i in order]
        got = reference.top(lat, lon, kind, 10)
        assert [i for i, _ in got] == [i for i, _ in want]
        assert all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(got, want))
        assert reference.distances(lat, lon, [i for i, _ in got]) == [d for _, d in got]
    # The verdicts: a radius cut, a reordering, and a farther place.
    want_d = [100.0 * (i + 1) for i in range(10)]
    assert exact.classify(want_d, want_d, None) == "agree"
    assert exact.classify(want_d[:4], want_d, 450.0) == "radius"
    assert exact.classify(want_d[:4], want_d, 1000.0) == "differ"
    assert exact.classify([want_d[1], want_d[0], *want_d[2:]], want_d, None) == "order"
    assert exact.classify([*want_d[:9], 5000.0], want_d, None) == "differ"


def test_suite_quick_runs_every_approach_and_answers_agree(tmp_path):
    """bench/suite.py --quick (10k): every nearest-help approach is timed one request at a time and under load, the
    other hot paths one at a time, and every answer of the sample is checked against the exact ten (pyproj.Geod).
    Nothing about time is asserted."""
    import json

    output = tmp_path / "suite.json"
    proc = subprocess.run([sys.executable, str(SUITE), "--quick", "--output", str(output)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (result,) = json.loads(output.read_text())["results"]
    report = _bench_module("peers.report")
    keys = report.NEAREST_ORDER + report.HOT_ORDER
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 10,000 |")]
    for key in keys:
        label = result["labels"][key]
        row = next((r for r in rows if f"| {label} |" in r), None)
        assert row is not None, f"{label} missing from:\n{proc.stdout}"
        summary = result["summary"][key]
        assert summary["n"] > 0 and summary["p50"] > 0 and summary["p95"] >= summary["p50"], (key, summary)
        assert summary["failed"] == 0, (key, summary)
        if key in report.NEAREST_ORDER or key == "health":  # in --quick, the other hot paths are not loaded
            assert summary["rps"] > 0 and summary["errors"] == 0, (key, summary)
    checks = result["agreement"]
    for key in [k for k in report.NEAREST_ORDER if k != "statement"]:  # the statement's answers are the API's
        # a slow peer is checked on fewer requests once it has spent its time (5 at least)
        assert checks[key]["checked"] == 12 or (key not in ("floor", "api") and checks[key]["checked"] >= 5), \
            (key, checks[key])
    # The floor ranks on a sphere, the service on the ellipsoid: its answers are the exact ten.
    assert checks["api"]["agree"] == 12, checks["api"]
    assert checks["floor"]["differ"] == 0 and checks["perkind"]["differ"] == 0, checks
    # The peers' answers differ from the exact ten only as their method says: cut by their radius, or ranked on a
    # sphere.
    for key in ("ohana_5mi", "ohana_50mi", "foodoasis_5mi", "earthbox_5mi"):
        assert checks[key]["differ"] == 0, (key, checks[key])
    assert checks["ohana_5mi"]["radius"] >= checks["ohana_50mi"]["radius"]
    assert result["sizes"]["database_bytes"] > 0 and result["gunicorn_rss_mib"]["workers"]
    assert "targets:" in proc.stdout
    ratios = result["ratios"]  # issue 24's, each within the run
    assert ratios["statement_x_perkind_p50"] == pytest.approx(
        result["summary"]["statement"]["p50"] / result["summary"]["perkind"]["p50"])
    assert ratios["api_x_health_rps"] == pytest.approx(
        result["summary"]["api"]["rps"] / result["summary"]["health"]["rps"])
    assert "statement ÷ KNN" in proc.stdout and "API ÷ health" in proc.stdout


# --- bench/import.py: spreadsheet import throughput ---------------------------------------------------------------
def test_import_bench_quick_prints_every_step_with_rows_per_second(tmp_path):
    """bench/import.py --quick (1,000 rows at settlements of RU-MOS; the first run builds its base database with that
    region only, ~10 s): read, dry run, apply, apply again and apply changed, each with a time and a rate. Nothing
    about time is asserted."""
    import json

    output = tmp_path / "import.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "import.py"), "--quick", "--output", str(output)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 1,000 |")]
    for step in ("read", "dry run", "apply", "apply again", "apply changed"):
        row = next((r for r in rows if f"| {step} |" in r), None)
        assert row is not None, f"{step} missing from:\n{proc.stdout}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(r"\d+\.\d+", cells[2]) and re.fullmatch(r"\d+", cells[3]) and int(cells[3]) > 0, row
    result = json.loads(output.read_text())
    assert result["runs"][0]["created"] == 1000
    changed = result["runs"][0]["changed"]
    assert changed["update"] > 500 and changed["error"] == 0 and sum(changed.values()) == 1000, changed
    assert result["runs"][0]["written"]["service"] == 1000 and result["runs"][0]["written"]["change (history)"] > 0
    assert "targets:" in proc.stdout


# --- bench/soak.py: the mixed load ----------------------------------------------------------------------------
def test_soak_quick_reports_every_kind_and_the_workers_memory(tmp_path):
    """bench/soak.py --quick (20 s, 3 clients; the first run builds resourcemap_soak_10000, ~40 s): a row with
    numbers for each kind of request, the workers' memory at start and end, and no 500 anywhere (a 503 under a busy
    machine is possible and is reported, not asserted). Nothing about time is asserted."""
    import json

    output = tmp_path / "soak.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--quick", "--output", str(output)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for kind in ("nearest", "suggest", "map pan", "dispatch", "edit", "all"):
        row = next((r for r in proc.stdout.splitlines() if r.startswith(f"| {kind} |")), None)
        assert row is not None, f"{kind} missing from:\n{proc.stdout}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert int(cells[1].replace(",", "")) > 0 and all(re.fullmatch(r"\d+\.\d+", c) for c in cells[5:]), row
    assert re.search(r"worker RSS \(MiB\): start \d+\.\d .* end \d+\.\d .* growth [+-]\d+\.\d MiB", proc.stdout)
    result = json.loads(output.read_text())
    assert "setup" not in result["results"], result["results"].get("setup")
    assert all("500" not in map(str, entry["statuses"]) for entry in result["results"].values()), result["results"]
    assert len(result["rss_start"]) == len(result["rss_end"]) == 2
