"""``lfr watch`` with peers that fail (issue 16, item 4): the webhook refusing and the alerts file on a
full disk. It used to exit 0 saying "2 alert(s)"; now every alert is kept in the outbox, the summary
says how many were delivered and undelivered, names the full disk, and the exit status is 3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openlfr.match.watchlist import Watchlist
from peers import FullDisk, refusing_url


def test_watch_with_failing_sinks_keeps_the_alerts_and_exits_non_zero(
    demo_watchlist: Watchlist, demo: Path, tmp_path: Path, full_disk: FullDisk
) -> None:
    watchlist = demo_watchlist.save(tmp_path / "w.lfrw")
    alerts_file = full_disk.path / "alerts.jsonl"
    alerts_file.touch()
    (full_disk.path / "alerts_images").mkdir()
    full_disk.fill()
    outbox = tmp_path / "outbox"
    config = tmp_path / "lfr.toml"
    config.write_text(  # --webhook's sink, without its retries (the outbox retries)
        f'[[live.sinks]]\ntype = "stdout"\n\n[[live.sinks]]\ntype = "webhook"\nurl = "{refusing_url()}"\nretries = 0\n'
    )
    args = ["--config", config, "watch", demo / "video" / "walkthrough.mp4", "--fast", "-w", watchlist]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openlfr",
            *map(str, args),
            "--allow-uncalibrated",
            "--quiet",
            "--alerts-file",
            alerts_file,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300", "LFR_LIVE__OUTBOX__PATH": str(outbox)},
    )
    assert done.returncode == 3, done.stderr
    assert len(done.stdout.splitlines()) == 2, "stdout still delivers both alerts"
    assert f"stopped: 2 alert(s), 0 delivered, 2 undelivered (kept in {outbox}); DISK FULL (ENOSPC)" in done.stderr
    assert "Traceback" not in done.stderr
    kept = sorted(p.parent.name for p in outbox.rglob("*.json"))
    assert len(kept) == 4 and len(set(kept)) == 2, "each alert kept once for the file and once for the webhook"
