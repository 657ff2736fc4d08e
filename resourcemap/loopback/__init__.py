"""The loopback cluster demo (issue 23): resourcemap as a national operator would run it, on one machine.

    HAProxy 127.0.0.1:<port>  ──►  gunicorn app1, app2 (127.0.0.1, stateless: any may stop at any moment)
                                        │ writes, a staff member's reads until a replica has their commit
                                        ▼
                                   primary  ──(streaming replication)──►  replica  ◄── the public's reads
                                   (Redis: the instances' shared rate-limit counters)

`running()` starts it all and stops it all (a context manager, for the tests and for `resourcemap cluster`);
`scripts/cluster` is the one command. The databases are made as the app's embedded cluster is made (private Unix
sockets, the `postgres` system user when we are root); everything else listens on loopback ports."""
from __future__ import annotations

import os
import secrets
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..config import load_config
from ..db_embedded import Cluster, stop
from . import databases, processes


@dataclass
class Loopback:
    """Where each part of the running demo listens."""
    balancer_url: str
    instance_urls: list[str]
    primary: Cluster
    replica: Cluster
    redis_url: str
    instances: list[processes.Child]

    def lines(self) -> list[str]:
        return [f"load balancer (HAProxy): {self.balancer_url}/   API: {self.balancer_url}/api/v1/docs",
                *(f"app instance {n} (gunicorn): {url}" for n, url in enumerate(self.instance_urls, 1)),
                f"primary (PostgreSQL):   {self.primary.url}",
                f"replica (streaming):    {self.replica.url}",
                f"rate-limit counters:    {self.redis_url}",
                f"logs: {self.primary.var_dir / 'log'}/"]


@contextmanager
def running(root: Path, *, port: int | None = None, census: bool = True, coverage: bool = False,
            env: dict[str, str] | None = None, echo: Callable[[str], None] = print) -> Iterator[Loopback]:
    """Start the primary (made and seeded the first time), a fresh replica, Redis if needed, two app instances and
    HAProxy on `port` (a free one when None) under `root`; yield where they listen; stop them all, in the reverse
    order, however the block ends. `env`: more RESOURCEMAP_* settings for the instances."""
    root = Path(root).resolve()
    log_dir, run_dir = root / "log", root / "run"
    for d in (root, log_dir, run_dir):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)  # the postgres system user must pass through to its own directories
    primary, replica = databases.primary_of(root), databases.replica_of(root)
    with ExitStack() as stack:
        stack.callback(_stop_quietly, primary, echo)
        echo(f"primary: {primary.root} ...")
        databases.start_primary(primary, load_config(), census, echo)
        stack.callback(_stop_quietly, replica, echo)
        echo(f"replica: pg_basebackup into {replica.root} ...")
        databases.start_replica(primary, replica)
        redis_url, redis_child = processes.redis(log_dir)
        if redis_child is not None:
            stack.callback(redis_child.stop)
        app_env = {**os.environ, "RESOURCEMAP_DATABASE_URL": primary.url, "RESOURCEMAP_READ_DATABASE_URLS": replica.url,
                   "RESOURCEMAP_SECRET_KEY": secrets.token_urlsafe(48), "RESOURCEMAP_REDIS_URL": redis_url,
                   **(env or {})}
        instances = _start_instances(stack, app_env, log_dir, echo)
        if coverage:
            watcher = processes.spawn("coverage-watch", [*_resourcemap(), "coverage", "watch"], log_dir, app_env)
            stack.callback(watcher.stop)
        port = port or processes.free_port()
        balancer = processes.balancer(port, [int(url.rsplit(":", 1)[1]) for url, _ in instances], run_dir, log_dir)
        stack.callback(balancer.stop)
        url = f"http://127.0.0.1:{port}"
        processes.wait_until(lambda: processes.answers_health(url), balancer, "HAProxy")
        stack.callback(echo, "stopping the load balancer, the app instances and the databases ...")
        yield Loopback(url, [u for u, _ in instances], primary, replica, redis_url, [c for _, c in instances])


def _start_instances(stack: ExitStack, env: dict, log_dir: Path, echo) -> list[tuple[str, processes.Child]]:
    started = []
    for n in (1, 2):
        port = processes.free_port()
        child = processes.app_instance(n, port, env, log_dir)
        stack.callback(child.stop)
        started.append((f"http://127.0.0.1:{port}", child))
    for url, child in started:
        processes.wait_until(lambda: processes.answers_health(url), child, f"app instance {child.name}")
        echo(f"{child.name}: {url} answers")
    return started


def _resourcemap() -> list[str]:
    import sys

    return [sys.executable, "-m", "resourcemap.cli"]


def _stop_quietly(cluster: Cluster, echo) -> None:
    try:
        stop(cluster)
    except Exception as error:  # the others must still be stopped
        echo(f"could not stop {cluster.root}: {error}")
