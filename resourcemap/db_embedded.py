"""The private PostgreSQL + PostGIS cluster used when no RESOURCEMAP_DATABASE_URL is given.

It lives under `var/pg/` (data, socket, log) and is made with the machine's own `initdb` and `pg_ctl`.
It listens on a Unix socket only, in a directory that only the server's user may enter, so no other local
user and no network peer can reach it. PostgreSQL refuses to run as root: when we are root the server runs as
the `postgres` system user (which Debian's packages create), falling back to `nobody`.
"""
from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .data.maintenance import create_database

PORT = 54329
DB_NAME = "resourcemap"
SUPERUSER = "resourcemap"

SERVER_SETTINGS = """
# resourcemap embedded cluster
listen_addresses = ''
unix_socket_directories = '{socket_dir}'
unix_socket_permissions = 0700
port = {port}
max_connections = 100
shared_buffers = 512MB
effective_cache_size = 4GB
work_mem = 16MB
maintenance_work_mem = 256MB
random_page_cost = 1.1
jit = off
wal_level = minimal
max_wal_senders = 0
synchronous_commit = on
"""


class EmbeddedDatabaseError(RuntimeError):
    """The embedded cluster could not be made or started; the message says what to do."""


@dataclass(frozen=True)
class Cluster:
    """A cluster under `var_dir/name`: the app's own is `var/pg` on PORT; the loopback demo's primary and replica
    (cluster_demo/) are others, each with its own port and `settings` added to postgresql.conf."""
    var_dir: Path
    name: str = "pg"
    port: int = PORT
    settings: str = ""

    def __post_init__(self):
        object.__setattr__(self, "var_dir", Path(self.var_dir).resolve())  # the socket path must be absolute

    @property
    def root(self) -> Path:
        return self.var_dir / self.name

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "postgresql.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{DB_NAME}?host={self.socket_dir}&port={self.port}"

    def libpq_args(self) -> list[str]:
        return ["-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER]


def pg_bindir() -> Path:
    """The newest installed PostgreSQL server binaries (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise EmbeddedDatabaseError(
        "PostgreSQL server binaries (initdb, pg_ctl) are not installed. Run scripts/install-system-packages "
        "or: apt-get install postgresql-15 postgresql-15-postgis-3 postgresql-contrib"
    )


def _server_user() -> pwd.struct_passwd | None:
    """None when we may run the server ourselves; else the unprivileged account to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise EmbeddedDatabaseError("running as root and no 'postgres' or 'nobody' user exists to run PostgreSQL")


def _run(args: list[str], user: pwd.struct_passwd | None, **kw) -> subprocess.CompletedProcess:
    if user is not None:
        kw.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    return subprocess.run(args, capture_output=True, text=True, cwd="/", **kw)


@contextmanager
def _lock(cluster: Cluster):
    cluster.root.mkdir(parents=True, exist_ok=True)
    with open(cluster.root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _prepare_dirs(cluster: Cluster, user: pwd.struct_passwd | None) -> None:
    for d in (cluster.data_dir, cluster.socket_dir, cluster.log_file.parent):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o700)
        if user is not None:
            os.chown(d, user.pw_uid, user.pw_gid)
    if user is not None:
        probe = _run(["test", "-x", str(cluster.root)], user)
        if probe.returncode != 0:
            raise EmbeddedDatabaseError(
                f"the PostgreSQL server runs as '{user.pw_name}', who cannot enter {cluster.root}. "
                "Put the checkout where other users may traverse its parent directories, or set "
                "RESOURCEMAP_VAR_DIR to such a directory, or set RESOURCEMAP_DATABASE_URL."
            )


def _initdb(cluster: Cluster, user: pwd.struct_passwd | None) -> None:
    bindir = pg_bindir()
    result = _run([str(bindir / "initdb"), "-D", str(cluster.data_dir), "-U", SUPERUSER, "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"], user)
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"initdb failed:\n{result.stderr.strip()}")
    conf = cluster.data_dir / "postgresql.conf"
    with open(conf, "a") as fh:
        fh.write(SERVER_SETTINGS.format(socket_dir=cluster.socket_dir, port=cluster.port) + cluster.settings)


def is_running(cluster: Cluster) -> bool:
    if not (cluster.data_dir / "PG_VERSION").exists():
        return False
    result = _run([str(pg_bindir() / "pg_ctl"), "status", "-D", str(cluster.data_dir)], _server_user())
    return result.returncode == 0


def start(cluster: Cluster) -> None:
    """Make the cluster if it does not exist, start it if it is not running, and create the database."""
    with _lock(cluster):
        user = _server_user()
        _prepare_dirs(cluster, user)
        if not (cluster.data_dir / "PG_VERSION").exists():
            _initdb(cluster, user)
        if not is_running(cluster):
            result = _run([str(pg_bindir() / "pg_ctl"), "start", "-D", str(cluster.data_dir), "-w", "-t", "60",
                           "-l", str(cluster.log_file)], user)
            if result.returncode != 0:
                tail = cluster.log_file.read_text(errors="replace")[-2000:] if cluster.log_file.exists() else ""
                raise EmbeddedDatabaseError(f"pg_ctl start failed:\n{result.stderr.strip()}\n{tail}")
        _create_database(cluster)


def _create_database(cluster: Cluster) -> None:
    import psycopg

    for attempt in range(50):
        try:
            conn = psycopg.connect(host=str(cluster.socket_dir), port=cluster.port, user=SUPERUSER, dbname="postgres",
                                   autocommit=True)
            break
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.2)
    with conn:
        create_database(conn, DB_NAME)


def make_replica(primary: Cluster, replica: Cluster) -> None:
    """A streaming replica of the running `primary` in `replica`'s data directory (made afresh): pg_basebackup
    over the primary's private socket with `-R` (standby.signal and primary_conninfo), then the replica's own
    socket directory, port and settings after the primary's in postgresql.conf. Start it with start()."""
    with _lock(replica):
        user = _server_user()
        shutil.rmtree(replica.data_dir, ignore_errors=True)
        _prepare_dirs(replica, user)
        result = _run([str(pg_bindir() / "pg_basebackup"), "-D", str(replica.data_dir), *primary.libpq_args(),
                       "-R", "-X", "stream", "-c", "fast", "--no-password"], user)
        if result.returncode != 0:
            raise EmbeddedDatabaseError(f"pg_basebackup failed:\n{result.stderr.strip()}")
        with open(replica.data_dir / "postgresql.conf", "a") as fh:
            fh.write(f"\n# the replica's own\nunix_socket_directories = '{replica.socket_dir}'\n"
                     f"port = {replica.port}\n{replica.settings}")


def stop(cluster: Cluster) -> None:
    with _lock(cluster):
        if is_running(cluster):
            result = _run([str(pg_bindir() / "pg_ctl"), "stop", "-D", str(cluster.data_dir), "-m", "fast", "-w"],
                          _server_user())
            if result.returncode != 0:
                raise EmbeddedDatabaseError(f"pg_ctl stop failed:\n{result.stderr.strip()}")


def ensure_url(var_dir: str | Path) -> str:
    """The embedded cluster's SQLAlchemy URL, starting the cluster first when it is not running."""
    cluster = Cluster(Path(var_dir))
    if not is_running(cluster):
        start(cluster)
    return cluster.url
