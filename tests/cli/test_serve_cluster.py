"""``lfr serve --cluster``: a bad address, or a SQLite store, stops it with one line and a non-zero exit
before anything listens or any camera is placed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from openlfr.store.crypto import generate_key

CASES = [
    ("not an address", "not an address", "give ray://HOST:PORT, HOST:PORT or auto"),
    ("a SQLite store", "127.0.0.1:9", "cluster mode keeps its alerts in PostgreSQL; the store is SQLite"),
]


@pytest.mark.parametrize(("name", "address", "says"), CASES, ids=[c[0] for c in CASES])
def test_serve_refuses_what_a_cluster_cannot_use(name: str, address: str, says: str, tmp_path: Path) -> None:
    key = SecretStr(generate_key()).get_secret_value()
    env = {**os.environ, "COLUMNS": "300", "LFR_STORE__DATA_DIR": str(tmp_path / "lfr-data"), "LFR_STORE__KEY": key}
    out = subprocess.run(
        [sys.executable, "-m", "openlfr", "serve", "--cluster", address],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], out.stderr
