"""The atheris campaign (issue 16, item 7), bounded for CI: every decoder takes ``CI_RUNS`` coverage-guided
inputs with no traceback and no hang. The acceptance figure, 10,000 inputs per format, is the slow test
(about 4 minutes on 2 cores); ``scripts/fuzz --seconds N`` runs longer campaigns."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI_RUNS = 150
ACCEPTANCE_RUNS = 10_000


def _campaign(corpus: Path, runs: int, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "fuzz"), "--runs", str(runs), "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _check(result: subprocess.CompletedProcess[str], runs: int) -> None:
    assert result.returncode == 0, result.stdout + result.stderr[-6000:]
    lines = [line.split() for line in result.stdout.splitlines()]
    assert len(lines) == 7 and all(line[1] == "ok" and int(line[2]) >= runs for line in lines), result.stdout


def test_every_decoder_survives_a_bounded_campaign(tmp_path: Path) -> None:
    _check(_campaign(tmp_path, CI_RUNS, 300), CI_RUNS)


@pytest.mark.slow
def test_every_decoder_survives_ten_thousand_inputs(tmp_path: Path) -> None:
    _check(_campaign(tmp_path, ACCEPTANCE_RUNS, 1800), ACCEPTANCE_RUNS)
