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

from openlfr.match.watchlist import Watchlist


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
