"""``lfr retention purge``: delete alert data whose retention has passed (legal holds excepted);
``lfr retention floor``: the fewest days any alert data is kept, set in the store by its admin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from openlfr.cli.common import console, settings
from openlfr.cli.stored import JsonOption, actor, opened, print_json, when
from openlfr.store.retention import MAX_FLOOR_DAYS, FloorRequest, floor, purge, set_floor
from openlfr.text import term

app = typer.Typer(help="Retention of alert data: purge what has passed its time.", no_args_is_help=True)


@app.command(
    "purge",
    epilog="Example:\n\n  lfr retention purge\n\n"
    "  LFR_STORE__RETENTION__ALERT_IMAGES_DAYS=7 lfr retention purge --json\n\n"
    "Periods come from \\[store.retention] (alert_images_days, alert_data_days; 31 by default).",
)
def purge_command(as_json: JsonOption = False) -> None:
    """Delete alert images and alert personal data older than their retention periods, except alerts
    under a legal hold; record what was deleted. The alerts' counts and adjudications stay. Running it
    again deletes nothing more."""
    config = settings().store.retention
    with opened() as store:
        report = purge(store, datetime.now(UTC), actor(), config)
    if as_json:
        print_json(report)
        return
    table = Table()
    for col in ("data", "raised before", "deleted", "kept: legal hold"):
        table.add_column(col)
    for c in report.counts:
        table.add_row(c.data_type.value, when(c.cutoff), str(c.deleted), str(c.held))
    console.print(table)


@app.command(
    "floor",
    epilog="Example:\n\n  lfr retention floor --days 31\n\n  lfr retention floor   (shows it)\n\n"
    "Whoever holds the store's key is its admin on the command line; the service's admin role sets it with "
    "POST /api/v1/retention/floor.",
)
def floor_command(
    days: Annotated[
        int | None, typer.Option(min=0, max=MAX_FLOOR_DAYS, help="Set the floor to this many days (audited).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show or set the retention floor: a purge, or a deployment run, whose periods
    (store.retention.*_days) are shorter is refused, whoever runs it and whatever the environment says."""
    with opened() as store:
        view = floor(store) if days is None else set_floor(store, FloorRequest(days=days), actor())
    if as_json:
        print_json(view)
    elif view.days is None:
        console.print("no retention floor set (lfr retention floor --days N sets one)")
    else:
        console.print(f"retention floor: {view.days} day(s), set by {term(view.set_by or '')} at {when(view.set_at)}")
