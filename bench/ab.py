"""Same-run A/B of a benchmark between another checkout (the baseline) and this tree.

    git worktree add /tmp/ab-base <rev> && ln -s "$PWD/var" /tmp/ab-base/var
    .venv/bin/python bench/ab.py --baseline /tmp/ab-base --rounds 3 --figures 'p50|p95|rps' -- nearest.py --sizes 10000
    .venv/bin/python bench/ab.py --baseline /tmp/ab-base --rounds 3 --figures 'median_s' -- import.py --rows 10000

Each round runs the benchmark once with the baseline's code, then once with this tree's (each tree's own script,
which imports its own package), alternating so that a machine that gets busier or quieter affects both alike. The
benchmark must accept `--runs 1 --output FILE` and write JSON; every number in that JSON whose path matches
`--figures` is reported as the median over the rounds for each tree, with the ratio this/baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def numbers(value, path: str = "") -> dict[str, float]:
    """Every number in a JSON document by its path (`results.0.api.p50_ms`), lists of results keyed by their
    `size` or `approach` when they have one, so that paths stay the same between runs."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, (int, float)):
        return {path: float(value)}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(numbers(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            label = item.get("size", item.get("approach", i)) if isinstance(item, dict) else i
            out.update(numbers(item, f"{path}.{label}"))
        return out
    return {}


def run_once(tree: Path, script: str, args: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, str(tree / "bench" / script), *args, "--runs", "1", "--output", out.name]
        env = {**os.environ, "PYTHONPATH": str(tree)}
        subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
        return numbers(json.loads(Path(out.name).read_text()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", type=Path, required=True, help="a checkout of the code to compare with")
    p.add_argument("--rounds", type=int, default=3, help="runs per tree, alternating; figures are their medians")
    p.add_argument("--figures", default=".", help="regular expression: which numbers of the JSON to report")
    p.add_argument("bench", nargs=argparse.REMAINDER, help="-- <script in bench/> [its arguments]")
    args = p.parse_args(argv)
    bench = args.bench[1:] if args.bench[:1] == ["--"] else args.bench
    if not bench:
        p.error("name the benchmark after --, e.g. -- nearest.py --sizes 10000")
    script, script_args = bench[0], bench[1:]
    trees = {"baseline": args.baseline.resolve(), "this": ROOT}
    seen: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for round_ in range(args.rounds):
        for name, tree in trees.items():
            for key, value in run_once(tree, script, script_args).items():
                seen[name].setdefault(key, []).append(value)
            print(f"round {round_ + 1}/{args.rounds}: {name} done", file=sys.stderr, flush=True)
    wanted = re.compile(args.figures)
    keys = sorted(k for k in seen["this"] if wanted.search(k) and k in seen["baseline"])
    print(f"{script} {' '.join(script_args)}: median of {args.rounds} alternating rounds per tree; "
          f"baseline {trees['baseline']}")
    print()
    print("| figure | baseline | this tree | this / baseline |")
    print("|---|---:|---:|---:|")
    for key in keys:
        old, new = statistics.median(seen["baseline"][key]), statistics.median(seen["this"][key])
        ratio = f"{new / old:.2f}" if old else "—"
        print(f"| {key} | {old:.2f} | {new:.2f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
