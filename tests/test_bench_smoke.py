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
