"""``lfr audit verify`` as a user runs it: a row changed behind the program's back is named, the exit status is 3,
and ``--json`` carries the findings as data (in-process, on a real SQLite store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from deploying import live_deployment
from openlfr.cli import common
from openlfr.cli.main import app
from openlfr.config import CameraConfig, StoreConfig
from openlfr.match.watchlist import Watchlist
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store


def test_verify_names_a_row_changed_behind_the_programs_back(
    tmp_path: Path, demo_watchlist: Watchlist, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    store = Store.open(config)
    try:
        dep = live_deployment(store, demo_watchlist, [CameraConfig(id="cam-1", source="clip.mp4")])
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE deployments SET threshold = 0 WHERE id = :id"), {"id": dep.id})
    finally:
        store.close()
    assert config.key is not None
    monkeypatch.setattr(common.STATE, "loaded", None)  # read the settings from this test's environment
    monkeypatch.setenv("LFR_STORE__DATA_DIR", str(config.data_dir))
    monkeypatch.setenv("LFR_STORE__KEY", config.key.get_secret_value())
    runner = CliRunner()
    shown = runner.invoke(app, ["audit", "verify"], env={"COLUMNS": "200"})
    assert shown.exit_code == 3, shown.output
    said = " ".join(shown.output.split())
    assert "audit BROKEN: 1 row(s) changed behind the program's back" in said
    assert f"deployments row {dep.id} was edited behind the program's back" in said
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 3
    verdict = json.loads(as_json.stdout)
    assert verdict["ok"] is False and verdict["first_broken"] is None
    assert verdict["findings"] == [{"table": "deployments", "row_id": dep.id, "kind": "edited"}]
