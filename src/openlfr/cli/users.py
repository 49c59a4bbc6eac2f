"""``lfr users add|list|disable|enable|reset-password``: the service's users, managed on the server."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from openlfr.auth.roles import HUMAN_ROLES, Role
from openlfr.auth.users import Users, UserView, valid_username
from openlfr.cli.common import console, settings
from openlfr.cli.stored import JsonOption, actor, opened, print_json, when
from openlfr.errors import UserError
from openlfr.text import term

app = typer.Typer(
    help="The service's users (people who log in to lfr serve): add, list, disable, enable, reset a password.\n\n"
    "There is no default user: make the first admin with 'lfr users add NAME --role admin'. Every change is "
    "audited with local:<your OS user> as its actor.",
    no_args_is_help=True,
)
UserArg = Annotated[str, typer.Argument(help="The username (2-64 characters: a-z, 0-9, '.', '_', '-').")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (for scripts) instead of asking twice.",
    ),
]
_ROLES = ", ".join(r.value for r in Role if r in HUMAN_ROLES)


def _ex(*lines: str) -> str:
    return "Example:\n\n" + "\n\n".join(f"  {line}" for line in lines)


def _password(from_stdin: bool) -> str:
    """The new password: asked twice without echo, or the first line of standard input (never an argument,
    which other users of the machine could read in the process list)."""
    if not from_stdin:
        return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line.strip():
        raise UserError("--password-stdin: no password on the first line of standard input")
    return line.rstrip("\r\n")


@app.command(
    "add",
    epilog=_ex(
        "lfr users add alice --role admin            # the first admin: asks for the password twice",
        "printf '%s\\n' \"$PW\" | lfr users add op.smith --role operator --password-stdin",
    ),
)
def add_command(
    username: UserArg,
    role: Annotated[Role, typer.Option(help=f"One of {_ROLES} (device is for tokens only).")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user who can log in to the service with a password (at least api.min_password_length characters,
    not containing the username)."""
    valid_username(username)  # before asking for a password
    if role not in HUMAN_ROLES:
        raise UserError(f"a user cannot have the role '{role.value}'; one of: {_ROLES} (device is for tokens)")
    password = _password(password_stdin)
    with opened() as store:
        user = Users(store, settings().api).add(username, role, password, actor())
    console.print(f"added user [bold]{term(user.username)}[/] ({user.role.value})", highlight=False)


@app.command("list", epilog=_ex("lfr users list", "lfr users list --json"))
def list_command(as_json: JsonOption = False) -> None:
    """List the users: role, whether they can log in, when they last did."""
    with opened() as store:
        found = Users(store, settings().api).list_users()
    if as_json:
        print_json(found)
        return
    table = Table()
    for col in ("username", "role", "state", "created", "by", "last login"):
        table.add_column(col, overflow="fold")
    for u in found:
        table.add_row(
            term(u.username), u.role.value, _state(u), when(u.created_at), term(u.created_by), when(u.last_login_at)
        )
    console.print(table)
    console.print(f"{len(found)} user(s)")


def _state(user: UserView) -> str:
    if user.disabled:
        return "disabled"
    return f"locked until {when(user.locked_until)}" if user.locked_until is not None else "enabled"


@app.command("disable", epilog=_ex("lfr users disable op.smith"))
def disable_command(username: UserArg) -> None:
    """Disable a user: they cannot log in and their open sessions end. The last enabled admin cannot be
    disabled. Users are never deleted: the audit log names them."""
    with opened() as store:
        user = Users(store, settings().api).disable(username, actor())
    console.print(f"disabled {term(user.username)}; their sessions have ended", highlight=False)


@app.command("enable", epilog=_ex("lfr users enable op.smith"))
def enable_command(username: UserArg) -> None:
    """Let a disabled user log in again."""
    with opened() as store:
        user = Users(store, settings().api).enable(username, actor())
    console.print(f"enabled {term(user.username)}", highlight=False)


@app.command(
    "reset-password",
    epilog=_ex(
        "lfr users reset-password op.smith",
        "printf '%s\\n' \"$PW\" | lfr users reset-password op.smith --password-stdin",
    ),
)
def reset_password_command(username: UserArg, password_stdin: PasswordStdin = False) -> None:
    """Give a user a new password: it also unlocks the account and ends their open sessions."""
    with opened() as store:
        users = Users(store, settings().api)
        users.get(username)  # an unknown user is named before a password is asked for
        user = users.reset_password(username, _password(password_stdin), actor())
    console.print(f"new password set for {term(user.username)}; account unlocked, sessions ended", highlight=False)
