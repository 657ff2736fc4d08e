"""The loopback demo's processes (issue 23): two gunicorn instances of the app, HAProxy in front of them, and a
throwaway Redis when none answers on 127.0.0.1:6379. Each is a child of the demo that stops when it stops (and
dies with it, should the demo itself be killed), listening on loopback ports only."""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import PROJECT_ROOT

START_TIMEOUT_S = 180.0  # a busy 2-core machine imports the app slowly
STOP_TIMEOUT_S = 30.0
SHARED_REDIS = ("127.0.0.1", 6379)
REDIS_DATABASE = 5  # the demo's counters apart from anything else in a shared Redis

# Health checks every second (each may take up to 10 s on a busy machine); an instance is out after three failures
# and back after one success. A request that
# found an instance dead (refused, cut) or answering 503 is tried once more on the other one when it is a GET or
# HEAD: a read is safe to repeat, a write is not (its 503 reaches the client).
HAPROXY_CONFIG = """\
global
    maxconn 2000
    pidfile {run_dir}/haproxy.pid

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout check 10s
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 503
    errorfile 502 {run_dir}/502.http
    errorfile 503 {run_dir}/503.http
    errorfile 504 {run_dir}/504.http

frontend resourcemap
    bind 127.0.0.1:{port}
    default_backend app

backend app
    balance roundrobin
    option httpchk GET /api/v1/health
    http-check expect status 200
    http-request disable-l7-retry unless METH_GET || METH_HEAD
{servers}
"""
SERVER_LINE = "    server app{n} 127.0.0.1:{port} check inter 1s fall 3 rise 1"
# What HAProxy answers itself when no instance can (the app's error shape, never an HTML page).
BALANCER_ERROR = ('HTTP/1.0 {status} {reason}\r\nCache-Control: no-cache\r\nConnection: close\r\nRetry-After: 5\r\n'
                  'Content-Type: application/json\r\n\r\n{{"error": {{"code": "unavailable", "message": '
                  '"No instance of the service is answering; try again in a few seconds.", "field": null}}}}\n')


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM (gunicorn and HAProxy finish what they serve), then SIGKILL if it does not end in time."""
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: nothing outlives the demo


def spawn(name: str, args: list[str], log_dir: Path, env: dict | None = None) -> Child:
    """Start a child in its own session (a terminal's Ctrl-C reaches the demo, which stops the children in
    order), its output appended to log_dir/<name>.log."""
    log = log_dir / f"{name}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   cwd=PROJECT_ROOT, start_new_session=True, preexec_fn=_die_with_parent)
    return Child(name, process, log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready: Callable[[], bool], child: Child | None, what: str, timeout_s: float = START_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while not ready():
        if child is not None and not child.alive():
            raise RuntimeError(f"{what} exited:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout_s:.0f} s" +
                               (f":\n{child.log_tail()}" if child else ""))
        time.sleep(0.2)


def answers_health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=5) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def app_instance(n: int, port: int, env: dict, log_dir: Path) -> Child:
    """gunicorn with the app on 127.0.0.1:port (two workers of four threads, as `resourcemap serve`)."""
    args = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
            "--graceful-timeout", "5", "--access-logfile", str(log_dir / f"app{n}-access.log"), *_no_control_socket(),
            "resourcemap.wsgi:app"]
    return spawn(f"app{n}", args, log_dir, env)


def _no_control_socket() -> list[str]:
    """gunicorn 24 and newer open a control socket at one path per user, which two instances would share."""
    import gunicorn

    return ["--no-control-socket"] if int(gunicorn.__version__.split(".")[0]) >= 24 else []


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy", "/usr/bin/haproxy")
                                             if os.path.exists(p)), None)
    if found is None:
        raise RuntimeError("HAProxy is not installed: run scripts/install --cluster (apt-get install haproxy)")
    return found


def balancer(port: int, instance_ports: list[int], run_dir: Path, log_dir: Path) -> Child:
    """HAProxy on 127.0.0.1:port in front of the instances (its configuration written to run_dir)."""
    for status, reason in ((502, "Bad Gateway"), (503, "Service Unavailable"), (504, "Gateway Timeout")):
        (run_dir / f"{status}.http").write_text(BALANCER_ERROR.format(status=status, reason=reason))
    servers = "\n".join(SERVER_LINE.format(n=n, port=p) for n, p in enumerate(instance_ports, 1))
    config = run_dir / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(run_dir=run_dir, port=port, servers=servers))
    check = subprocess.run([haproxy_binary(), "-c", "-q", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"HAProxy refuses its configuration:\n{check.stdout}{check.stderr}")
    return spawn("haproxy", [haproxy_binary(), "-db", "-f", str(config)], log_dir)


def _redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis(log_dir: Path) -> tuple[str, Child | None]:
    """The Redis for the instances' shared rate-limit counters: the one on 127.0.0.1:6379 when it answers, else a
    throwaway one on a free loopback port (no persistence), stopped with the demo."""
    if _redis_answers(*SHARED_REDIS):
        return f"redis://{SHARED_REDIS[0]}:{SHARED_REDIS[1]}/{REDIS_DATABASE}", None
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed: run scripts/install --cluster (apt-get install "
                           "redis-server)")
    port = free_port()
    child = spawn("redis", [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
                  log_dir)
    wait_until(lambda: _redis_answers("127.0.0.1", port), child, "redis-server")
    return f"redis://127.0.0.1:{port}/0", child
