"""``lfr tokens create|list|revoke``: API tokens for machines (devices, scripts), managed on the server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.cli.common import console, err_console, settings
from openlfr.cli.stored import JsonOption, actor, opened, print_json, when
from openlfr.text import term

app = typer.Typer(
    help="API tokens for machines: create (the secret is shown once), list, revoke.\n\n"
    "A token has one role and an expiry; a device token is bound to one deployment. Every change is "
    "audited with local:<your OS user> as its actor.",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="The token's name (2-64 characters: a-z, 0-9, '.', '_', '-').")]


def _ex(*lines: str) -> str:
    return "Example:\n\n" + "\n\n".join(f"  {line}" for line in lines)


@app.command(
    "create",
    epilog=_ex(
        "lfr tokens create van-7 --role device --days 30 --deployment 20260601-a1b2c3",
        "SECRET=$(lfr tokens create records-export --role auditor --days 90)   # stdout is the secret alone",
    ),
)
def create_command(
    name: NameArg,
    role: Annotated[Role, typer.Option(help="What the token may do (device: submit to one deployment).")],
    days: Annotated[int, typer.Option(min=1, help="How long it lives (at most api.token_max_days).")],
    deployment: Annotated[
        str | None, typer.Option(help="The deployment a device token is bound to (device tokens only).")
    ] = None,
) -> None:
    """Create a token and print its secret, once: only its hash is stored, so it cannot be shown again.
    Clients send it as 'Authorization: Bearer <secret>'."""
    with opened() as store:
        token, secret = Tokens(store, settings().api).create(name, role, actor(), days=days, deployment_id=deployment)
    typer.echo(secret)
    bound = f", bound to deployment {token.deployment_id}" if token.deployment_id else ""
    err_console.print(
        f"created token [bold]{token.name}[/] ({token.role.value}{bound}), expires {when(token.expires_at)}.\n"
        "[bold yellow]The secret above is shown only now[/]: store it where the machine reads it; "
        f"if it is lost, revoke the token ('lfr tokens revoke {token.name}') and create another.",
        highlight=False,
    )


@app.command("list", epilog=_ex("lfr tokens list", "lfr tokens list --json"))
def list_command(as_json: JsonOption = False) -> None:
    """List the tokens (never their secrets): role, deployment, expiry, revocation, last use."""
    with opened() as store:
        found = Tokens(store, settings().api).list_tokens()
    if as_json:
        print_json(found)
        return
    table = Table()
    for col in ("name", "role", "deployment", "created", "by", "expires", "revoked", "last used"):
        table.add_column(col, overflow="fold")
    for t in found:
        table.add_row(
            term(t.name),
            t.role.value,
            term(t.deployment_id or "-"),
            when(t.created_at),
            term(t.created_by),
            when(t.expires_at),
            when(t.revoked_at),
            when(t.last_used_at),
        )
    console.print(table)
    console.print(f"{len(found)} token(s)")


@app.command("revoke", epilog=_ex("lfr tokens revoke van-7"))
def revoke_command(name: NameArg) -> None:
    """Revoke a token at once: every request with it is refused from now on. It stays listed, revoked."""
    with opened() as store:
        token = Tokens(store, settings().api).revoke(name, actor())
    console.print(f"revoked token {term(token.name)}", highlight=False)
