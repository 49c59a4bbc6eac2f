"""``lfr serve --cluster``: a bad address, or a SQLite store, stops it with one error (one line, exit 1,
from the entry point) before anything listens or any camera is placed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.cli import common
from openlfr.cli.main import app
from openlfr.errors import OpenLFRError
from openlfr.store.crypto import generate_key

CASES = [
    ("not an address", "not an address", "give ray://HOST:PORT, HOST:PORT or auto"),
    ("a SQLite store", "127.0.0.1:9", "cluster mode keeps its alerts in PostgreSQL; the store is SQLite"),
]


@pytest.mark.parametrize(("name", "address", "says"), CASES, ids=[c[0] for c in CASES])
def test_serve_refuses_what_a_cluster_cannot_use(
    name: str, address: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.STATE, "loaded", None)  # read the settings from this test's environment
    monkeypatch.setenv("LFR_STORE__DATA_DIR", str(tmp_path / "lfr-data"))
    monkeypatch.setenv("LFR_STORE__KEY", generate_key())
    out = CliRunner().invoke(app, ["serve", "--cluster", address], env={"COLUMNS": "300"})
    # The entry point (cli.main.run) prints an OpenLFRError as one line and exits 1.
    assert out.exit_code != 0 and isinstance(out.exception, OpenLFRError), out.output
    assert says in str(out.exception) and "\n" not in str(out.exception)
