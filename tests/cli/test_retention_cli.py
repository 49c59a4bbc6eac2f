"""``lfr retention floor`` and ``lfr retention purge`` as a user runs them (issue 16, item 6): the floor
is set in the store, and a purge asking for less from the environment gets one clear line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openlfr.store.crypto import generate_key


def test_a_purge_below_the_floor_from_the_environment_is_refused(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COLUMNS": "200",
        "LFR_STORE__DATA_DIR": str(tmp_path / "data"),
        "LFR_STORE__KEY": generate_key(),
    }

    def lfr(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "openlfr", "retention", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**env, **extra})

    shown = lfr("floor")
    assert shown.returncode == 0 and "no retention floor set" in shown.stdout, shown.stderr
    set_ = lfr("floor", "--days", "31")
    assert set_.returncode == 0 and "retention floor: 31 day(s), set by local:" in set_.stdout, set_.stderr
    refused = lfr("purge", LFR_STORE__RETENTION__ALERT_IMAGES_DAYS="0")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: retention of alert_images set to 0 day(s), below the floor of 31 day(s) an admin set in the store; "
        "refused (store.retention.alert_images_days must be at least 31)"
    ]
    assert lfr("purge", "--json").returncode == 0, "the configured 31 days meet the floor"
