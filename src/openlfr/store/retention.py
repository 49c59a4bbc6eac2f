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

The floor: an admin sets, in the store, the fewest days any alert data is kept (``set_floor``:
``lfr retention floor --days N``, or ``PUT /api/v1/retention/floor`` for the admin role). It is held
in the audit chain itself (the latest ``retention.floor_set`` entry), so it cannot be changed without
an audit entry, nor edited behind the program's back without breaking ``lfr audit verify``. A purge
whose periods are shorter than the floor, whoever runs it and whatever the environment says, is
refused (``RetentionFloorError``), and so is a deployment run with such settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, exists, func, select

from openlfr.config import RetentionConfig
from openlfr.errors import RetentionFloorError
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store, checkpoint
from openlfr.store.models import AlertRow, AuditEntry, LegalHold, Purge

MAX_FLOOR_DAYS = 36_500


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


class FloorRequest(BaseModel):
    """What an admin sends to set the floor (the CLI's ``--days`` and the API's body)."""

    model_config = ConfigDict(extra="forbid")
    days: int = Field(ge=0, le=MAX_FLOOR_DAYS, description="The fewest days any alert data is kept.")


class FloorView(BaseModel):
    """The floor now: ``days`` (None: never set), who set it and when."""

    days: int | None
    set_by: str | None = None
    set_at: datetime | None = None


def floor(store: Store) -> FloorView:
    """The floor the latest ``retention.floor_set`` audit entry holds (None when never set)."""
    with store.session() as s:
        entry = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == AuditAction.RETENTION_FLOOR_SET.value)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()
        if entry is None:
            return FloorView(days=None)
        return FloorView(days=int(json.loads(entry.details_json)["days"]), set_by=entry.actor, set_at=entry.at)


def set_floor(store: Store, request: FloorRequest, actor: str) -> FloorView:
    """Set the floor (audited, with the one it replaces)."""
    before = floor(store).days
    with store.session() as s:
        audit.record(s, actor, AuditAction.RETENTION_FLOOR_SET, details={"days": request.days, "before": before})
    return floor(store)


def check_floor(store: Store, config: RetentionConfig) -> None:
    """Refuse periods shorter than the floor, with one clear line."""
    days = floor(store).days
    if days is None:
        return
    for data_type, asked in (
        (DataType.ALERT_IMAGES, config.alert_images_days),
        (DataType.ALERT_DATA, config.alert_data_days),
    ):
        if asked < days:
            raise RetentionFloorError(
                f"retention of {data_type.value} set to {asked} day(s), below the floor of {days} day(s) an admin set "
                f"in the store; refused (store.retention.{data_type.value}_days must be at least {days})",
                floor_days=days,
                asked_days=asked,
                data_type=data_type.value,
            )


def purge(store: Store, now: datetime, actor: str, config: RetentionConfig) -> PurgeReport:
    """Delete the alert images and alert data whose retention has passed at ``now`` (aware, UTC),
    except what a legal hold keeps; record what was done. Periods below the floor are refused."""
    check_floor(store, config)
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
