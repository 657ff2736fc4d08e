"""`resourcemap import FILE --region CODE [--dry-run] [--as EMAIL]` and
`resourcemap export --region CODE | --all --format csv|geojson|hsds-json|hsds-csv -o PATH`: the same import and
export as the /curate pages, from the command line. Without --as the command acts as an administrator (history:
no account); with --as it acts with that account's rights."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..auth.policy import Forbidden, Viewer
from ..db import get_session

MAX_REPORT_LINES = 2000


def _actor(email: str | None) -> Viewer:
    if not email:
        return Viewer(role="admin")
    from ..auth.accounts import find_account
    from ..auth.policy import viewer_of

    account = find_account(get_session(), email)
    if account is None or not account.active:
        raise click.ClickException(f"no active account for {email}")
    return viewer_of(account)


@click.command("import")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--region", "region", required=True, help="The region the file is for (ISO 3166-2 code, e.g. RU-MOS).")
@click.option("--dry-run", is_flag=True, help="Only report what each row would do; write nothing.")
@click.option("--as", "as_email", default=None, help="Act as this staff account (its rights, its name in the history).")
def import_command(file: Path, region: str, dry_run: bool, as_email: str | None) -> None:
    """Import a spreadsheet (CSV, XLSX or GeoJSON; docs/import-format.md) into a region's registry: all rows or
    none. Prints what each row does and every problem; exits 1 when the file is rejected."""
    from . import ImportFileError, ImportRejected, apply_import, plan_import, read_table

    session = get_session()
    actor = _actor(as_email)
    try:
        table = read_table(file.name, file.read_bytes())
        if dry_run:
            plan = plan_import(session, table, region.upper(), actor)
            session.rollback()
        else:
            plan = apply_import(session, table, region.upper(), actor)
            session.commit()
    except ImportFileError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    except Forbidden as exc:
        session.rollback()
        raise click.ClickException(exc.message) from None
    except ImportRejected as exc:
        session.rollback()
        _echo_report(exc.plan)
        click.echo(f"rejected: {len(exc.plan.errors)} problem(s); nothing was written", err=True)
        sys.exit(1)
    _echo_report(plan)
    if dry_run:
        click.echo("dry run: nothing was written" + ("" if plan.ok else f"; {len(plan.errors)} problem(s) would "
                                                                       f"stop the import"))
        if not plan.ok:
            sys.exit(1)
    else:
        click.echo(f"imported: change set {plan.change_set}" if plan.change_set else "nothing to change")


def _echo_report(plan) -> None:
    lines = plan.report()
    for line in lines[:MAX_REPORT_LINES]:
        click.echo(line)
    if len(lines) > MAX_REPORT_LINES:
        click.echo(f"... {len(lines) - MAX_REPORT_LINES} more lines")


@click.command("export")
@with_appcontext
@click.option("--region", "regions", multiple=True, help="A region to export (ISO code); repeat for more.")
@click.option("--all", "everything", is_flag=True, help="Every region (administrators).")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson", "hsds-json", "hsds-csv", "hsds"]),
              default="csv", show_default=True, help="hsds is hsds-json.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write ('-' for standard output).")
@click.option("--as", "as_email", default=None, help="Export with this staff account's rights.")
def export_command(regions: tuple[str, ...], everything: bool, fmt: str, output: Path, as_email: str | None) -> None:
    """Export the registry of a region (or all) as CSV, GeoJSON or Open Referral HSDS 3.0."""
    from . import ExportError, export_region

    if bool(regions) == everything:
        raise click.UsageError("give --region CODE (one or more) or --all")
    session = get_session()
    try:
        data, _mimetype, _name = export_region(session, None if everything else [r.upper() for r in regions],
                                               "hsds-json" if fmt == "hsds" else fmt, _actor(as_email))
    except (ExportError, Forbidden) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        session.rollback()
    if str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        click.echo(f"written: {output} ({len(data):,} bytes)", err=True)
