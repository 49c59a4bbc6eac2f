"""SIGTERM and SIGINT stop 'lfr watch' as the end of its streams would: the embedding worker process
stopped, the sinks flushed, a summary line, exit status 0, and no child process left behind (issue 16,
item 6: SIGTERM used to end the process at once and leave the worker running for minutes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from deploying import live_deployment
from openlfr.config import CameraConfig, StoreConfig
from openlfr.match.watchlist import Watchlist
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.store.models import DeploymentRun


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_watch_and_its_worker_cleanly(
    demo_watchlist: Watchlist, demo: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    watchlist = demo_watchlist.save(tmp_path / "w.lfrw")
    alerts = tmp_path / "alerts.jsonl"
    clip = demo / "video" / "walkthrough.mp4"  # 13 s in real time: still running when the signal comes
    args = ["watch", clip, "-w", watchlist, "--allow-uncalibrated", "--quiet", "--alerts-file", alerts]
    proc = subprocess.Popen(
        [sys.executable, "-m", "openlfr", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        children: list[psutil.Process] = []
        while time.monotonic() < deadline and proc.poll() is None:
            children = parent.children(recursive=True)
            if children:
                break
            time.sleep(0.2)
        assert children, "the embedding worker never started"
        time.sleep(1.0)  # the cameras are running
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped:" in err and "(interrupted)" in err and "Traceback" not in err
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"left running after {sig.name}: {[p.pid for p in alive]}"


def test_sigterm_stops_deployment_run_and_records_the_stop(
    demo_watchlist: Watchlist, demo: Path, tmp_path: Path
) -> None:
    config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    assert config.key is not None
    store = Store.open(config)
    try:
        camera = CameraConfig(id="cam", source=str(demo / "video" / "walkthrough.mp4"), realtime=True)
        dep = live_deployment(store, demo_watchlist, [camera])
    finally:
        store.close()
    env = {
        **os.environ,
        "LFR_STORE__DATA_DIR": str(config.data_dir),
        "LFR_STORE__KEY": config.key.get_secret_value(),
        "LFR_LIVE__SINKS": "[]",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "openlfr", "deployment", "run", dep.id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        children = _children_once_started(proc)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"of {dep.id}:" in out and "Traceback" not in err
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"left running after SIGTERM: {[p.pid for p in alive]}"
    store = Store.open(config)
    try:
        with store.session() as s:
            (run,) = s.scalars(select(DeploymentRun)).all()
            assert run.stopped_at is not None, "the run's end was recorded"
    finally:
        store.close()


def _children_once_started(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        children = parent.children(recursive=True)
        if children:
            return children
        time.sleep(0.2)
    raise AssertionError("the embedding worker never started")
