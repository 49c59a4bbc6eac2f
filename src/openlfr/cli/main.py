"""The ``lfr`` command: a table of contents of the sub-commands, and one place that turns errors
into one clear line (``--verbose`` shows the trace)."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from openlfr.cli import (
    alerts,
    audit,
    cohort,
    common,
    demo,
    deployment,
    edge,
    enrol,
    eval,
    footage,
    gallery,
    models,
    retention,
    search,
    serve,
    store,
    tokens,
    users,
    watch,
    watchlist,
)
from openlfr.errors import OpenLFRError
from openlfr.text import term

app = typer.Typer(
    name="lfr",
    help="openlfr: live facial recognition with its safeguards in code.\n\n"
    "Start with 'lfr demo', then 'lfr enrol', 'lfr watch', 'lfr search' and 'lfr models'. "
    "Every command has --help with an example.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file (unknown keys are refused).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the full trace of an error.")] = False,
) -> None:
    common.STATE.verbose = verbose
    common.STATE.config_path = config
    common.settings()  # a bad config file is refused before any command runs


app.command("enrol", epilog=enrol.EPILOG)(enrol.enrol_command)
app.add_typer(watchlist.app, name="watchlist")
app.add_typer(cohort.app, name="cohort")
app.add_typer(eval.app, name="eval")
app.command("search", epilog=search.EPILOG)(search.search_command)
app.command("watch", epilog=watch.EPILOG)(watch.watch_command)
app.command("models", epilog=models.EPILOG)(models.models_command)
app.command("demo", epilog=demo.EPILOG)(demo.demo_command)
app.command("serve", epilog=serve.EPILOG)(serve.serve_command)
app.command("edge", epilog=edge.EPILOG)(edge.edge_command)
app.add_typer(audit.app, name="audit")
app.add_typer(store.app, name="store")
app.add_typer(deployment.app, name="deployment")
app.add_typer(alerts.app, name="alerts")
app.add_typer(retention.app, name="retention")
app.add_typer(users.app, name="users")
app.add_typer(tokens.app, name="tokens")
app.add_typer(gallery.app, name="gallery")
app.add_typer(footage.app, name="footage")
app.command("search-video")(footage.search_video_command)


def run() -> None:
    """Entry point of the ``lfr`` script."""
    try:
        app()
    except OpenLFRError as exc:
        if common.STATE.verbose:
            traceback.print_exc()
        common.err_console.print(f"[bold red]error:[/] {term(exc, lines=True)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        common.err_console.print("interrupted")
        sys.exit(130)
