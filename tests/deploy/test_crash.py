"""kill -9 while alerts are being written: every alert a sink had received is in the store after a restart.

``lfr deployment run`` runs in its own process, watching the demo clip in a loop with no alert
cooldown, so alerts keep coming, and a file sink (fsync'd per alert) records what it received. Once the
sink holds a few alerts the process is killed with SIGKILL, mid-stream. Then the store is opened again:
it must open cleanly (SQLite's integrity check, the audit chain), hold every alert the sink had
received, and the deployment must run again (a new run, whose changed settings the audit records).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from deploying import live_deployment
from openlfr.config import CameraConfig, Settings, StoreConfig
from openlfr.deploy.live import run_deployment
from openlfr.match.watchlist import Watchlist
from openlfr.store import audit
from openlfr.store.db import Store
from openlfr.store.models import AlertRow, AuditEntry

LFR = Path(sys.executable).with_name("lfr")


def _config(path: Path, store_config: StoreConfig, alerts_file: Path) -> Path:
    url = f'url = "{store_config.url}"\n' if store_config.url else ""
    path.write_text(
        f'[store]\ndata_dir = "{store_config.data_dir}"\n{url}\n'
        "[live.tracker]\nalert_cooldown_s = 0.0\n\n"
        f'[[live.sinks]]\ntype = "file"\npath = "{alerts_file}"\n',
        encoding="utf-8",
    )
    return path


def _received(alerts_file: Path) -> list[str]:
    if not alerts_file.exists():
        return []
    lines = alerts_file.read_text(encoding="utf-8").split("\n")
    return [json.loads(line)["alert_id"] for line in lines[:-1] if line]  # the last line may be cut short


def test_kill_9_while_alerts_are_written_loses_no_alert(
    store_config: StoreConfig, demo: Path, demo_watchlist: Watchlist, tmp_path: Path
) -> None:
    store = Store.open(store_config)
    camera = CameraConfig(id="door", source=str(demo / "video" / "walkthrough.mp4"), realtime=False, loop=True)
    dep = live_deployment(store, demo_watchlist, [camera])
    store.close()
    alerts_file = tmp_path / "alerts.jsonl"
    config = _config(tmp_path / "lfr.toml", store_config, alerts_file)
    assert store_config.key is not None
    env = {**os.environ, "LFR_STORE__KEY": store_config.key.get_secret_value()}
    command = [str(LFR), "--config", str(config), "deployment", "run", dep.id]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while len(_received(alerts_file)) < 4:
            assert proc.poll() is None, f"lfr deployment run ended early: {proc.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no alerts within 4 minutes"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: alerts keep coming every second or so
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the embedding worker it had started
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    received = _received(alerts_file)
    assert len(received) >= 4

    reopened = Store.open(store_config)  # opens cleanly: no error, schema and key as before
    try:
        if reopened.is_sqlite:
            with reopened.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        with reopened.session() as s:
            stored = set(s.scalars(select(AlertRow.id).where(AlertRow.deployment_id == dep.id)))
            assert audit.verify(s).ok
        missing = [a for a in received if a not in stored]
        assert not missing, f"{len(missing)} of {len(received)} alerts the sink had received are not in the store"

        # The deployment runs again (a new run), under other settings, which the audit chain records.
        stop = threading.Event()
        timer = threading.Timer(12.0, stop.set)
        timer.start()
        settings = Settings(store=store_config, live={"tracker": {"alert_cooldown_s": 0.0}, "sinks": []})
        try:
            summary = run_deployment(reopened, settings, dep.id, "insp.operator", stop=stop)
        finally:
            timer.cancel()
        assert summary.alerts >= 1 and summary.alerts_not_stored == 0
        with reopened.session() as s:
            after = set(s.scalars(select(AlertRow.id).where(AlertRow.deployment_id == dep.id)))
            actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.deployment_id == dep.id)))
            assert audit.verify(s).ok
        assert len(after) >= len(stored) + summary.alerts
        assert actions.count("deployment.run") == 2 and "config.changed" in actions
    finally:
        reopened.close()
