"""What the sub-commands share: the settings, the consoles, progress bars."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from openlfr.config import Settings, load_settings
from openlfr.match.signing import FileSigning

if TYPE_CHECKING:
    from openlfr.store.db import Store

# emoji off: ':name:' in a user's text is text (markup in it is escaped by openlfr.text.term)
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


@dataclass
class State:
    config_path: Path | None = None
    verbose: bool = False
    loaded: Settings | None = None


STATE = State()


def settings() -> Settings:
    """The settings from ``--config`` and the environment, read once."""
    if STATE.loaded is None:
        STATE.loaded = load_settings(STATE.config_path)
    return STATE.loaded


TrustUnsigned = Annotated[
    bool,
    typer.Option(
        "--trust-unsigned",
        help="Read watchlist and cohort files whose signature is missing, altered or made with another key "
        "(each one logged as a warning); only for a file you have checked.",
    ),
]


def file_signing(trust_unsigned: bool = False) -> FileSigning:
    """How this command signs the files it writes and checks those it reads: the settings' key, and
    trusting files that fail the check where ``--trust-unsigned`` (or ``signing.trust_unsigned``) says so."""
    signing = FileSigning.from_settings(settings())
    if trust_unsigned and not signing.trust_unsigned:
        signing = FileSigning(signing.key, trust_unsigned=True)
    if signing.trust_unsigned:
        err_console.print(
            "[bold yellow]TRUSTING UNSIGNED FILES:[/] watchlist and cohort files that fail their signature check "
            "are read anyway (each one is logged)",
            highlight=False,
        )
    return signing


def with_trust(cfg: Settings, trust_unsigned: bool) -> Settings:
    """``cfg`` with ``signing.trust_unsigned`` set where ``--trust-unsigned`` was given (for a live run,
    which reads its watchlist itself)."""
    if not trust_unsigned:
        return cfg
    file_signing(True)  # says so, loudly
    return cfg.model_copy(update={"signing": cfg.signing.model_copy(update={"trust_unsigned": True})})


def progress() -> Progress:
    """A progress bar on stderr (so that stdout stays clean for JSON), cleared when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT (Ctrl-C) or SIGTERM (a service manager's stop), so that a live run stops
    as it would at the end of its streams: the cameras and the embedding worker process stopped, the sinks
    flushed, the run's counts written. Without it SIGTERM would end the process at once and leave the
    embedding worker running. The previous handlers are restored on exit."""
    stop = threading.Event()

    def _set(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _set) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def open_store() -> Store:
    """The store the settings name (``store.url`` or SQLite in ``store.data_dir``), opened with its key."""
    from openlfr.store.db import Store

    return Store.open(settings().store)
