"""The live alert stream: Server-Sent Events per deployment, resumable with ``Last-Event-ID``.

An event's id is the sequence number of the alert's ``alert.raised`` entry in the audit chain, so ids
grow with every alert the store commits, whichever process raised it, and survive a server restart.
One background task follows the chain (woken at once when this process stores an alert, and
polling otherwise, for alerts stored by another process such as ``lfr deployment run``) and hands
each new alert to the subscribers of its deployment. A client that reconnects with
``Last-Event-ID: N`` first gets every alert of the deployment after N from the store, then the live
ones, so a dropped connection misses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select

from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import AlertRow, AuditEntry
from openlfr.store.times import as_utc

log = logging.getLogger("openlfr.api.feed")

POLL_S = 0.5
"""How often the chain is read when no alert of this process woke the feed."""
QUEUE_EVENTS = 1000
"""Events one slow subscriber may have waiting; past that it is disconnected (it resumes by id)."""


class AlertEvent(BaseModel):
    """One alert as the operator's screen receives it (the images are fetched by URL)."""

    seq: int
    alert_id: str
    deployment_id: str
    camera_id: str
    subject_id: str | None
    display_name: str | None
    category: str
    score: float
    threshold: float
    raised_at: datetime
    frame_captured: str | None
    latency_s: float | None
    uncalibrated: bool
    probe_url: str
    watchlist_url: str


def _events(store: Store, deployment_id: str | None, after: int, limit: int = 500) -> list[AlertEvent]:
    """Alerts raised after chain position ``after`` (of one deployment, or all), oldest first."""
    with store.session() as s:
        query = (
            select(AuditEntry.seq, AlertRow)
            .join(AlertRow, AlertRow.id == AuditEntry.target)
            .where(AuditEntry.action == AuditAction.ALERT_RAISED.value, AuditEntry.seq > after)
            .order_by(AuditEntry.seq)
            .limit(limit)
        )
        if deployment_id is not None:
            query = query.where(AuditEntry.deployment_id == deployment_id)
        return [_event(seq, row) for seq, row in s.execute(query).all()]


def _event(seq: int, row: AlertRow) -> AlertEvent:
    details = json.loads(row.details_json)
    latency = details.get("latency_s")
    return AlertEvent(
        seq=seq,
        alert_id=row.id,
        deployment_id=row.deployment_id,
        camera_id=row.camera_id,
        subject_id=row.subject_id,
        display_name=row.display_name,
        category=row.category,
        score=row.score,
        threshold=row.threshold,
        raised_at=as_utc(row.raised_at),
        frame_captured=details.get("frame_captured"),
        latency_s=float(latency) if isinstance(latency, int | float) else None,
        uncalibrated=bool(details.get("uncalibrated", False)),
        probe_url=f"/api/v1/alerts/{row.id}/probe.jpg",
        watchlist_url=f"/api/v1/alerts/{row.id}/watchlist.jpg",
    )


def _head(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.coalesce(func.max(AuditEntry.seq), 0))) or 0)


def format_event(event: AlertEvent) -> str:
    """One SSE message: ``id``, ``event: alert`` and the JSON on one ``data`` line."""
    return f"id: {event.seq}\nevent: alert\ndata: {event.model_dump_json()}\n\n"


@dataclass(slots=True)
class _Subscriber:
    deployment_id: str
    queue: asyncio.Queue[AlertEvent | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_EVENTS))
    dropped: bool = False


class AlertFeed:
    """Follows the chain for new alerts and fans them out to the subscribers of each deployment."""

    def __init__(self, store: Store, keepalive_s: float = 15.0) -> None:
        self.store = store
        self.keepalive_s = keepalive_s
        self._subscribers: dict[int, _Subscriber] = {}
        self._next_id = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._last = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._last = await asyncio.to_thread(_head, self.store)
        self._task = asyncio.create_task(self._follow(), name="lfr-alert-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for sub in self._subscribers.values():
            sub.dropped = True

    def notify(self, deployment_id: str) -> None:
        """Called from any thread once an alert is stored: read the chain now."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def _follow(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_S)
            self._wake.clear()
            try:
                events = await asyncio.to_thread(_events, self.store, None, self._last)
            except Exception:  # the store is briefly unavailable: try again at the next tick
                log.exception("reading new alerts failed")
                continue
            if events:
                self._last = events[-1].seq
                self._dispatch(events)
                if len(events) == 500:
                    self._wake.set()  # more are waiting

    def _dispatch(self, events: Sequence[AlertEvent]) -> None:
        for key, sub in list(self._subscribers.items()):
            for event in events:
                if event.deployment_id != sub.deployment_id:
                    continue
                if sub.queue.full():  # too slow: cut it off; it resumes from its last id
                    sub.dropped = True
                    self._subscribers.pop(key, None)
                    break
                sub.queue.put_nowait(event)

    async def stream(self, deployment_id: str, last_event_id: int | None) -> AsyncIterator[str]:
        """The SSE text of one subscriber: the alerts after ``last_event_id``, then live ones."""
        sub = _Subscriber(deployment_id)
        key = self._next_id
        self._next_id += 1
        self._subscribers[key] = sub  # before the catch-up, so nothing falls between
        try:
            sent = last_event_id if last_event_id is not None else self._last
            idle = 0.0
            yield f"retry: 1000\n: subscribed to deployment {deployment_id}\n\n"
            while True:  # catch up in pages
                missed = await asyncio.to_thread(_events, self.store, deployment_id, sent)
                for old in missed:
                    yield format_event(old)
                    sent = old.seq
                if len(missed) < 500:
                    break
            while True:
                if sub.dropped and sub.queue.empty():
                    return
                event: AlertEvent | None
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=min(self.keepalive_s, 1.0))
                except TimeoutError:
                    idle += 1.0
                    if idle >= self.keepalive_s:
                        idle = 0.0
                        yield ": keepalive\n\n"
                    continue
                idle = 0.0
                if event is None:
                    return
                if event.seq > sent:
                    yield format_event(event)
                    sent = event.seq
        finally:
            self._subscribers.pop(key, None)
