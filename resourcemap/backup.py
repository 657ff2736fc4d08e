"""Backups of the whole database (registry, history, accounts, gazetteer) and their restore.

A backup is a pg_dump archive in custom format, written under a temporary name and renamed when complete (a
crash never leaves a file that looks like a backup and is not), with a small JSON sidecar `FILE.json`: the app
version, the schema's Alembic revision, the PostgreSQL version, the time, row counts and the archive's SHA-256.
What the restore checks is read from the archive itself (its Alembic revision from the alembic_version data,
the server version from the archive's header), so an archive copied without its sidecar is still checked; the
sidecar, when present, must match the archive's checksum.

A restore replaces the configured database's schema `public` with the archive's, in one transaction
(`psql --single-transaction`): it works completely or changes nothing. It refuses an archive whose schema is
newer than this code (an unknown Alembic revision) or made by a PostgreSQL major version this installation cannot
restore (older than 15, newer than its pg_restore or than the server restored into).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from .data.maintenance import server_facts

OLDEST_SUPPORTED_MAJOR = 15  # README: PostgreSQL 15+ with PostGIS 3
COUNTED_TABLES = ("organization", "location", "service", "phone", "change", "account", "settlement")


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class ArchiveInfo:
    """What an archive holds, as read from the archive itself."""

    revision: str | None
    server_version: str  # "15.8 (Debian 15.8-0+deb12u1)"
    server_major: int
    archive_created: str


# --- the PostgreSQL client programs and how to reach the server ------------------------------------------
def client_program(name: str) -> str:
    """pg_dump / pg_restore / psql: the newest installed (the embedded cluster's binaries), else on PATH."""
    from .db_embedded import EmbeddedDatabaseError, pg_bindir

    try:
        path = pg_bindir() / name
        if path.exists():
            return str(path)
    except EmbeddedDatabaseError:
        pass
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return found


def _major(program: str) -> int:
    out = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\(PostgreSQL\)\s+(\d+)", out).group(1))  # "pg_dump (PostgreSQL) 15.8 (Debian ...)"


def libpq_target(database_url: str) -> tuple[str, dict]:
    """A libpq connection URI for the SQLAlchemy URL, and the environment carrying its password (never on a
    command line, where other users could read it)."""
    url = make_url(database_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _server_facts(database_url: str) -> dict:
    import psycopg

    uri, env = libpq_target(database_url)
    try:
        conn = psycopg.connect(uri, password=env.get("PGPASSWORD"), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to the database: {str(exc).splitlines()[0]}") from None
    with conn:
        return server_facts(conn, COUNTED_TABLES)


def _scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from .schema import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def known_revisions() -> set[str]:
    """Every Alembic revision of this code's migrations."""
    return {rev.revision for rev in _scripts().walk_revisions()}


def head_revision() -> str:
    """The newest revision of this code's migrations (comma-separated if there are several heads)."""
    return ",".join(sorted(_scripts().get_heads()))


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("resourcemap")
    except PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _run(args: list[str], env: dict, what: str, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, env=env, **kw)
    if result.returncode != 0:
        raise BackupError(f"{what} failed:\n{result.stderr.strip()[-3000:]}")
    return result


# --- backup ---------------------------------------------------------------------------------------------
def backup(database_url: str, out: Path) -> dict:
    """Dump the database to `out` (custom format) and its sidecar `out.json`; returns the sidecar's content."""
    out = Path(out).resolve()
    if out.is_dir():
        raise BackupError(f"{out} is a directory; give a file name, e.g. {out}/resourcemap-$(date +%F).dump")
    out.parent.mkdir(parents=True, exist_ok=True)
    pg_dump = client_program("pg_dump")
    facts = _server_facts(database_url)
    if _major(pg_dump) < facts["server_major"]:
        raise BackupError(f"pg_dump {_major(pg_dump)} cannot dump a PostgreSQL {facts['server_major']} server; "
                          f"install postgresql-client-{facts['server_major']}.")
    uri, env = libpq_target(database_url)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        _run([pg_dump, "--format=custom", "--compress=6", "--lock-wait-timeout=60s", "--no-password",
              f"--file={partial}", f"--dbname={uri}"], env, "pg_dump")
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        info = archive_info(partial)
        meta = {"app_version": app_version(), "revision": info.revision, "server_version": info.server_version,
                "database": facts["database"], "created_at": dt.datetime.now(dt.timezone.utc).isoformat(
                    timespec="seconds"), "counts": facts["counts"], "bytes": partial.stat().st_size,
                "sha256": _sha256(partial), "format": "pg_dump custom"}
        sidecar = out.with_name(out.name + ".json")
        sidecar_partial = sidecar.with_name(f".{sidecar.name}.partial-{os.getpid()}")
        sidecar_partial.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(partial, out)
        os.replace(sidecar_partial, sidecar)
        dir_fd = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the renames themselves survive a crash
        finally:
            os.close(dir_fd)
    finally:
        for leftover in out.parent.glob(f".{out.name}*.partial-{os.getpid()}"):
            leftover.unlink(missing_ok=True)
    return meta


# --- reading an archive ---------------------------------------------------------------------------------
def archive_info(path: Path) -> ArchiveInfo:
    """The archive's own facts: the PostgreSQL version it was dumped from and its Alembic revision."""
    pg_restore = client_program("pg_restore")
    env = {**os.environ}
    listing = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True, env=env)
    if listing.returncode != 0:
        raise BackupError(f"{path} is not a pg_dump archive this pg_restore can read:\n{listing.stderr.strip()}")
    server = re.search(r"^;\s+Dumped from database version:\s*(.+)$", listing.stdout, re.MULTILINE)
    created = re.search(r"^;\s+Archive created at\s*(.+)$", listing.stdout, re.MULTILINE)
    if not server:
        raise BackupError(f"{path}: the archive does not say which PostgreSQL it was dumped from")
    revision = None
    if re.search(r"TABLE DATA public alembic_version ", listing.stdout):
        data = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(path)], env,
                    "reading the archive's schema revision").stdout
        rows = re.search(r"^COPY public\.alembic_version .*? FROM stdin;\n(.*?)^\\\.$", data, re.MULTILINE | re.DOTALL)
        revision = ",".join(r for r in (rows.group(1).split() if rows else []) if r) or None
    version = server.group(1).strip()
    return ArchiveInfo(revision=revision, server_version=version, server_major=int(version.split(".")[0]),
                       archive_created=created.group(1).strip() if created else "")


