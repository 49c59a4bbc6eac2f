"""``lfr deployment run``: run a live deployment's cameras, every alert committed to the store first."""

from __future__ import annotations

from typing import Annotated

import typer

from openlfr.cli.common import console, settings, stop_on_signals
from openlfr.cli.stored import actor, opened
from openlfr.cli.watch import EXIT_UNDELIVERED
from openlfr.text import term

EPILOG = (
    "Example:\n\n  lfr deployment run 20261126-a1b2c3\n\n"
    "The deployment must be live ('lfr deployment start'). Alerts go to the store, then to the sinks of the\n"
    "settings (live.sinks). Stop with Ctrl-C; run it again after a crash: it carries on as a new run.\n"
    "The run is audited as local:<your OS user>."
)


def run_command(
    deployment_id: Annotated[str, typer.Argument(help="The live deployment to run.")],
) -> None:
    """Run a live deployment's cameras against its own watchlist until they end or Ctrl-C.

    Nothing about a face that raises no alert is written anywhere; each alert is committed to the
    store before any notification leaves; counts of frames, faces and tracks go to the deployment record."""
    from openlfr.deploy.live import run_deployment

    with opened() as store, stop_on_signals() as stop:
        summary = run_deployment(store, settings(), deployment_id, actor(), stop=stop)
    console.print(
        f"run {summary.run_id} of {term(deployment_id)}: {summary.frames} frames, {summary.faces_seen} faces, "
        f"{summary.tracks} tracks, {summary.faces_searched} searched, {summary.alerts} alerts"
        + (f", [bold red]{summary.alerts_not_stored} NOT STORED[/]" if summary.alerts_not_stored else "")
    )
    report = summary.delivery
    if report is not None:
        line = term(f"alerts: {report.describe()}")
        console.print(f"[bold red]{line}[/]" if report.undelivered else line)
    if summary.alerts_not_stored or (report is not None and report.undelivered):
        raise typer.Exit(EXIT_UNDELIVERED)
