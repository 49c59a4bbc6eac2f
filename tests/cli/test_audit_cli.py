"""``lfr audit verify`` as a user runs it: a row changed behind the program's back is named, the exit status is 3,
and ``--json`` carries the findings as data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import text

from deploying import live_deployment
from openlfr.config import CameraConfig, StoreConfig
from openlfr.match.watchlist import Watchlist
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store


def _verify(config: StoreConfig, *args: str) -> subprocess.CompletedProcess[str]:
    assert config.key is not None
    env = {"LFR_STORE__DATA_DIR": str(config.data_dir), "LFR_STORE__KEY": config.key.get_secret_value()}
    return subprocess.run(
        [sys.executable, "-m", "openlfr", "audit", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def test_verify_names_a_row_changed_behind_the_programs_back(tmp_path: Path, demo_watchlist: Watchlist) -> None:
    config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    store = Store.open(config)
    try:
        dep = live_deployment(store, demo_watchlist, [CameraConfig(id="cam-1", source="clip.mp4")])
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE deployments SET threshold = 0 WHERE id = :id"), {"id": dep.id})
    finally:
        store.close()
    shown = _verify(config)
    assert shown.returncode == 3
    said = " ".join(shown.stderr.split())
    assert "audit BROKEN: 1 row(s) changed behind the program's back" in said
    assert f"deployments row {dep.id} was edited behind the program's back" in said
    as_json = _verify(config, "--json")
    assert as_json.returncode == 3
    verdict = json.loads(as_json.stdout)
    assert verdict["ok"] is False and verdict["first_broken"] is None
    assert verdict["findings"] == [{"table": "deployments", "row_id": dep.id, "kind": "edited"}]
