"""The `resourcemap` command (Flask CLI): the embedded database, schema, gazetteer, demo data and serving."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import create_app
from .config import load_config
from .data.maintenance import active_admins, gazetteer_loaded
from .db_embedded import Cluster, EmbeddedDatabaseError, is_running, start, stop


@click.group(cls=FlaskGroup, create_app=lambda: create_app())
def main() -> None:
    """resourcemap: which help of this kind is nearest to this family."""


def register(app) -> None:
    """The commands that work on the app's database, on `app.cli` (so `flask` and test runners see them)."""
    from .auth.cli import tokens, users

    for command in (migrate, load_regions_command, import_gazetteer_command, demo_data, setup, users, tokens):
        app.cli.add_command(command)
    from .exchange.cli import export_command, import_command  # spreadsheet import and registry export (issue 7)

    for command in (import_command, export_command):
        app.cli.add_command(command)
    for command in (backup_command, restore_command):
        app.cli.add_command(command)
    from .coverage.cli import coverage_group  # coverage refresh | report | watch (issue 21)

    app.cli.add_command(coverage_group)


def _engine():
    return current_app.extensions["resourcemap.engine"]


# --- the embedded database -------------------------------------------------------------------------------
@main.group("db")
def db_group() -> None:
    """The private PostgreSQL + PostGIS cluster under var/ (used when RESOURCEMAP_DATABASE_URL is not set)."""


def _cluster() -> Cluster:
    return Cluster(Path(load_config()["VAR_DIR"]))


@db_group.command("start", with_appcontext=False)
def db_start() -> None:
    """Create (first time) and start the embedded cluster."""
    try:
        start(_cluster())
    except EmbeddedDatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"running: {_cluster().url}")


@db_group.command("stop", with_appcontext=False)
def db_stop() -> None:
    """Stop the embedded cluster."""
    stop(_cluster())
    click.echo("stopped")


@db_group.command("status", with_appcontext=False)
def db_status() -> None:
    """Say whether the embedded cluster runs (exit 3 when it does not)."""
    running = is_running(_cluster())
    click.echo(f"embedded cluster at {_cluster().data_dir}: {'running' if running else 'stopped'}")
    if load_config().get("DATABASE_URL"):
        click.echo("note: RESOURCEMAP_DATABASE_URL is set, so the app uses that server instead")
    sys.exit(0 if running else 3)


@db_group.command("url", with_appcontext=False)
def db_url() -> None:
    """Print the database URL the app uses."""
    click.echo(load_config().get("DATABASE_URL") or _cluster().url)


# --- schema and data -------------------------------------------------------------------------------------
@click.command("migrate")
@with_appcontext
def migrate() -> None:
    """Bring the schema to the newest migration."""
    from .schema import upgrade

    upgrade(_engine())
    click.echo("schema is up to date")


@click.command("load-regions")
@with_appcontext
@click.argument("codes", nargs=-1)
@click.option("--census/--no-census", default=True, show_default=True,
              help="Merge in the 2021 census' settlements when scripts/install has fetched them (var/cache/census/).")
def load_regions_command(codes: tuple[str, ...], census: bool) -> None:
    """Load regions, districts and settlements from data/regions/ (all, or the CODES given), and the 2021
    census' settlements of Russia."""
    from .gazetteer import census as census_table
    from .gazetteer.load import load_regions

    wheel = census_table.find_wheel(current_app.config["VAR_DIR"]) if census else None
    try:
        report = load_regions(_engine(), Path(current_app.config["REGIONS_DIR"]), list(codes) or None, wheel)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.lines():
        click.echo(line)
    if census and wheel is None:
        click.echo(census_table.HOW_TO_ADD)


@click.command("import-gazetteer")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["geonames", "csv"]), required=True)
@click.option("--region", "region", default=None, help="Only places inside this region (ISO 3166-2 code).")
def import_gazetteer_command(file: Path, fmt: str, region: str | None) -> None:
    """Add settlements from a fuller gazetteer (GeoNames country dump, or CSV of OSM place points)."""
    from .gazetteer.importer import GazetteerError, import_gazetteer

    try:
        report = import_gazetteer(_engine(), file, fmt, region)
    except GazetteerError as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.lines():
        click.echo(line)


@click.command("demo-data")
@with_appcontext
@click.option("--registry/--no-registry", default=True, help="Load the organizations named in the programme texts.")
@click.option("--synthetic", type=click.IntRange(0, 10_000_000), default=0,
              help="Also generate this many synthetic organizations (one location each).")
@click.option("--replace", is_flag=True, help="Delete earlier synthetic organizations first.")
@click.option("--seed", type=click.FloatRange(-1, 1), default=0.42)
@click.option("--region", "regions", multiple=True, help="Place synthetic organizations only in these regions.")
def demo_data(registry: bool, synthetic: int, replace: bool, seed: float, regions: tuple[str, ...]) -> None:
    """Load the demo registry and/or generate synthetic organizations at real settlements."""
    from .registry.demo import delete_synthetic, generate_synthetic, load_demo_registry

    engine = _engine()
    if registry:
        added, present = load_demo_registry(engine, Path(current_app.config["DEMO_REGISTRY"]))
        click.echo(f"demo registry: {added} added, {present} already there")
    if replace:
        click.echo(f"synthetic: {delete_synthetic(engine)} deleted")
    if synthetic:
        generate_synthetic(engine, synthetic, seed, list(regions) or None)
        click.echo(f"synthetic: {synthetic} generated")


