"""What the sub-commands share: the settings, the consoles, progress bars."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from openlfr.config import Settings, load_settings

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
