"""Times as the store keeps them: always written in UTC; SQLite gives them back without a zone."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive time (SQLite returns them) is UTC, since the store only writes UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def opt_utc(at: datetime | None) -> datetime | None:
    return None if at is None else as_utc(at)
