"""Retention: alert data is deleted when its time has passed, unless a legal hold names it.

Two data types, each with its own period (``store.retention``):

- ``alert_images``: the camera face and the watchlist face of an alert (``alert_images_days``);
- ``alert_data``: who an alert named and its details (subject id, display name, box and times)
  (``alert_data_days``).

A purge clears what is older than its period, except alerts under an active legal hold, and records
a ``Purge`` row per data type (how many deleted, how many held) and an audit entry. The alert rows,
their adjudications and so every count in the deployment records survive. What a purge cleared is
marked, so a second purge deletes nothing more. On SQLite the write-ahead log is then truncated so
that the cleared bytes do not linger there (``secure_delete`` overwrites them in the file itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, func, select

from openlfr.config import RetentionConfig
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store, checkpoint
from openlfr.store.models import AlertRow, LegalHold, Purge


class DataType(StrEnum):
    ALERT_IMAGES = "alert_images"
    ALERT_DATA = "alert_data"


@dataclass(frozen=True, slots=True)
class PurgeCount:
    """One data type's purge: everything raised before ``cutoff`` is deleted, or counted as held."""

    data_type: DataType
    cutoff: datetime
    deleted: int
    held: int


@dataclass(frozen=True, slots=True)
class PurgeReport:
    at: datetime
    counts: tuple[PurgeCount, ...]

    @property
    def deleted(self) -> int:
        return sum(c.deleted for c in self.counts)


def _held() -> ColumnElement[bool]:
    return exists().where(LegalHold.alert_id == AlertRow.id, LegalHold.released_at.is_(None))


def purge(store: Store, now: datetime, actor: str, config: RetentionConfig) -> PurgeReport:
    """Delete the alert images and alert data whose retention has passed at ``now`` (aware, UTC),
    except what a legal hold keeps; record what was done."""
    image_cutoff = now - timedelta(days=config.alert_images_days)
    data_cutoff = now - timedelta(days=config.alert_data_days)
    with store.session() as s:
        due_images = and_(AlertRow.raised_at < image_cutoff, AlertRow.images_purged_at.is_(None))
        due_data = and_(AlertRow.raised_at < data_cutoff, AlertRow.data_purged_at.is_(None))
        held_images = s.scalar(select(func.count()).select_from(AlertRow).where(due_images, _held())) or 0
        held_data = s.scalar(select(func.count()).select_from(AlertRow).where(due_data, _held())) or 0
        # row by row, through the ORM, so that each changed alert is resealed (store/seal.py)
        images = s.scalars(select(AlertRow).where(due_images, ~_held())).all()
        for alert in images:
            alert.probe_jpeg_enc = alert.watchlist_jpeg_enc = None
            alert.images_purged_at = now
        s.flush()
        data = s.scalars(select(AlertRow).where(due_data, ~_held())).all()
        for alert in data:
            alert.subject_id = alert.display_name = None
            alert.details_json = "{}"
            alert.data_purged_at = now
        counts = (
            PurgeCount(DataType.ALERT_IMAGES, image_cutoff, len(images), held_images),
            PurgeCount(DataType.ALERT_DATA, data_cutoff, len(data), held_data),
        )
        for c in counts:
            s.add(
                Purge(at=now, actor=actor, data_type=c.data_type.value, cutoff=c.cutoff, deleted=c.deleted, held=c.held)
            )
        audit.record(
            s,
            actor,
            AuditAction.PURGE,
            details={
                f"{c.data_type.value}_{k}": v for c in counts for k, v in (("deleted", c.deleted), ("held", c.held))
            },
            at=now,
        )
    checkpoint(store)
    return PurgeReport(now, counts)
