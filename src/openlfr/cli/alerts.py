"""``lfr alerts list|show|adjudicate|hold|release``: review the alerts in the store, thin over
``openlfr.review``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openlfr.cli.common import console, settings
from openlfr.cli.stored import JsonOption, actor, opened, print_json, when
from openlfr.review.adjudication import DECISIONS, AlertState, AlertStatus, Stage
from openlfr.review.alerts import Alerts
from openlfr.text import term

app = typer.Typer(
    help="Review alerts: list, show (audited), adjudicate in two stages and an outcome, hold for a case.",
    no_args_is_help=True,
)
AlertArg = Annotated[str, typer.Argument(help="The alert's id ('lfr alerts list' shows them).")]
ID = "3f9c2a7e5b1d4c8e9a0b6d2f4e1c7a95"


def _ex(*lines: str) -> str:
    return "Example:\n\n" + "\n\n".join(f"  {line}" for line in lines)


def _state(state: AlertState) -> str:
    parts = [d.value for d in (state.operator, state.engagement, state.outcome) if d is not None]
    return " / ".join(parts) if parts else "-"


@app.command(
    "list",
    epilog=_ex("lfr alerts list --deployment 20260601-a1b2c3 --status unadjudicated", "lfr alerts list --json"),
)
def list_command(
    deployment: Annotated[str | None, typer.Option(help="Only this deployment's alerts.")] = None,
    status: Annotated[AlertStatus | None, typer.Option(help="Only alerts whose adjudication stands here.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List alerts, oldest first, with where their adjudication stands (no images: see 'show')."""
    with opened() as store:
        found = Alerts(store).list_alerts(deployment, status, limit)
    if as_json:
        print_json(found)
        return
    table = Table()
    for col in ("alert", "deployment", "raised", "camera", "subject", "score", "status", "decisions", "held"):
        table.add_column(col, overflow="fold")
    for a in found:
        subject = "(purged)" if a.data_purged_at else f"{a.subject_id} {a.display_name or ''}".strip()
        table.add_row(
            term(a.id),
            term(a.deployment_id),
            when(a.raised_at),
            term(a.camera_id),
            term(subject),
            f"{a.score:.3f}",
            a.state.status.value,
            _state(a.state),
            "yes" if a.held else "",
        )
    console.print(table)
    console.print(f"{len(found)} alert(s)")


@app.command("show", epilog=_ex(f"lfr alerts show {ID}", f"lfr alerts show {ID} --save-images ./case-17   # audited"))
def show_command(
    alert_id: AlertArg,
    save_images: Annotated[
        Path | None, typer.Option(help="Write the camera and watchlist faces here as JPEG (decrypted).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show an alert, its adjudication events and holds. Viewing is recorded in the audit log."""
    with opened() as store:
        detail = Alerts(store).show(alert_id, actor())
    if save_images is not None:
        save_images.mkdir(parents=True, exist_ok=True)
        for name, data in (("probe", detail.probe_jpeg), ("watchlist", detail.watchlist_jpeg)):
            if data is not None:
                (save_images / f"{alert_id}_{name}.jpg").write_bytes(data)
    if as_json:
        print_json(detail)
        return
    a = detail.summary
    images = "purged " + when(a.images_purged_at) if a.images_purged_at else f"{len(detail.probe_jpeg or b'')} bytes"
    console.print(
        f"[bold]alert {term(a.id)}[/] of {term(a.deployment_id)}, camera {term(a.camera_id)}, track {a.track_id}\n"
        f"raised {when(a.raised_at)}; subject {term(a.subject_id or '(purged)')} {term(a.display_name or '')} "
        f"({term(a.category)}); "
        f"score {a.score:.4f} (threshold {a.threshold:.4f})\n"
        f"status {a.state.status.value}: {_state(a.state)}; images {images}",
        highlight=False,
    )
    if detail.events:
        table = Table(title="adjudication events (a correction supersedes an earlier event)")
        for col in ("event", "stage", "decision", "by", "at", "supersedes", "note"):
            table.add_column(col, overflow="fold")
        for e in detail.events:
            table.add_row(
                str(e.id),
                e.stage.value,
                term(e.decision),
                term(e.actor),
                when(e.at),
                str(e.supersedes or ""),
                term(e.note),
            )
        console.print(table)
    for h in detail.holds:
        state = "active" if h.active else f"released {when(h.released_at)} by {term(h.released_by)}"
        console.print(
            f"legal hold: case {term(h.case_ref)}, placed {when(h.placed_at)} by {term(h.placed_by)}; {state}"
        )


_STAGES = "; ".join(f"{s.value}: {' | '.join(DECISIONS[s])}" for s in Stage)


@app.command(
    "adjudicate",
    epilog=_ex(
        f"lfr alerts adjudicate {ID} operator match",
        f"lfr alerts adjudicate {ID} engagement engaged_confirmed_true",
        f"lfr alerts adjudicate {ID} outcome arrest --note 'arrested on warrant W-123'",
        f"lfr alerts adjudicate {ID} operator no_match --supersedes 41 --note 'second look: different person'",
    ),
)
def adjudicate_command(
    alert_id: AlertArg,
    stage: Annotated[Stage, typer.Argument(help="operator, then engagement (after 'match'), then outcome.")],
    decision: Annotated[str, typer.Argument(help=_STAGES)],
    note: Annotated[str, typer.Option(help="Why (required for a correction).")] = "",
    supersedes: Annotated[int | None, typer.Option(help="The event this corrects (nothing is edited).")] = None,
) -> None:
    """Record one adjudication decision; a correction is a new event that supersedes an earlier one."""
    with opened() as store:
        separate = settings().review.separate_stages
        alerts = Alerts(store, separate_stages=separate)
        event = alerts.adjudicate(alert_id, stage, decision, actor(), note=note, supersedes=supersedes)
    fixed = f" (corrects event {event.supersedes})" if event.supersedes else ""
    console.print(f"alert {term(alert_id)}: event {event.id}, {event.stage.value} {term(event.decision)}{fixed}")


@app.command("hold", epilog=_ex(f"lfr alerts hold {ID} --case OP-HARBOUR/2026/17"))
def hold_command(
    alert_id: AlertArg,
    case: Annotated[str, typer.Option(help="The case reference the hold is for (required).")],
) -> None:
    """Place a legal hold: the alert's data is kept past its retention until the hold is released."""
    with opened() as store:
        hold = Alerts(store).place_hold(alert_id, case, actor())
    console.print(f"alert {term(alert_id)}: held for case {term(hold.case_ref)}")


@app.command("release", epilog=_ex(f"lfr alerts release {ID} --case OP-HARBOUR/2026/17"))
def release_command(
    alert_id: AlertArg,
    case: Annotated[str, typer.Option(help="The case reference of the hold to release.")],
) -> None:
    """Release a legal hold; the next purge deletes what has passed its retention."""
    with opened() as store:
        hold = Alerts(store).release_hold(alert_id, case, actor())
    console.print(f"alert {term(alert_id)}: hold for case {term(hold.case_ref)} released")
