"""``lfr audit verify|head|list``: check and read the tamper-evident audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from openlfr.cli.common import console, err_console
from openlfr.cli.stored import opened
from openlfr.store import audit
from openlfr.store.audit import utc_text
from openlfr.store.models import AuditEntry
from openlfr.text import term

_SHOWN = 50
"""Findings printed; ``--json`` gives them all."""


def _verdict() -> audit.AuditVerdict:
    with opened() as store, store.session() as session:
        return audit.verify(session)


app = typer.Typer(help="Check and read the audit log (an append-only hash chain).", no_args_is_help=True)


@app.command("verify", epilog="Example:\n\n  lfr audit verify          # exit status 0: intact; 3: broken")
def verify_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Walk the whole chain and name the first entry that was edited, inserted or deleted; then check every
    row that decides something (deployments, watchlist entries, alerts, adjudications, users, tokens...)
    against its seal and the chain, and name each one edited, inserted or deleted behind the program's back.

    Exit status 0 when the chain and the state it covers are intact, 3 when either is broken."""
    verdict = _verdict()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": verdict.ok,
                    "entries": verdict.entries,
                    "head_seq": verdict.head_seq,
                    "head_hash": verdict.head_hash,
                    "first_broken": verdict.first_broken,
                    "problem": verdict.problem,
                    "findings": [
                        {"table": f.table, "row_id": f.row_id, "kind": f.kind.value} for f in verdict.findings
                    ],
                }
            )
        )
    elif verdict.ok:
        console.print(f"audit chain intact: {verdict.entries} entries, head {verdict.head_seq} {verdict.head_hash}")
    elif verdict.first_broken is not None:
        err_console.print(
            f"[bold red]audit chain BROKEN[/] at entry {verdict.first_broken}: {term(verdict.problem)}", highlight=False
        )
    else:
        err_console.print(
            f"[bold red]audit BROKEN[/]: {len(verdict.findings)} row(s) changed behind the program's back",
            highlight=False,
        )
        for finding in verdict.findings[:_SHOWN]:
            err_console.print(f"  {term(finding.says)}", highlight=False)
        if len(verdict.findings) > _SHOWN:
            err_console.print(f"  ... and {len(verdict.findings) - _SHOWN} more (--json lists them all)")
    if not verdict.ok:
        raise typer.Exit(3)


@app.command("head", epilog="Example:\n\n  lfr audit head >> published-heads.txt")
def head_command() -> None:
    """Print the chain's last entry number and hash: publish it elsewhere, and compare later."""
    verdict = _verdict()
    typer.echo(f"{verdict.head_seq} {verdict.head_hash}")


@app.command("list", epilog="Example:\n\n  lfr audit list --deployment stratford-2026-11-26 --last 50")
def list_command(
    deployment: Annotated[str | None, typer.Option(help="Only this deployment's entries.")] = None,
    last: Annotated[int, typer.Option(min=1, help="Show the last N entries.")] = 100,
) -> None:
    """Show audit entries, newest last."""
    with opened() as store, store.session() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(last)
        if deployment:
            query = query.where(AuditEntry.deployment_id == deployment)
        rows = list(reversed(session.scalars(query).all()))
    table = Table("seq", "at (UTC)", "actor", "action", "deployment", "target", "details")
    for row in rows:
        table.add_row(
            str(row.seq),
            utc_text(row.at)[:19],
            term(row.actor),
            term(row.action),
            term(row.deployment_id or ""),
            term(row.target or ""),
            term(row.details_json if row.details_json != "{}" else ""),
        )
    console.print(table)