def bootstrap(engine, settings: dict, echo=click.echo, census: bool = True) -> None:
    """First start: schema, regions (with the census' settlements when fetched, unless `census` is False) and the
    demo registry, each only when missing."""
    from .gazetteer import census as census_table
    from .gazetteer.load import load_regions
    from .registry.demo import load_demo_registry
    from .schema import upgrade

    upgrade(engine)
    with engine.connect() as conn:
        regions, census_rows = gazetteer_loaded(conn)
    wheel = census_table.find_wheel(settings["VAR_DIR"]) if census else None
    if not regions or (wheel and not census_rows):
        what = "the census' settlements" if regions else "regions, districts and settlements"
        echo(f"loading {what} (first start) ...")
        report = load_regions(engine, Path(settings["REGIONS_DIR"]), census=wheel)
        for line in report.lines():
            echo("  " + line)
    if wheel is None and census:
        echo(census_table.HOW_TO_ADD)
    added, _ = load_demo_registry(engine, Path(settings["DEMO_REGISTRY"]))
    if added:
        echo(f"demo registry: {added} organizations added")


@click.command("setup")
@with_appcontext
def setup() -> None:
    """Schema, regions and demo registry: whatever is missing."""
    bootstrap(_engine(), current_app.config)
    click.echo("ready")


# --- backups ---------------------------------------------------------------------------------------------
@click.command("backup")
@with_appcontext
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (pg_dump custom format); FILE.json beside it describes it.")
def backup_command(output: Path) -> None:
    """Back up the whole database (registry, history, accounts, gazetteer) to one file."""
    from .backup import BackupError, backup
    from .db import database_url

    try:
        meta = backup(database_url(current_app.config), output)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{k} {v}" for k, v in meta["counts"].items())
    click.echo(f"backup written: {output} ({meta['bytes']:,} bytes; schema {meta['revision']}, PostgreSQL "
               f"{meta['server_version'].split()[0]}, resourcemap {meta['app_version']}; {counts})")


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's contents.")
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database's contents with a backup made by `resourcemap backup`, in one transaction.
    Stop the app first."""
    from .backup import BackupError, check_restorable, head_revision, restore
    from .db import database_url

    url = database_url(current_app.config)
    try:
        info, target = check_restorable(file, url)
        counts = ", ".join(f"{k} {v}" for k, v in target["counts"].items()) or "empty"
        if not yes:
            click.confirm(f"Replace everything in database {target['database']} ({counts}) with {file} "
                          f"(schema {info.revision}, made {info.archive_created})?", abort=True)
        current_app.extensions["resourcemap.engine"].dispose()  # no pooled connection of ours holds a lock
        done = restore(file, url)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{k} {v}" for k, v in done["counts"].items())
    click.echo(f"restored {file} into {target['database']}: {counts}")
    if info.revision != head_revision():
        click.echo(f"the backup's schema ({info.revision}) is older than this version's ({head_revision()}): "
                   "run `resourcemap migrate` now")


@main.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Prepare the database (first start: schema, regions, demo data) and serve with gunicorn."""
    app = create_app()
    with app.app_context():
        bootstrap(app.extensions["resourcemap.engine"], app.config)
    click.echo(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)")
    with app.app_context():
        with app.extensions["resourcemap.engine"].connect() as conn:
            admins = active_admins(conn)
    if not admins:
        click.echo("no admin yet; create the first one with:\n"
                   "  .venv/bin/resourcemap users add you@example.org --role admin")
    start_coverage_watcher()
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers",
                               str(workers), "--threads", str(threads), "--access-logfile", "-",
                               "resourcemap.wsgi:app"])


@main.command("cluster", with_appcontext=False)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="The load balancer's port on 127.0.0.1.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the databases, logs and configuration go (default: var/cluster).")
@click.option("--census/--no-census", default=True, show_default=True,
              help="Load the census' settlements into the primary the first time (when fetched).")
@click.option("--coverage/--no-coverage", default=True, show_default=True,
              help="Keep the coverage figures fresh (`resourcemap coverage watch` on the primary).")
def cluster(port: int, directory: Path | None, census: bool, coverage: bool) -> None:
    """The loopback cluster demo (issue 23): a primary and a streaming replica (pg_basebackup), two gunicorn
    instances and HAProxy in front; prints where each listens, stops them all on Ctrl-C or SIGTERM."""
    from .loopback import running

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # the same orderly stop as Ctrl-C
    root = directory or Path(load_config()["VAR_DIR"]) / "cluster"
    try:
        with running(root, port=port, census=census, coverage=coverage, echo=click.echo) as demo:
            click.echo("\n".join(["", *demo.lines(), "", "Ctrl-C stops them all."]))
            while True:
                signal.pause()
    except KeyboardInterrupt:
        pass
    except (RuntimeError, EmbeddedDatabaseError) as error:
        raise click.ClickException(str(error)) from None
    click.echo("stopped")


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: stop when the server stops


def start_coverage_watcher() -> subprocess.Popen:
    """`resourcemap coverage watch` beside the web server (it becomes gunicorn by exec): the coverage figures are
    applied within moments of each commit, and computed in the background on the first start (issue 21)."""
    click.echo("coverage figures: kept fresh by `resourcemap coverage watch` (the first computation takes minutes)")
    return subprocess.Popen([sys.executable, "-m", "resourcemap.cli", "coverage", "watch"],
                            preexec_fn=_die_with_parent)


if __name__ == "__main__":
    main()
