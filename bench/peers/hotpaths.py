"""The other hot paths, as request lists over HTTP (timed one at a time, then under load like the nearest API):

  settlement suggestions  GET /api/v1/settlements?q=<first 4 letters of a settlement's name>&limit=10
  map bbox                GET /map-data/locations?bbox=<a phone's town view (z12, 390x844 px) around a settlement>
  organization page       GET /org/<id> (published organizations drawn at random, fixed seed)
  HTTP floor              GET /api/v1/health (gunicorn, Flask, the limiter, a pooled session, SELECT 1)

and import apply, measured by bench/import.py when it exists (once per suite run: a CSV applied to an empty
registry, so the registry's size does not enter; its rows per second are included as it reports them).
The origins are the nearest-help benchmark's (settlements drawn by population), so every path sees the same places.
"""
from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
import urllib.parse
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def _map_page():
    spec = importlib.util.spec_from_file_location("bench_map_page", ROOT / "bench" / "map_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def settlement_paths(origins: list[dict]) -> list[str]:
    return ["/api/v1/settlements?" + urllib.parse.urlencode({"q": o["name"][:4], "limit": 10}) for o in origins]


def map_paths(origins: list[dict], zoom: int = 12) -> list[str]:
    bbox_for = _map_page().bbox_for
    return ["/map-data/locations?bbox=" + ",".join(f"{v:.4f}" for v in bbox_for(o["lat"], o["lon"], zoom))
            for o in origins]


def organization_paths(dsn: str, n: int, seed: int) -> list[str]:
    """`n` published organizations drawn uniformly by id (fixed seed)."""
    rng = random.Random(seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        lo, hi = conn.execute("SELECT min(id), max(id) FROM organization").fetchone()
        found: list[int] = []
        for _ in range(20):
            ids = [rng.randint(lo, hi) for _ in range(4 * n)]
            found += [r[0] for r in conn.execute(
                "SELECT id FROM organization WHERE id = ANY(%s) AND status = 'published'", (ids,)).fetchall()]
            if len(found) >= n:
                break
    rng.shuffle(found)
    return [f"/org/{i}" for i in found[:n]]


HOT_PATHS = {
    "settlements": "settlement suggestions: GET /api/v1/settlements?q=",
    "map": "map bbox (town view): GET /map-data/locations",
    "org": "organization page: GET /org/<id>",
    "health": "HTTP floor: GET /api/v1/health",
}


def hot_path_lists(dsn: str, origins: list[dict], seed: int) -> dict[str, list[str]]:
    return {"settlements": settlement_paths(origins), "map": map_paths(origins),
            "org": organization_paths(dsn, len(origins), seed), "health": ["/api/v1/health"]}


def import_apply(rows: int, timeout: float = 1200) -> dict | None:
    """Import apply as bench/import.py measures it (a generated CSV of `rows` services applied to an empty registry,
    one run; the registry's size does not enter), when that script exists; None otherwise."""
    import tempfile

    script = ROOT / "bench" / "import.py"
    if not script.exists():
        return None
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        output = Path(fh.name)
    try:
        proc = subprocess.run([sys.executable, str(script), "--rows", str(rows), "--runs", "1", "--output", str(output)],
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        result = {"rows": rows, "returncode": proc.returncode, "stdout_tail": proc.stdout[-3000:],
                  "stderr_tail": proc.stderr[-1500:]}
        if proc.returncode == 0 and output.exists() and output.stat().st_size:
            try:
                data = json.loads(output.read_text())
                result.update(median_s=data.get("median_s"), rows_per_s=data.get("rows_per_s"))
            except json.JSONDecodeError:
                pass
        return result
    except subprocess.TimeoutExpired:
        return {"rows": rows, "returncode": None, "stdout_tail": "", "stderr_tail": f"timed out after {timeout:.0f} s"}
    finally:
        output.unlink(missing_ok=True)
