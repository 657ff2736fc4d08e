"""What the benchmarks share: the bench databases, the request list, gunicorn as production runs it, timing.

The database builder, the origins, the HTTP client and the gunicorn launcher live in bench/nearest.py (the first
benchmark); this module loads it once and re-exports them, so bench/nearest.py keeps working on its own and the
other benchmarks (bench/suite.py) build and reuse exactly the same databases `resourcemap_bench_<N>`.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _load_nearest():
    name = "bench_nearest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "nearest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


nearest_bench = _load_nearest()

# Re-exported from bench/nearest.py (loaded above as bench_nearest): one builder, one request list, one timer and
# one way to stop a server for every benchmark.
from bench_nearest import (  # noqa: E402, F401
    KINDS, app_settings, code_fingerprint, conninfo, ensure_database, free_port, log, machine, make_requests,
    percentile, sa_url, sample_origins, server_url, server_versions, stop_session, timed, wait_until_healthy,
)


class HttpClient(nearest_bench.HttpClient):
    """bench/nearest.py's keep-alive client, reconnecting once when the server has closed an idle connection
    (gunicorn's keep-alive timeout is 2 s; a run pauses longer between its phases)."""

    def get(self, path: str) -> tuple[int, bytes]:
        import http.client

        try:
            return super().get(path)
        except (http.client.RemoteDisconnected, ConnectionError, http.client.CannotSendRequest):
            self.conn.close()
            return super().get(path)


def summarize(samples: list[float]) -> dict:
    """p50/p95/p99 (linear interpolation, numpy's default), mean and max of latencies in ms."""
    if not samples:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "mean": float("nan"),
                "max": float("nan")}
    return nearest_bench.summarize(samples)


# --- gunicorn as production runs it --------------------------------------------------------------------------
def production_serve_settings() -> dict:
    """Workers and threads of `resourcemap serve` (resourcemap/cli.py), read from the command's own defaults so the
    bench follows production when those change."""
    from resourcemap.cli import serve

    defaults = {p.name: p.default for p in serve.params}
    return {"workers": int(defaults.get("workers", 2)), "threads": int(defaults.get("threads", 4))}


@contextmanager
def production_gunicorn(database_url: str, settings: dict):
    """gunicorn serving resourcemap.wsgi:app with the workers, threads and access log of `resourcemap serve`
    (bench/nearest.py's launcher; the access log goes to its temporary log file). Yields the port."""
    serve = production_serve_settings()
    previous = os.environ.get("GUNICORN_CMD_ARGS")
    os.environ["GUNICORN_CMD_ARGS"] = "--access-logfile -"  # as `resourcemap serve`: one line per request
    try:
        with nearest_bench.gunicorn(database_url, settings, serve["workers"], serve["threads"], None,
                                    "resourcemap.wsgi:app") as port:
            yield port
    finally:
        if previous is None:
            os.environ.pop("GUNICORN_CMD_ARGS", None)
        else:
            os.environ["GUNICORN_CMD_ARGS"] = previous


def gunicorn_processes(port: int) -> tuple[int | None, list[int]]:
    """(master pid, worker pids) of the gunicorn bound to 127.0.0.1:`port`, found in /proc."""
    mark = f"127.0.0.1:{port}".encode()
    pids = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"gunicorn" not in cmdline or mark not in cmdline:
                continue
            stat = (entry / "stat").read_text()
            pids[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # ppid
        except OSError:
            continue
    masters = [pid for pid, ppid in pids.items() if ppid not in pids]
    master = masters[0] if len(masters) == 1 else None
    return master, sorted(pid for pid, ppid in pids.items() if ppid == master)


def rss_mib(pid: int, field: str = "VmRSS") -> float | None:
    """Memory of a process in MiB from /proc (VmRSS: resident now; VmHWM: its peak), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def pg_program(name: str) -> str | None:
    """A PostgreSQL client program (pgbench, psql): the server's own version first, then the PATH."""
    try:
        from resourcemap.db_embedded import pg_bindir

        candidate = pg_bindir() / name
        if candidate.exists():
            return str(candidate)
    except Exception:  # noqa: BLE001 - no server binaries: fall back to the PATH
        pass
    return shutil.which(name)


def remigrate(database_url: str, revision: str) -> tuple[str, str]:
    """Run migration `revision` again on a bench database: its downgrade, then every migration up to the newest, in
    one transaction. For bench databases migrated while that migration was still being written (the builder reuses
    a database at its recorded revision, so a revised migration file would otherwise never reach it)."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from resourcemap.schema import alembic_config

    engine = create_engine(database_url)
    try:
        cfg = alembic_config(engine)
        down = ScriptDirectory.from_config(cfg).get_revision(revision).down_revision
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, down)
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
    return down, "head"
