"""``lfr users`` and ``lfr tokens`` as an administrator runs them on the server, and the end of ``--as``:
every command acts as ``local:<os user>``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from identities import PASSWORD
from openlfr.auth.principal import local_principal
from openlfr.auth.tokens import Tokens
from openlfr.auth.users import Users
from openlfr.cli import common
from openlfr.cli.main import app
from openlfr.config import ApiConfig, StoreConfig
from openlfr.store.audit import verify
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry


def lfr(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openlfr", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        env={**os.environ, "COLUMNS": "200", "LFR_ACTOR": "mallory", **env},  # LFR_ACTOR is ignored now
    )


def store_env(config: StoreConfig) -> dict[str, str]:
    assert config.key is not None
    env = {"LFR_STORE__DATA_DIR": str(config.data_dir), "LFR_STORE__KEY": config.key.get_secret_value()}
    if config.url:
        env["LFR_STORE__URL"] = config.url
    return env


@pytest.mark.parametrize(
    "command",
    [["users", sub] for sub in ("add", "list", "disable", "enable", "reset-password")]
    + [["tokens", sub] for sub in ("create", "list", "revoke")],
)
def test_every_identity_command_has_help_with_an_example(command: list[str]) -> None:
    out = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "Example" in out.output


CREATE = ["deployment", "create", "--name", "x", "--location", "x", "--purpose", "x", "--legal-basis", "x"]
CREATE += ["--start", "2026-06-01T09:00", "--end", "2026-06-01T17:00"]


@pytest.mark.parametrize(
    "args",
    [
        [*CREATE, "--as", "supt.jones"],
        ["deployment", "authorise", "20260601-a1b2c3", "--as", "supt.jones"],
        ["alerts", "adjudicate", "a1", "operator", "match", "--as", "op.smith"],
        ["retention", "purge", "--as", "x"],
        ["deployment", "run", "20260601-a1b2c3", "--as", "x"],
    ],
)
def test_no_command_takes_as(args: list[str]) -> None:
    out = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert out.exit_code == 2, out.output  # a usage error: the option does not exist
    assert "No such option: --as" in out.output


def test_users_and_tokens_from_the_command_line(store_config: StoreConfig) -> None:
    env = store_env(store_config)
    me = local_principal().actor
    added = lfr("users", "add", " Alice", "--role", "admin", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    weak = lfr("users", "add", "bob", "--role", "operator", "--password-stdin", env=env, stdin="bob\n")
    assert (weak.returncode, weak.stderr.splitlines()[-1]) == (1, "error: weak password: the password is 3 "
        "characters; it must be at least 12; the password uses fewer than 5 different characters; the password "
        "is or contains the username")  # fmt: skip
    device = lfr("users", "add", "bob", "--role", "device", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    assert device.returncode == 1 and "cannot have the role 'device'" in device.stderr
    listed = json.loads(lfr("users", "list", "--json", env=env).stdout)
    assert [(u["username"], u["role"], u["disabled"], u["created_by"]) for u in listed] == [
        ("alice", "admin", False, me)
    ]
    refused = lfr("users", "disable", "alice", env=env)
    assert refused.returncode == 1 and "last enabled admin" in refused.stderr

    created = lfr("tokens", "create", "records", "--role", "auditor", "--days", "30", env=env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()  # stdout is the secret alone
    assert secret.startswith("lfr_") and "shown only now" in created.stderr
    assert secret not in lfr("tokens", "list", "--json", env=env).stdout
    too_long = lfr("tokens", "create", "long", "--role", "auditor", "--days", "9999", env=env)
    assert too_long.returncode == 1 and "1 to 365 days" in too_long.stderr

    store = Store.open(store_config)
    try:
        Users(store, ApiConfig()).authenticate("alice", PASSWORD, "test")
        assert Tokens(store, ApiConfig()).authenticate(secret).actor == "token:records"
        assert lfr("tokens", "revoke", "records", env=env).returncode == 0
        with store.session() as s:
            assert verify(s).ok
            entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    finally:
        store.close()
    actors = {(e.action, e.actor) for e in entries if e.action in ("user.added", "token.created", "token.revoked")}
    assert actors == {("user.added", me), ("token.created", me), ("token.revoked", me)}
    assert not any(secret in e.details_json or PASSWORD in e.details_json for e in entries)


def test_a_password_is_asked_twice_without_echo(
    store_config: StoreConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(common.STATE, "loaded", None)  # read the settings from this test's environment
    for name, value in store_env(store_config).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    mismatch = f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n"
    out = runner.invoke(app, ["users", "add", "carol", "--role", "supervisor"], input=mismatch)
    assert out.exit_code == 0, out.output
    assert "do not match" in out.output and PASSWORD not in out.output
    monkeypatch.setattr(common.STATE, "loaded", None)
    again = "a new long passphrase\na new long passphrase\n"
    assert runner.invoke(app, ["users", "reset-password", "carol"], input=again).exit_code == 0
    monkeypatch.setattr(common.STATE, "loaded", None)
    unknown = runner.invoke(app, ["users", "reset-password", "nobody"], input=again)
    assert unknown.exit_code == 1 and isinstance(unknown.exception, Exception)
    store = Store.open(store_config)
    try:
        assert Users(store, ApiConfig()).authenticate("carol", "a new long passphrase", "test").username == "carol"
    finally:
        store.close()
