"""Throughput under concurrency, bounded in time, from processes apart from the one served — all on this machine.

  HTTP        wrk (Debian package `wrk`), `-c <concurrency>` connections on loopback, a Lua script rotating over the
              request list; without wrk, Python threads with keep-alive connections do the same (slower client)
  SQL         pgbench with one script file per request (the statement with its values written in), `-M prepared`,
              `-c <concurrency>`; without pgbench, Python processes with psycopg do the same
  in memory   the data scientist's process forked `<concurrency>` times (the trees are shared copy-on-write)

Each returns {"rps", "requests", "errors", "seconds", "tool"} (+ latency percentiles under load when the tool
gives them). Nothing here waits longer than its duration plus a few seconds.
"""
from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

# --- HTTP --------------------------------------------------------------------------------------------------------
_WRK_LUA = """
local paths = %(paths)s
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("first", counter)
end
function init(args)
  i = ((first or 1) * 7919) %% #paths
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
"""


def _lua_list(paths: list[str]) -> str:
    for p in paths:
        if not p.isascii() or '"' in p or "\\" in p or "\n" in p:
            raise ValueError(f"not a plain ASCII path: {p!r}")
    return "{\n" + ",\n".join(f'  "{p}"' for p in paths) + "\n}"


def http_throughput(port: int, paths: list[str], concurrency: int, seconds: float, threads: int = 2) -> dict:
    """Requests per second of GET `paths` (rotating) with `concurrency` keep-alive connections for `seconds`."""
    wrk = shutil.which("wrk")
    if wrk:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
            fh.write(_WRK_LUA % {"paths": _lua_list(paths)})
            script = fh.name
        try:
            proc = subprocess.run(
                [wrk, "-t", str(min(threads, concurrency)), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s",
                 "--timeout", "10s", "-s", script, f"http://127.0.0.1:{port}"],
                capture_output=True, text=True, timeout=seconds + 60)
        finally:
            os.unlink(script)
        m = re.search(r"^RESULT (.+)$", proc.stdout, re.M)
        if proc.returncode != 0 or not m:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-1000:]} {proc.stderr[-1000:]}")
        n, dur_us, e_conn, e_read, e_write, e_status, e_timeout, p50, p95, p99 = (int(v) for v in m.group(1).split())
        return {"tool": "wrk", "requests": n, "seconds": dur_us / 1e6, "rps": n / (dur_us / 1e6),
                "errors": e_conn + e_read + e_write + e_status + e_timeout, "non_2xx": e_status,
                "load_p50_ms": p50 / 1000, "load_p95_ms": p95 / 1000, "load_p99_ms": p99 / 1000}
    return _python_http(port, paths, concurrency, seconds)


