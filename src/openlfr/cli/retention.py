"""``lfr retention purge``: delete alert data whose retention has passed (legal holds excepted)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from openlfr.cli.common import console, settings
from openlfr.cli.stored import JsonOption, actor, opened, print_json, when
from openlfr.store.retention import purge

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
