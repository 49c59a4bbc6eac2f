"""What the ``lfr eval`` sub-commands share on the command line: options, parsing them, and the terminal
as the evaluations' ``Display`` (tables, lines, progress bars). The measuring is in ``openlfr.eval``."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from openlfr.cli.common import console, progress
from openlfr.config import ScoringConfig, Settings
from openlfr.eval.prepared import scoring_config
from openlfr.eval.report import Report, Table
from openlfr.text import term

EPILOG = (
    "Examples:\n\n"
    "  lfr eval identify --cache /tmp/evalcache.sqlite -o out/identify\n\n"
    "  lfr eval demographics --watchlist-size 1680 -o out/demographics\n\n"
    "  lfr eval threshold --watchlist-size 1000 --faces-per-deployment 10000 --max-false-alerts 1"
)
Data = Annotated[
    str, typer.Option(help="Comma-separated sets: lfw, fairface, utkface, or manifest .csv paths (see datasets.py).")
]
Thresholds = Annotated[str, typer.Option(help="Comma-separated similarity thresholds to report at.")]
ExcludeFallbacks = Annotated[
    bool,
    typer.Option(
        "--exclude-fallbacks/--keep-fallbacks",
        help="Leave out images in which no face was detected (the cache embeds the central box of those): a "
        "deployment never searches a face it did not detect, and enrolment refuses one. --keep-fallbacks "
        "searches them too.",
    ),
]


class Terminal:
    """The terminal as an evaluation's ``Display``: tables and lines on stdout, progress bars on stderr."""

    def line(self, text: str) -> None:
        console.print(text)

    def table(self, title: str, table: Table, note: str = "") -> None:
        console.print(rich_table(table, title), *([note] if note else []))

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        with progress() as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)


TERMINAL = Terminal()


def command_line() -> str:
    """The command as the user typed it, for the report."""
    return shlex.join(["lfr", *sys.argv[1:]])


def wrote(report: Report, out: Path) -> None:
    """Write the report's JSON and HTML to ``out`` and say where."""
    json_path, html_path = report.write(out)
    console.print(f"wrote {term(json_path)} and {term(html_path)}")


def scoring_option(cfg: Settings, name: str, top_k: int | None, fair: int | None) -> ScoringConfig | None:
    """``--normalisation`` and its overrides as a scoring config (None for none), or a usage error."""
    try:
        return scoring_config(cfg, name, top_k, fair)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def floats(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"--{name} takes comma-separated numbers, got {text!r}") from exc


def ints(text: str, name: str) -> list[int]:
    return [int(x) for x in floats(text, name)]


def rich_table(table: Table, title: str) -> RichTable:
    shown = RichTable(title=title)
    for c in table.columns:
        shown.add_column(c, overflow="fold")
    for row in table.rows:
        shown.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    return shown
