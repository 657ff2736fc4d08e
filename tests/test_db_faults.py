"""Database faults under load: PostgreSQL stopped and started again while gunicorn serves searches and edits.

A PRIVATE embedded cluster is made for this module in a temporary directory (its own data directory and Unix
socket directory, so the shared cluster under var/pg is never touched), migrated and given two regions and a
few services. The app is served as in production (gunicorn, 2 workers x 4 threads, resourcemap.wsgi:app) on a
free loopback port. Threads search (public nearest) and edit (the staff API: PUT of an organization document,
each editor its own organization) while the cluster is stopped and started again, twice: a fast shutdown (what
`resourcemap db stop` does: connections are cut) and an immediate one (a crash: recovery from the WAL). What must
hold:

- while it is down every API answer is a 503 JSON error (`database_unavailable`, with Retry-After) and every
  page a readable 503 page; no 500, no stack trace, no connection dropped, no request hanging (every request has
  a client timeout, so a hang fails the test rather than the run);
- after each start it serves again without the app being restarted (the same gunicorn workers; the pool
  checks a connection before use and replaces the dead ones);
- every edit acknowledged with 200 is in the database afterwards: the organization's history holds each
  acknowledged value, and its description is the last acknowledged one (or a later save whose answer was lost);
- a statement that runs too long (waiting on a lock, or pg_sleep) is cancelled at STATEMENT_TIMEOUT_MS and
  answered 503 `timeout`; the worker then serves the next request.

The figures (requests, restarts survived, edits lost, seconds to recover) are printed for docs/reliability.md."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account, issue_token
from resourcemap.config import load_config
from resourcemap.db import make_engine
from resourcemap.db_embedded import Cluster, is_running, start, stop
from resourcemap.gazetteer.load import load_regions
from resourcemap.schema import upgrade
from tests.factories import add_service

ROOT = Path(__file__).resolve().parent.parent
STATEMENT_TIMEOUT_MS = 1500
CLIENT_TIMEOUT_S = 20  # longer than any configured wait (connect 5 s, pool 5 s, statement 1.5 s): a hang fails
SEARCHERS, EDITORS = 3, 2
MAX_REQUESTS_PER_THREAD = 3000  # the load is bounded in count as well as in time
ORIGINS = [(55.7558, 37.6173), (55.7847, 38.4447), (55.91, 37.82), (55.43, 37.55), (56.01, 37.21)]
OK_503_CODES = {"database_unavailable", "busy", "timeout"}


# --- the private cluster, its database, the served app ---------------------------------------------------
@pytest.fixture(scope="module")
def private_cluster():
    root = Path(tempfile.mkdtemp(prefix="resourcemap-faults-"))
    os.chmod(root, 0o755)  # the server may run as the 'postgres' user, who must enter it
    cluster = Cluster(root)
    shared = Cluster(Path(load_config()["VAR_DIR"]))
    assert cluster.data_dir != shared.data_dir and cluster.socket_dir != shared.socket_dir
    start(cluster)
    try:
        yield cluster
    finally:
        stop(cluster)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def fault_db(private_cluster):
    """Schema, Moscow and its region, five published services, an admin with an API token."""
    url = private_cluster.url
    engine = make_engine(url)
    upgrade(engine)
    load_regions(engine, ROOT / "data" / "regions", ["RU-MOW", "RU-MOS"])
    with Session(engine) as session:
        for lat, lon in ORIGINS:
            add_service(session, lat + 0.01, lon + 0.01, "early_help")
        admin = create_account(session, "faults-admin@example.org", "faults admin password", "admin", [])
        _, token = issue_token(session, admin, "faults")
        session.commit()
    engine.dispose()
    return {"url": url, "token": token}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _workers(master_pid: int) -> set[int]:
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


@contextmanager
def gunicorn(database_url: str):
    """The app as `resourcemap serve` runs it (gunicorn, workers and threads), on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "RESOURCEMAP_DATABASE_URL": database_url, "RESOURCEMAP_SECRET_KEY": "faults-secret-key",
           "RESOURCEMAP_API_RATE_LIMIT": "100000000 per minute",
           "RESOURCEMAP_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS), "PYTHONUNBUFFERED": "1"}
    log = tempfile.NamedTemporaryFile("w+", prefix="faults-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                             "--threads", "4", "resourcemap.wsgi:app"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, Path(log.name).read_text()[-3000:]
            try:
                if Client(port).get("/api/v1/health")[0] == 200 and len(_workers(proc.pid)) == 2:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + Path(log.name).read_text()[-3000:]
            time.sleep(0.2)
        try:
            yield {"port": port, "pid": proc.pid, "log": Path(log.name)}
        except BaseException:
            lines = Path(log.name).read_text(errors="replace").splitlines()
            print("gunicorn's log, without the expected 'database ...' lines:\n"
                  + "\n".join(line for line in lines if not line.startswith("database "))[-8000:])
            raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the session started above: gunicorn and its workers
            proc.wait()
        log.close()
        os.unlink(log.name)


class Client:
    """One keep-alive HTTP connection; every request has a timeout, so a hanging server fails the test."""

    def __init__(self, port: int, token: str | None = None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)

    def request(self, method: str, path: str, body=None) -> tuple[int, dict, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read().decode("utf-8", "replace")
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()  # a keep-alive connection the server closed while idle: one retry, new connection
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read().decode("utf-8", "replace")
        return response.status, dict(response.getheaders()), raw

    def get(self, path: str) -> tuple[int, dict, str]:
        return self.request("GET", path)


def _json(raw: str) -> dict | None:
    try:
        return json.loads(raw)
    except ValueError:
        return None


# --- the load ----------------------------------------------------------------------------------------------
class Load:
    """Searchers and editors running until told to stop; every answer is recorded."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[dict] = []  # {kind, status, code, at}
        self.acknowledged: dict[int, list[str]] = {}  # organization id -> descriptions answered 200, in order
        self.attempted: dict[int, list[str]] = {}  # ... every description sent
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._guard, args=(self._search, i), daemon=True)
                        for i in range(SEARCHERS)]
        self.threads += [threading.Thread(target=self._guard, args=(self._edit, i), daemon=True)
                         for i in range(EDITORS)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=CLIENT_TIMEOUT_S * 2)

    def count(self, kind: str | None = None) -> int:
        with self.lock:
            return sum(1 for a in self.answers if kind is None or a["kind"] == kind)

    def _record(self, kind: str, status: int, raw: str) -> dict | None:
        body = _json(raw)
        code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
        with self.lock:
            self.answers.append({"kind": kind, "status": status, "code": code, "at": time.monotonic()})
        if status not in (200, 409, 503) or (status == 503 and code not in OK_503_CODES) or "Traceback" in raw:
            self.failures.append(f"{kind}: {status} {raw[:300]}")
        return body

    def _guard(self, work, i: int) -> None:
        try:
            work(i)
        except Exception as exc:  # a dropped connection or a timeout: the test fails with what happened
            self.failures.append(f"{work.__name__}[{i}]: {exc.__class__.__name__}: {exc}")

    def _search(self, i: int) -> None:
        client = Client(self.port)
        for n in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                return
            lat, lon = ORIGINS[(i + n) % len(ORIGINS)]
            status, _, raw = client.get(f"/api/v1/nearest?lat={lat}&lon={lon}&service=early_help&limit=5")
            body = self._record("search", status, raw)
            if status == 200 and not body["results"]:
                self.failures.append(f"search found nothing at {lat},{lon}")

    def _edit(self, i: int) -> None:
        client = Client(self.port, self.token)
        lat, lon = ORIGINS[i % len(ORIGINS)]
        status, _, raw = client.request("POST", "/api/v1/registry/organizations", {
            "name": f"Служба для проверки отказов {i}", "status": "published", "description": "начало",
            "locations": [{"name": "Отделение", "address": "ул. Проверочная, 1", "lat": lat, "lon": lon}],
            "services": [{"type": "family_support", "delivery": "on_site", "location": 0, "schedule": []}],
            "phones": [{"number": f"+7495555{i:04d}", "kind": "main"}]})
        answer = _json(raw)
        assert status == 201 and answer.get("document"), raw[:500]
        org_id, doc = answer["id"], answer["document"]
        self.acknowledged[org_id], self.attempted[org_id] = [], []
        for n in range(1, MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                return
            value = f"правка {i}-{n}"
            self.attempted[org_id].append(value)
            status, _, raw = client.request("PUT", f"/api/v1/registry/organizations/{org_id}",
                                            {**doc, "description": value})
            body = self._record("edit", status, raw)
            if status == 200:
                self.acknowledged[org_id].append(value)
                doc = body["document"]
            elif status == 409:  # a save whose answer was lost did land: carry on from the stored document
                doc = body["current"]


def _down_answers(port: int, settlement_id: int) -> list[tuple[str, int, dict, str]]:
    """What the API and the pages answer while the database is down."""
    client = Client(port)
    out = []
    for path in ("/api/v1/nearest?lat=55.75&lon=37.61&service=early_help",
                 "/api/v1/settlements?q=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0",
                 "/api/v1/organizations/1", "/api/v1/health",
                 f"/?settlement={settlement_id}&service=early_help", "/org/1"):
        out.append((path, *client.get(path)))
    return out


def _stop(cluster: Cluster, mode: str) -> None:
    """`fast`: what `resourcemap db stop` does (sessions are cut, a checkpoint is written). `immediate`: a crash;
    the server recovers from its write-ahead log on the next start."""
    if mode == "fast":
        stop(cluster)
    else:
        from resourcemap.db_embedded import _run, _server_user, pg_bindir

        result = _run([str(pg_bindir() / "pg_ctl"), "stop", "-D", str(cluster.data_dir), "-m", "immediate", "-w"],
                      _server_user())
        assert result.returncode == 0, result.stderr
    assert not is_running(cluster)


def test_database_restarts_under_load_lose_no_acknowledged_edit(fault_db, private_cluster):
    """Two restarts under load: a clean one (fast shutdown) and a crash (immediate shutdown, WAL recovery)."""
    with psycopg.connect(private_cluster.url.replace("postgresql+psycopg", "postgresql")) as conn:
        settlement_id = conn.execute("SELECT id FROM settlement WHERE name_ru = 'Москва' LIMIT 1").fetchone()[0]
    cycles = []
    with gunicorn(fault_db["url"]) as server, Load(server["port"], fault_db["token"]) as load:
        workers = _workers(server["pid"])
        for mode in ("fast", "immediate"):
            cycles.append(_restart_under_load(private_cluster, server, load, settlement_id, mode))
            assert _workers(server["pid"]) == workers, "the app was restarted"

    assert load.failures == [], "\n".join(load.failures[:20])
    _check_the_answers_while_down(cycles)
    # Every acknowledged edit is there: in the history, and the stored description is the last acknowledged
    # value or a later one whose answer was lost in the restart.
    acknowledged = sum(len(v) for v in load.acknowledged.values())
    assert acknowledged > cycles[-1]["acknowledged_before"] > cycles[0]["acknowledged_before"] > 0
    lost = _lost_edits(private_cluster, load)
    assert lost == []
    _report_the_restarts(load, cycles, acknowledged, lost)


def _restart_under_load(private_cluster, server, load, settlement_id, mode: str) -> dict:
    """Stop the database (`mode`: fast or immediate) under load, see the 503s, start it again and wait for edits to
    succeed; what the cycle saw."""
    edits = load.count("edit")
    _wait_for(lambda: load.count("edit") >= edits + 10 and load.count("search") >= 20,
              "load before the restart", load=load)
    acknowledged_before = sum(len(v) for v in load.acknowledged.values())
    _stop(private_cluster, mode)
    down_at = time.monotonic()
    down = _down_answers(server["port"], settlement_id)
    _wait_for(lambda: any(a["status"] == 503 and a["at"] > down_at for a in load.answers), "503s under load",
              load=load)
    start(private_cluster)
    started_at = time.monotonic()
    _wait_for(lambda: Client(server["port"]).get("/api/v1/nearest?lat=55.75&lon=37.61&service=early_help")[0]
              == 200, "serving again")
    recovered_s = time.monotonic() - started_at
    _wait_for(lambda: any(a["kind"] == "edit" and a["status"] == 200 and a["at"] > started_at + recovered_s
                          for a in load.answers) and load.count() >= 30, "edits after the restart", load=load)
    return {"mode": mode, "down": down, "recovered_s": recovered_s, "acknowledged_before": acknowledged_before}


def _check_the_answers_while_down(cycles: list[dict]) -> None:
    """Every answer while the database was down: a 503 without internals; JSON for the API, the page otherwise."""
    for cycle in cycles:
        for path, status, headers, raw in cycle["down"]:
            assert status == 503, f"{cycle['mode']} {path}: {status} {raw[:300]}"
            assert "Traceback" not in raw and "psycopg" not in raw and "sqlalchemy" not in raw.lower(), raw[:500]
            if path.startswith("/api/v1/health"):
                assert _json(raw) == {"status": "degraded", "database": "unavailable"}
            elif path.startswith("/api/"):
                assert _json(raw)["error"]["code"] == "database_unavailable", raw
                assert int(headers["Retry-After"]) >= 5  # ours, or the rate limiter's window when later
            else:
                assert headers["Content-Type"].startswith("text/html")
                assert "База данных временно недоступна" in raw


def _lost_edits(private_cluster, load) -> list[str]:
    """The acknowledged values missing from the history (asserting that each stored description is the last
    acknowledged value or a later attempt)."""
    lost = []
    with psycopg.connect(private_cluster.url.replace("postgresql+psycopg", "postgresql")) as conn:
        for org_id, values in load.acknowledged.items():
            history = {r[0] for r in conn.execute(
                "SELECT new #>> '{}' FROM change WHERE organization_id = %s AND entity = 'organization'"
                " AND field = 'description'", (org_id,))}
            lost += [v for v in values if v not in history]
            stored = conn.execute("SELECT description FROM organization WHERE id = %s", (org_id,)).fetchone()[0]
            tried = load.attempted[org_id]
            assert stored in tried[tried.index(values[-1]):], (org_id, stored, values[-1])
    return lost


def _report_the_restarts(load, cycles: list[dict], acknowledged: int, lost: list) -> None:
    """Print what the restarts saw (answers by kind and status, edits, recovery times)."""
    statuses: dict[str, int] = {}
    for a in load.answers:
        statuses[f"{a['kind']} {a['status']}"] = statuses.get(f"{a['kind']} {a['status']}", 0) + 1
    modes = ", ".join(c["mode"] for c in cycles)
    recovered = ", ".join(f"{c['recovered_s']:.1f}" for c in cycles)
    print(f"\ndb restarts: {len(cycles)} ({modes}); {len(load.answers)} requests {statuses}; {acknowledged} edits "
          f"acknowledged, {len(lost)} lost; serving again {recovered} s after each start")


def test_a_statement_past_the_timeout_is_cancelled_and_the_worker_serves_on(fault_db, private_cluster):
    """A request waiting on a lock (a long migration or import holding it) is cancelled by the statement timeout:
    503 `timeout`, nothing left waiting in the database, and the same server answers the next request."""
    dsn = private_cluster.url.replace("postgresql+psycopg", "postgresql")
    with gunicorn(fault_db["url"]) as server:
        client = Client(server["port"])
        assert client.get("/api/v1/organizations?limit=1")[0] == 200
        with psycopg.connect(dsn) as holder:
            holder.execute("LOCK TABLE organization IN ACCESS EXCLUSIVE MODE")
            status, headers, raw = client.get("/api/v1/organizations?limit=1")
            with psycopg.connect(dsn, autocommit=True) as probe:
                waiting = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                        " AND pid <> pg_backend_pid()").fetchone()[0]
            page_status, _, page = client.get("/org/1")
            holder.rollback()
        assert status == 503, raw[:500]
        assert _json(raw)["error"]["code"] == "timeout" and headers["Retry-After"]
        assert waiting == 0  # the cancelled statement is not still queued behind the lock
        assert page_status == 503 and "слишком долго" in page and "Traceback" not in page
        assert client.get("/api/v1/organizations?limit=1")[0] == 200


def test_pg_sleep_cannot_hold_a_request_past_the_statement_timeout(fault_db):
    from resourcemap import create_app
    from resourcemap.db import get_session

    app = create_app({"DATABASE_URL": fault_db["url"], "SECRET_KEY": "x", "STATEMENT_TIMEOUT_MS": 300})
    app.add_url_rule("/api/v1/slow", "slow", lambda: {"slept": get_session().execute(
        text("SELECT pg_sleep(60)::text")).scalar()})
    client = app.test_client()
    response = client.get("/api/v1/slow")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "timeout"
    assert client.get("/api/v1/health").json == {"status": "ok", "database": "ok"}
    app.extensions["resourcemap.engine"].dispose()


def _wait_for(condition, what: str, timeout_s: float = 60, load: Load | None = None) -> None:
    """Poll until `condition()`; a liveness bound (not a measurement): failing it means something hung."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert not (load and load.failures), "\n".join(load.failures[:20])
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