def check_restorable(path: Path, database_url: str) -> tuple[ArchiveInfo, dict]:
    """The archive's facts and the target's, or BackupError saying why this archive may not be restored here."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no such file: {path}")
    sidecar = path.with_name(path.name + ".json")
    if sidecar.exists():
        meta = json.loads(sidecar.read_text("utf-8"))
        if meta.get("sha256") and meta["sha256"] != _sha256(path):
            raise BackupError(f"{path} does not match the checksum in {sidecar.name}: the copy is damaged "
                              "or not the file the sidecar describes.")
    info = archive_info(path)
    if info.revision is None:
        raise BackupError(f"{path} holds no resourcemap schema (no alembic_version data).")
    unknown = [r for r in info.revision.split(",") if r not in known_revisions()]
    if unknown:
        raise BackupError(f"{path} was made by a newer resourcemap (schema revision {info.revision}, unknown to "
                          "this version). Install the newer version to restore it.")
    restore_major = _major(client_program("pg_restore"))
    target = _server_facts(database_url)
    if info.server_major < OLDEST_SUPPORTED_MAJOR:
        raise BackupError(f"{path} was dumped from PostgreSQL {info.server_major}; resourcemap supports "
                          f"{OLDEST_SUPPORTED_MAJOR} and newer.")
    if info.server_major > restore_major or info.server_major > target["server_major"]:
        raise BackupError(f"{path} was dumped from PostgreSQL {info.server_major}; this pg_restore is "
                          f"{restore_major} and the server is {target['server_major']}. Restore it into a "
                          f"PostgreSQL {info.server_major} or newer.")
    return info, target


# --- restore --------------------------------------------------------------------------------------------
PREAMBLE = """
SET lock_timeout = '{lock_timeout_s}s';
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
"""


def restore(path: Path, database_url: str, lock_timeout_s: int = 15) -> dict:
    """Replace the database's schema `public` (tables, data, functions, extensions) with the archive's, in one
    transaction. Returns the archive's facts and the row counts after. The app should be stopped: a connection
    that holds a lock on a table makes the restore give up after `lock_timeout_s` (and change nothing)."""
    info, _ = check_restorable(path, database_url)
    pg_restore, psql = client_program("pg_restore"), client_program("psql")
    uri, env = libpq_target(database_url)
    # The archive as SQL (pg_restore), run by psql in ONE transaction after dropping what is there: all or nothing.
    producer = subprocess.Popen([pg_restore, "--no-owner", "--no-privileges", "--file=-", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    preamble = PREAMBLE.format(lock_timeout_s=int(lock_timeout_s))
    consumer = subprocess.run([psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
                               "--no-password", f"--dbname={uri}", "--command", preamble, "--file=-"],
                              stdin=producer.stdout, capture_output=True, text=True, env=env)
    producer.stdout.close()
    producer_err = producer.stderr.read().decode("utf-8", "replace")
    producer.wait()
    if consumer.returncode != 0:  # (pg_restore then fails too, on the closed pipe)
        raise BackupError(f"the restore failed and was rolled back; the database is as it was:\n"
                          f"{consumer.stderr.strip()[-3000:]}")
    if producer.returncode != 0:  # psql committed what it got: only possible if pg_restore's output was whole
        raise BackupError(f"pg_restore reported an error reading {path}:\n{producer_err.strip()[-2000:]}")
    return {"archive": asdict(info), "counts": _server_facts(database_url)["counts"]}
