"""What the store-backed commands share: the actor, an open store, times, JSON output.

A command acts as ``local:<os user>`` (``auth.principal.local_principal``, from the kernel's uid), and is
audited as such: no option or environment variable can name someone else. Acting as a named officer
is for the service (``lfr serve``), where the person has logged in."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from typing import Annotated

import typer
from pydantic import BaseModel

from openlfr.auth.principal import local_principal
from openlfr.cli.common import open_store
from openlfr.errors import ConfigError
from openlfr.store.db import Store

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def actor() -> str:
    """Who this command acts as, for the audit log: ``local:<os user>``."""
    return local_principal().actor


@contextmanager
def opened() -> Iterator[Store]:
    """The store of the settings, closed afterwards."""
    store = open_store()
    try:
        yield store
    finally:
        store.close()


def parse_time(text: str, what: str) -> datetime:
    """An ISO 8601 time; without an offset it is taken as this machine's local time."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{what} '{text}' is not an ISO 8601 time such as 2026-06-01T09:00+01:00") from exc
    return at if at.tzinfo is not None else at.astimezone()


def when(at: datetime | None) -> str:
    """A time for a table: UTC, to the minute."""
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M} UTC"


def jsonable(value: object) -> object:
    """Dataclasses, pydantic models, enums and times as plain JSON values (bytes as their length)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def print_json(value: object) -> None:
    typer.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))
