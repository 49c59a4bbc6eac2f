"""Schemathesis against the served OpenAPI document, bounded in time: no request it makes, as an
admin or as a supervisor (tokens, so every route past the gate is reached), gets a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.config import StoreConfig
from openlfr.store.db import Store
from serving import ServedApp, serve

from .conftest import api_settings

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SECONDS_PER_ROLE = int(os.environ.get("LFR_FUZZ_SECONDS", "20"))
"""Bounded in CI; ``LFR_FUZZ_SECONDS=600 scripts/check tests/api/test_fuzz.py`` for a long campaign."""


@pytest.fixture
def fuzzed(tmp_path: Path, sqlite_store: Store) -> Iterator[ServedApp]:
    settings = api_settings(StoreConfig(data_dir=tmp_path, dev_mode=True), requests_per_minute=1_000_000)
    with serve(settings, sqlite_store) as served:
        yield served


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR])
def test_no_request_gets_a_server_error(fuzzed: ServedApp, role: Role, tmp_path: Path) -> None:
    _, secret = Tokens(fuzzed.store, fuzzed.settings.api).create(f"fuzz-{role.value}", role, "local:test", days=1)
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{fuzzed.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-time",
            str(SECONDS_PER_ROLE),
            "--workers",
            "1",
            "--exclude-path-regex",
            "alerts/stream",  # an endless stream by design
            "--phases",
            "examples,coverage,fuzzing",
            "-H",
            f"Authorization: Bearer {secret}",
            "--suppress-health-check",
            "all",
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_ROLE * 4 + 60,
        cwd=tmp_path,
    )
    tail = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, tail
