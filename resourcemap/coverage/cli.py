"""`resourcemap coverage refresh [--service KIND]... [--region CODE] [--full]` and
`resourcemap coverage report --service KIND [--region CODE] [--threshold KM]... [--public] [--json]`: the coverage
figures for scripts (issue 21); `resourcemap coverage watch` keeps them fresh after every commit."""
from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from . import DEFAULT_THRESHOLDS_KM, UNSERVED_KM, bring_up_to_date, figures, refresh, watch


def _engine():
    return current_app.extensions["resourcemap.engine"]


@click.group("coverage")
def coverage_group() -> None:
    """How far every settlement is from each kind of help, and where children live far from it."""


@coverage_group.command("refresh")
@with_appcontext
@click.option("--service", "services", multiple=True, help="Only this kind of help (code; repeatable).")
@click.option("--region", default=None, help="Only the settlements of this region (ISO 3166-2 code).")
@click.option("--full", is_flag=True, help="Compute in full, rather than apply the edits noted since the last time.")
@click.option("--workers", type=click.IntRange(1, 4), default=1, show_default=True,
              help="Kinds computed side by side (database connections) when computing in full.")
def refresh_command(services: tuple[str, ...], region: str | None, full: bool, workers: int) -> None:
    """Bring the distances up to date: apply the edits noted since the last refresh (kinds never computed, or
    changed wholesale, are computed in full), or with --full / --service / --region compute them again."""
    started = time.perf_counter()
    if full or services or region:
        measured = refresh(_engine(), list(services) or None, region.upper() if region else None, workers)
        for code, count in measured.items():
            click.echo(f"{code}: {count} settlements measured")
    else:
        drained = bring_up_to_date(_engine())
        click.echo(f"{drained['notes']} edits noted; computed in full: {', '.join(drained['full']) or 'none'}")
        for code, count in drained["measured"].items():
            click.echo(f"{code}: {count} settlements measured again")
    click.echo(f"done in {time.perf_counter() - started:.1f} s")


@coverage_group.command("watch")
@with_appcontext
@click.option("--idle", "idle_s", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Also apply what is waiting after this many seconds without a notification.")
def watch_command(idle_s: float) -> None:
    """Keep the figures fresh: apply the edits within a moment of each commit (run it beside `resourcemap serve`)."""
    watch(_engine(), idle_s=idle_s, echo=click.echo)


def _row(label: str, group: dict, thresholds: list[float]) -> str:
    beyond = "  ".join(f">{t:g} km: {group['beyond'][f'{t:g}']['settlements']} / "
                       f"{group['beyond'][f'{t:g}']['children']}" for t in thresholds)
    return (f"{label[:40]:40}  {group['settlements']:>7}  {group['children']:>9}  "
            f"{str(group['median_km']):>7}  {str(group['p90_km']):>7}  {beyond}")


def _echo_text(out) -> None:
    state = out.state
    click.echo(f"{out.service}: computed in full {state['refreshed_at'] or 'never'}, updated {state['updated_at']}, "
               f"{state['pending']} edits waiting")
    click.echo(f"{'':40}  {'places':>7}  {'children':>9}  {'median':>7}  {'p90':>7}  beyond: places / children")
    for group in out.country:
        click.echo(_row(group["country"], group, out.thresholds_km))
    for group in out.regions:
        click.echo(_row(f"{group['region_code']} {group['region_name']}", group, out.thresholds_km))
    for group in out.districts:
        click.echo(_row(f"  {group['district_name'] or '(no district)'}", group, out.thresholds_km))
    if out.unserved:
        click.echo(f"largest settlements with nothing within {UNSERVED_KM:g} km:")
        for row in out.unserved:
            click.echo(f"  {row['name']} ({row['region_code']}, {row['district'] or '-'}): "
                       f"{row['population'] or '?'} people, {row['children'] or '?'} children, "
                       f"{row['distance_km']} km")


@coverage_group.command("report")
@with_appcontext
@click.option("--service", required=True, help="The kind of help (code, e.g. early_help).")
@click.option("--region", default=None, help="This region and its districts (ISO 3166-2 code); else every one.")
@click.option("--threshold", "thresholds", type=click.FloatRange(min=0, min_open=True), multiple=True,
              help="A distance in km to count beyond (repeatable; default "
                   f"{', '.join(f'{t:g}' for t in DEFAULT_THRESHOLDS_KM)}).")
@click.option("--public", is_flag=True, help="Only what the public may see (aggregates, rounded distances).")
@click.option("--json", "as_json", is_flag=True, help="The figures as JSON.")
def report_command(service: str, region: str | None, thresholds: tuple[float, ...], public: bool,
                   as_json: bool) -> None:
    """The figures of one kind of help: the whole country, the region(s) and their districts — settlements, people
    and children beyond each threshold, the median and 90th-percentile distance per child, the worst served."""
    try:
        out = figures(_engine(), service, region.upper() if region else None,
                      thresholds or DEFAULT_THRESHOLDS_KM, public=public, fresh=True)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(out.as_dict(), ensure_ascii=False, default=str, indent=1))
    else:
        _echo_text(out)
