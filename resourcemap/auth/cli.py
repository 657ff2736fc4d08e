"""`resourcemap users ...` and `resourcemap tokens ...`: accounts and API tokens from the command line.
Passwords are read from a prompt (or standard input when it is not a terminal), never from the arguments."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import get_session
from ..models import Account, ApiToken
from . import audit
from .accounts import AccountError, create_account, find_account, issue_token, revoke_token, rotate_session, set_role
from .policy import ROLES


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


def _account(email: str) -> Account:
    account = find_account(get_session(), email)
    if account is None:
        raise click.ClickException(f"no account for {email}")
    return account


@click.group("users")
def users() -> None:
    """Staff accounts: admin, curator (of regions), dispatcher."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--region", "regions", multiple=True, help="A region the curator keeps (ISO code); repeat for more.")
@with_appcontext
def users_add(email: str, role: str, regions: tuple[str, ...]) -> None:
    """Create an account; the password is asked for (or read from standard input)."""
    session = get_session()
    try:
        account = create_account(session, email, _read_password(), role, list(regions))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(session, "account_created", account=account, role=role, regions=list(regions))
    session.commit()
    click.echo(f"created {account.email} ({role})")


@users.command("list")
@with_appcontext
def users_list() -> None:
    for account in get_session().scalars(select(Account).order_by(Account.email)):
        regions = ",".join(r.region_code for r in account.regions)
        click.echo(f"{account.email}\t{account.role}\t{'active' if account.active else 'disabled'}\t{regions}")


@users.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--region", "regions", multiple=True, help="Replace the regions (curators).")
@with_appcontext
def users_set_role(email: str, role: str, regions: tuple[str, ...]) -> None:
    """Change an account's role (and regions); its sessions end."""
    session = get_session()
    account = _account(email)
    before = (account.role, [r.region_code for r in account.regions])
    try:
        set_role(session, account, role, list(regions) if regions else None)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(session, "role_changed", account=account, before={"role": before[0], "regions": before[1]},
                 after={"role": role, "regions": [r.region_code for r in account.regions]})
    session.commit()
    click.echo(f"{account.email}: {role}")


@users.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str) -> None:
    """Disable an account: it can no longer sign in, its sessions and tokens stop working."""
    session = get_session()
    account = _account(email)
    account.active = False
    rotate_session(account)
    audit.record(session, "account_disabled", account=account)
    session.commit()
    click.echo(f"{account.email}: disabled")


@click.group("tokens")
def tokens() -> None:
    """API tokens (sent as `Authorization: Bearer ...`), issued by an admin to an account."""


@tokens.command("issue")
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
@with_appcontext
def tokens_issue(email: str, name: str) -> None:
    """Issue a token; it is printed once and stored only as a hash."""
    session = get_session()
    account = _account(email)
    token, plain = issue_token(session, account, name)
    audit.record(session, "token_issued", account=account, token_id=token.id, name=name)
    session.commit()
    click.echo(f"token {token.id} for {account.email}:\n{plain}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    session = get_session()
    try:
        token = revoke_token(session, token_id)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(session, "token_revoked", account_id=token.account_id, token_id=token.id)
    session.commit()
    click.echo(f"token {token_id} revoked")


@tokens.command("list")
@with_appcontext
def tokens_list() -> None:
    rows = get_session().execute(select(ApiToken, Account.email).join(Account).order_by(ApiToken.id))
    for token, email in rows:
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        click.echo(f"{token.id}\t{email}\t{token.name}\t{state}")
