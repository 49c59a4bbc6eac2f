"""Test helpers for identity: a clock the test moves, and a password the policy accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PASSWORD = "correct horse battery"


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
