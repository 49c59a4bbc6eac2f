"""Running a live deployment: its cameras against its own watchlist, every alert in the store first.

``run_deployment`` reads as the table of contents of a deployment's live run:

1. the deployment must be live; its watchlist is rebuilt in memory from the store (decrypted, never
   written anywhere else) with the deployment's threshold;
2. a ``DeploymentRun`` row is opened: counts only (frames, faces seen, tracks, faces searched, alerts),
   updated every few seconds and at the end;
3. every alert goes through ``StoreFirstSink``: committed to the store (``synchronous=FULL`` on
   SQLite) *before* any other sink sees it, so an alert an operator was sent is on record, even if the
   process is killed the moment after; one the store refuses (a full disk) is still sent on, loudly,
   and counted; what a sink cannot deliver is kept in the outbox (``<live.outbox.path>/<deployment>``,
   sealed with the store's key) and retried; counting and purging never end the run when they fail;
4. on the retention schedule the run purges alert data that has passed its time;
5. the deployment's planned end is the server's to hold: a run is refused after it, and a run that
   reaches it stops there (both audited);
6. with ``cluster.address`` set (``lfr serve --cluster``) the cameras run as actors on a Ray cluster
   (``cluster.app.ClusterApp``; the store must be PostgreSQL): the store stays here, matching too unless
   ``cluster.matching = "node"`` (then the nodes send only alerts), and a camera placed
   again after its node died is audited with its gap (``deployment.camera_moved``).

Nothing about a face that raises no alert is written: frames, crops and templates live in memory for
the length of a track and are dropped with it (``tests/deploy/test_no_trace.py`` proves it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from openlfr.alert.base import AlertSink, DeliveryReport, FanOut, Reporting, sinks
from openlfr.alert.outbox import Outbox, failure_reason
from openlfr.cluster.app import CameraMove, ClusterApp
from openlfr.config import Settings
from openlfr.deploy.lifecycle import Deployments
from openlfr.errors import ClusterError, DeploymentError, DeploymentStateError
from openlfr.live.app import LiveApp
from openlfr.metrics import MetricsSnapshot
from openlfr.review.alerts import Alerts
from openlfr.store import audit, retention
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry, DeploymentRun
from openlfr.types import Alert

log = logging.getLogger("openlfr.deploy")

COUNT_INTERVAL_S = 5.0

LiveRun = LiveApp | ClusterApp
"""A deployment's cameras in this process, or on a Ray cluster."""


class StoreFirstSink:
    """Commits each alert to the store, then hands it to ``downstream``.

    An alert the store could not write (its disk full, say) is still sent on, so that the operator sees
    it, with a loud error; one it refused by policy (the deployment no longer live) is not. Both are
    counted in ``failed``, and the run's summary and exit status say so. One the store holds already
    (the same id: a camera placed again in a cluster) is not sent again (counted in ``duplicates``)."""

    name = "store"

    def __init__(self, alerts: Alerts, deployment_id: str, downstream: AlertSink) -> None:
        self._alerts = alerts
        self._deployment_id = deployment_id
        self._downstream = downstream
        self.stored = 0
        self.failed = 0
        self.duplicates = 0

    def send(self, alert: Alert) -> None:
        try:
            new = self._alerts.store_alert(self._deployment_id, alert)
        except DeploymentError as exc:  # policy, not storage: the deployment is no longer live
            self.failed += 1
            log.error("alert %s refused by the store: %s; not sent on", alert.alert_id, exc)
            return
        except Exception as exc:
            self.failed += 1
            log.error(
                "ALERT NOT STORED: alert %s (%s, camera %s): %s; sent on to the sinks so that it is seen",
                alert.alert_id, alert.display_name, alert.camera_id, failure_reason(exc), exc_info=True,
            )  # fmt: skip
        else:
            if not new:
                self.duplicates += 1
                log.warning("alert %s is stored already: not sent again", alert.alert_id)
                return
            self.stored += 1
        self._downstream.send(alert)

    def report(self, final: bool = False) -> DeliveryReport:
        if isinstance(self._downstream, Reporting):
            return self._downstream.report(final)
        return DeliveryReport(self.stored + self.failed, self.stored + self.failed, 0, 0, 0, None)

    def close(self, timeout: float = 5.0) -> None:
        self._downstream.close(timeout)


