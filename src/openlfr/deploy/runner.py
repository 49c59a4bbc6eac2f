"""The service's live runs: one thread per live deployment, started and stopped with it.

``lfr serve`` holds one ``DeploymentRunner``. Starting a deployment through the API launches its run
(``deploy.live.run_deployment``: every alert in the store before anything else sees it); ending it
stops the run first. When the server starts, every deployment still live is resumed, and the gap
since its last run was last seen working is recorded in the audit chain (``deployment.resumed``).
Listeners are told the deployment id after each alert is stored (the alert stream wakes on it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import select

from openlfr.config import Settings
from openlfr.deploy.live import LiveRun, RunSummary, run_deployment
from openlfr.metrics import MetricsSnapshot
from openlfr.status import DeploymentStatus
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import Deployment, DeploymentRun
from openlfr.store.times import as_utc
from openlfr.types import Alert

log = logging.getLogger("openlfr.deploy.runner")

Listener = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """One camera of a deployment as the service sees it now."""

    camera_id: str
    source: str
    running: bool
    state: str
    """The source's state (connecting, live, stalled, reconnecting, stopped), or ``not running``."""
    fps_analysed: float
    frames_analysed: int
    drops: int
    alerts: int


@dataclass
class _Run:
    deployment_id: str
    actor: str
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    app: LiveRun | None = None
    summary: RunSummary | None = None
    error: str | None = None
    started: threading.Event = field(default_factory=threading.Event)

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class _Notify:
    """A sink after the store: tells the runner's listeners that an alert of this deployment is stored."""

    name = "notify"

    def __init__(self, deployment_id: str, listeners: list[Listener]) -> None:
        self._deployment_id = deployment_id
        self._listeners = listeners

    def send(self, alert: Alert) -> None:
        for listener in list(self._listeners):
            try:
                listener(self._deployment_id)
            except Exception:  # a listener must never stop the alerts
                log.exception("alert listener failed")

    def close(self, timeout: float = 5.0) -> None:
        return None


class DeploymentRunner:
    """Live runs of the store's deployments inside this process."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.listeners: list[Listener] = []
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def launch(self, deployment_id: str, actor: str) -> None:
        """Run the live deployment's cameras in a thread (nothing happens if it is running already); the
        run is audited as ``actor``'s (whoever started it, or ``system:serve`` on a restart)."""
        with self._lock:
            current = self._runs.get(deployment_id)
            if current is not None and current.alive:
                return
            run = _Run(deployment_id, actor)
            run.thread = threading.Thread(target=self._run, args=(run,), name=f"lfr-run-{deployment_id}", daemon=True)
            self._runs[deployment_id] = run
        run.thread.start()
        run.started.wait(timeout=120.0)  # the watchlist is rebuilt and the cameras open before we answer

    def _run(self, run: _Run) -> None:
        def attach(app: LiveRun) -> None:
            run.app = app
            run.started.set()

        try:
            run.summary = run_deployment(
                self.store,
                self.settings,
                run.deployment_id,
                run.actor,
                extra_sinks=[_Notify(run.deployment_id, self.listeners)],
                stop=run.stop,
                on_start=attach,
            )
        except Exception as exc:
            run.error = str(exc)
            log.exception("the run of deployment %s failed", run.deployment_id)
        finally:
            run.started.set()

    def stop(self, deployment_id: str, timeout: float = 30.0) -> None:
        """Stop the deployment's run (if any) and wait for it to flush."""
        with self._lock:
            run = self._runs.pop(deployment_id, None)
        if run is not None and run.thread is not None:
            run.stop.set()
            run.thread.join(timeout)

    def running(self, deployment_id: str) -> bool:
        run = self._runs.get(deployment_id)
        return run is not None and run.alive

    def resume(self) -> list[str]:
        """Resume every live deployment (a server restart), recording each gap; the ids resumed."""
        now = datetime.now(UTC)
        resumed: list[str] = []
        with self.store.session() as s:
            live = list(s.scalars(select(Deployment.id).where(Deployment.status == DeploymentStatus.LIVE.value)))
            for dep_id in live:
                last = s.scalars(
                    select(DeploymentRun).where(DeploymentRun.deployment_id == dep_id).order_by(DeploymentRun.id.desc())
                ).first()
                seen = None if last is None else as_utc(last.stopped_at or last.updated_at)
                audit.record(
                    s,
                    "system:serve",
                    AuditAction.DEPLOYMENT_RESUMED,
                    deployment_id=dep_id,
                    details={
                        "last_seen": None if seen is None else audit.utc_text(seen),
                        "gap_s": None if seen is None else round((now - seen).total_seconds(), 3),
                    },
                    at=now,
                )
        for dep_id in live:
            self.launch(dep_id, "system:serve")
            resumed.append(dep_id)
        return resumed

    def cameras(self, deployment_id: str, configured: list[tuple[str, str]]) -> list[CameraStatus]:
        """The state of each configured camera (id, source) of the deployment."""
        run = self._runs.get(deployment_id)
        snaps: dict[str, MetricsSnapshot] = {}
        if run is not None and run.app is not None and run.alive:
            snaps = {s.camera_id: s for s in run.app.snapshots()}
        out = []
        for camera_id, source in configured:
            snap = snaps.get(camera_id)
            out.append(
                CameraStatus(
                    camera_id=camera_id,
                    source=source,
                    running=snap is not None,
                    state=snap.state if snap is not None else "not running",
                    fps_analysed=round(snap.fps_analysed, 2) if snap is not None else 0.0,
                    frames_analysed=snap.frames_analysed if snap is not None else 0,
                    drops=snap.drops if snap is not None else 0,
                    alerts=snap.alerts if snap is not None else 0,
                )
            )
        return out

    def snapshots(self) -> list[MetricsSnapshot]:
        """Every running camera's metrics, camera ids prefixed by their deployment's (for /metrics)."""
        found: list[MetricsSnapshot] = []
        for run in list(self._runs.values()):
            if run.app is not None and run.alive:
                found.extend(replace(s, camera_id=f"{run.deployment_id}/{s.camera_id}") for s in run.app.snapshots())
        return found

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every run (the server is stopping); they resume when it starts again."""
        for dep_id in list(self._runs):
            self.stop(dep_id, timeout)