def _python_http(port: int, paths: list[str], concurrency: int, seconds: float) -> dict:
    counts, errors = [0] * concurrency, [0] * concurrency
    deadline = time.monotonic() + seconds

    def worker(slot: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = slot * 7919
        while time.monotonic() < deadline:
            i += 1
            try:
                conn.request("GET", paths[i % len(paths)])
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    counts[slot] += 1
                else:
                    errors[slot] += 1
            except (OSError, http.client.HTTPException):
                errors[slot] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    t0 = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - t0
    return {"tool": "python threads", "requests": sum(counts), "seconds": elapsed, "rps": sum(counts) / elapsed,
            "errors": sum(errors), "non_2xx": None}


# --- SQL ---------------------------------------------------------------------------------------------------------
def literal_statements(dsn: str, statements: list[tuple[str, dict]]) -> list[str]:
    """Each (SQL, params) with its values written in, on one line (a pgbench script)."""
    import psycopg

    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = psycopg.ClientCursor(conn)
        for sql, params in statements:
            text = re.sub(r"--[^\n]*", "", cur.mogrify(sql, params))  # line comments go: the script is one line
            out.append(" ".join(text.split()) + ";")
    return out


def sql_throughput(dsn: str, scripts: list[str], concurrency: int, seconds: float, pgbench: str | None,
                   threads: int = 2) -> dict:
    """Transactions per second of the scripts (one chosen at random per transaction) with `concurrency` clients."""
    if pgbench:
        with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as tmp:
            args = [pgbench, "-n", "-M", "prepared", "-c", str(concurrency), "-j", str(min(threads, concurrency)),
                    "-T", str(max(1, round(seconds)))]
            for i, script in enumerate(scripts[:120]):  # pgbench takes at most 128 scripts
                path = Path(tmp) / f"q{i:03d}.sql"
                path.write_text(script + "\n")
                args += ["-f", str(path)]
            proc = subprocess.run(args + [dsn], capture_output=True, text=True, timeout=seconds + 120)
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", proc.stdout)
        done = re.search(r"number of transactions actually processed: (\d+)", proc.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", proc.stdout)
        latency = re.search(r"latency average = ([\d.]+) ms", proc.stdout)
        if proc.returncode != 0 or not tps:
            raise RuntimeError(f"pgbench failed ({proc.returncode}): {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
        return {"tool": "pgbench", "rps": float(tps.group(1)), "requests": int(done.group(1)) if done else None,
                "errors": int(failed.group(1)) if failed else 0, "seconds": seconds,
                "load_mean_ms": float(latency.group(1)) if latency else None}
    return _python_sql(dsn, scripts, concurrency, seconds)


def _sql_worker(dsn: str, scripts: list[str], slot: int, ready, seconds: float, out) -> None:
    import psycopg

    done = errors = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        ready.wait()  # every client connected: start together
        deadline = time.time() + seconds
        i = slot * 7919
        while time.time() < deadline:
            i += 1
            try:
                conn.execute(scripts[i % len(scripts)].rstrip(";"), prepare=True).fetchall()
                done += 1
            except psycopg.Error:
                errors += 1
    out.put((done, errors))


def _python_sql(dsn: str, scripts: list[str], concurrency: int, seconds: float) -> dict:
    ctx = multiprocessing.get_context("fork")
    out, ready = ctx.Queue(), ctx.Barrier(concurrency)
    procs = [ctx.Process(target=_sql_worker, args=(dsn, scripts, i, ready, seconds, out))
             for i in range(concurrency)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    n = sum(r[0] for r in results)
    return {"tool": "python processes (psycopg)", "rps": n / seconds, "requests": n,
            "errors": sum(r[1] for r in results), "seconds": seconds}


# --- in memory ---------------------------------------------------------------------------------------------------
_FORKED = {}


def _memory_worker(key: str, slot: int, ready, seconds: float, out) -> None:
    fn, reqs = _FORKED[key]
    ready.wait()  # every process forked: start together
    deadline = time.time() + seconds
    done, i = 0, slot * 7919
    while time.time() < deadline:
        i += 1
        fn(reqs[i % len(reqs)])
        done += 1
    out.put(done)


def memory_throughput(fn, reqs: list[dict], concurrency: int, seconds: float) -> dict:
    """Calls per second of `fn(req)` in `concurrency` processes forked from this one (data shared copy-on-write)."""
    ctx = multiprocessing.get_context("fork")
    key = f"job{len(_FORKED)}"
    _FORKED[key] = (fn, reqs)
    out, ready = ctx.Queue(), ctx.Barrier(concurrency)
    procs = [ctx.Process(target=_memory_worker, args=(key, i, ready, seconds, out)) for i in range(concurrency)]
    try:
        for p in procs:
            p.start()
        counts = [out.get(timeout=seconds + 60) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        _FORKED.pop(key, None)
    return {"tool": "forked processes", "rps": sum(counts) / seconds, "requests": sum(counts), "errors": 0,
            "seconds": seconds}


def describe_tools(pgbench: str | None) -> str:
    wrk = shutil.which("wrk")
    return json.dumps({"http": "wrk" if wrk else "python threads", "sql": "pgbench" if pgbench else "python processes"})