def _housekeep(what: str, task: Callable[[], object]) -> None:
    """A housekeeping task (counts, purge) that fails is logged loudly; the run keeps matching."""
    try:
        task()
    except Exception as exc:
        log.error("%s failed: %s; the run goes on", what, failure_reason(exc), exc_info=True)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one run of a deployment saw (the counts its ``DeploymentRun`` row holds)."""

    run_id: int
    frames: int
    faces_seen: int
    tracks: int
    faces_searched: int
    alerts: int
    alerts_not_stored: int
    delivery: DeliveryReport | None = None
    """Alerts raised, delivered to every sink, and undelivered (kept in the outbox, or lost)."""


def run_deployment(
    store: Store,
    settings: Settings,
    deployment_id: str,
    actor: str,
    *,
    extra_sinks: list[AlertSink] | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[LiveRun], None] | None = None,
) -> RunSummary:
    """Run a live deployment's cameras until they end (files) or ``stop`` is set; return its counts.
    ``on_start`` is given the running app (the service reads its cameras' states and metrics)."""
    deployments = Deployments(store)
    view = deployments.get(deployment_id)
    if not view.cameras:
        raise DeploymentError(f"deployment {deployment_id} has no cameras")
    if settings.cluster.address is not None and store.is_sqlite:
        raise ClusterError(
            f"cluster mode keeps its alerts in PostgreSQL; the store is SQLite ({store.description}): set "
            "store.url to a postgresql+psycopg:// URL"
        )
    watchlist = deployments.watchlist(deployment_id)  # refuses a deployment that is not live
    _refuse_after_end(store, deployment_id, view.planned_end, actor)
    retention.check_floor(store, settings.store.retention)  # a run with periods below the floor is refused
    if view.threshold_source == "manual" and not settings.live.allow_uncalibrated:
        # Set by hand with a written justification, authorised and audited: the deployment's own override,
        # which every alert and the metrics then carry (``uncalibrated``).
        settings = settings.model_copy(update={"live": settings.live.model_copy(update={"allow_uncalibrated": True})})
    run_id = _open_run(store, deployment_id, actor, settings, len(view.cameras), len(watchlist.manifest.subjects))
    outbox = settings.live.outbox.model_copy(update={"path": settings.live.outbox.path / deployment_id})
    downstream = FanOut(
        [*(sinks.create(c) for c in settings.live.sinks), *(extra_sinks or [])],
        Outbox(outbox, store.cipher),  # sealed with the store's key: crops and all
    )
    sink = StoreFirstSink(Alerts(store), deployment_id, downstream)
    app: LiveRun
    if settings.cluster.address is None:
        app = LiveApp(settings, watchlist, list(view.cameras), sink=sink)
    else:
        moved = _record_move(store, deployment_id, run_id)
        app = ClusterApp(settings, watchlist, list(view.cameras), sink, f"{deployment_id}/{run_id}", on_move=moved)
    stop = stop or threading.Event()
    next_purge = time.monotonic()
    try:
        app.start()
        if on_start is not None:
            on_start(app)
        while not stop.is_set():
            left = (view.planned_end - datetime.now(UTC)).total_seconds()
            if left <= 0:
                _record_end(store, deployment_id, run_id, view.planned_end)
                break
            ended = app.wait(timeout=min(COUNT_INTERVAL_S, left))
            _housekeep("counting the run", lambda: _update_run(store, run_id, app.snapshots()))
            if time.monotonic() >= next_purge:
                _housekeep("the retention purge", functools.partial(_purge, store, settings))
                next_purge = time.monotonic() + settings.store.retention.purge_interval_s
            if ended:
                break
    finally:
        app.stop()
        snaps = app.snapshots()
        totals = _counts(snaps)
        _housekeep("recording the run's end", lambda: _update_run(store, run_id, snaps, stopped=True))
    return RunSummary(run_id, *totals, alerts_not_stored=sink.failed, delivery=sink.report(final=True))


def _purge(store: Store, settings: Settings) -> None:
    retention.purge(store, datetime.now(UTC), "system:schedule", settings.store.retention)


def _counts(snaps: list[MetricsSnapshot]) -> tuple[int, int, int, int, int]:
    return (
        sum(s.frames_analysed for s in snaps),
        sum(s.faces for s in snaps),
        sum(s.tracks for s in snaps),
        sum(s.embeddings for s in snaps),
        sum(s.alerts for s in snaps),
    )


def _record_move(store: Store, deployment_id: str, run_id: int) -> Callable[[CameraMove], None]:
    """Audits a camera placed again (its node died): where from, where to, and the gap in its sight."""

    def record(move: CameraMove) -> None:
        with store.session() as session:
            audit.record(
                session,
                "system:cluster",
                AuditAction.CAMERA_MOVED,
                deployment_id=deployment_id,
                target=f"run {run_id}",
                details={
                    "camera_id": move.camera_id,
                    "placement": move.placement,
                    "from_node": move.from_node,
                    "to_node": move.to_node,
                    "reason": move.reason,
                    "gap_s": move.gap_s,
                },
            )

    return record


def _refuse_after_end(store: Store, deployment_id: str, planned_end: datetime, actor: str) -> None:
    """Refuse (and audit the refusal of) a run after the deployment's planned end."""
    if datetime.now(UTC) < planned_end:
        return
    with store.session() as session:
        audit.record(
            session,
            actor,
            AuditAction.DEPLOYMENT_RUN_REFUSED,
            deployment_id=deployment_id,
            details={"reason": "after the planned end", "planned_end": planned_end.isoformat()},
        )
    raise DeploymentStateError(
        f"deployment {deployment_id} was planned to end at {planned_end.isoformat()}; a run after its end is "
        "refused (end it: lfr deployment end)"
    )


def _record_end(store: Store, deployment_id: str, run_id: int, planned_end: datetime) -> None:
    log.warning("deployment %s reached its planned end (%s): run %s stops", deployment_id, planned_end, run_id)
    with store.session() as session:
        audit.record(
            session,
            "system",
            AuditAction.DEPLOYMENT_RUN_AT_END,
            deployment_id=deployment_id,
            target=f"run {run_id}",
            details={"planned_end": planned_end.isoformat()},
        )


def settings_digest(settings: Settings) -> str:
    """SHA-256 of the settings a run uses (the key left out), to record when they change between runs."""
    text = settings.model_dump_json(exclude={"store": {"key"}})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _open_run(store: Store, deployment_id: str, actor: str, settings: Settings, cameras: int, subjects: int) -> int:
    now = datetime.now(UTC)
    digest = settings_digest(settings)
    with store.session() as session:
        previous = session.scalars(
            select(AuditEntry.details_json)
            .where(AuditEntry.deployment_id == deployment_id, AuditEntry.action == AuditAction.DEPLOYMENT_RUN.value)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()
        before = json.loads(previous).get("settings_sha256") if previous else None
        if before is not None and before != digest:
            audit.record(
                session,
                actor,
                AuditAction.CONFIG_CHANGED,
                deployment_id=deployment_id,
                details={"settings_sha256_before": before, "settings_sha256": digest},
            )
        run = DeploymentRun(deployment_id=deployment_id, started_at=now, updated_at=now)
        session.add(run)
        session.flush()
        audit.record(
            session,
            actor,
            AuditAction.DEPLOYMENT_RUN,
            deployment_id=deployment_id,
            target=f"run {run.id}",
            details={"cameras": cameras, "watchlist_subjects": subjects, "settings_sha256": digest},
        )
        return run.id


def _update_run(
    store: Store, run_id: int, snaps: list[MetricsSnapshot], stopped: bool = False
) -> tuple[int, int, int, int, int]:
    totals = _counts(snaps)
    now = datetime.now(UTC)
    with store.session() as session:
        run = session.get(DeploymentRun, run_id)
        if run is None:
            raise DeploymentError(f"run {run_id} has vanished from the store")
        run.frames, run.faces_seen, run.tracks, run.faces_searched, run.alerts = totals
        run.updated_at = now
        if stopped:
            run.stopped_at = now
    return totals
