"""Signed files at the command line: an edited, unsigned or other-key watchlist gets one line and exit 1;
--trust-unsigned reads it and says so; 'lfr watchlist sign' adopts a checked file; no key, nothing written."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from openlfr.match.signing import FileSigning, SigningKey
from openlfr.match.watchlist import Watchlist


def lfr(
    *args: str | Path, env: dict[str, str] | None = None, without: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``lfr ARGS`` with the test environment, ``env`` added and the variables ``without`` names left out."""
    full = {k: v for k, v in os.environ.items() if k not in without} | {"COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "openlfr", *map(str, args)], capture_output=True, text=True, timeout=600, env=full
    )


def _refused(out: subprocess.CompletedProcess[str], why: str) -> None:
    assert out.returncode == 1, out.stdout
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    assert why in out.stderr.replace("\n", ""), out.stderr


@pytest.fixture
def signed(demo_watchlist: Watchlist, tmp_path: Path) -> Path:
    return demo_watchlist.save(tmp_path / "w.lfrw")


def test_an_edited_watchlist_is_refused_and_read_only_when_trusted_aloud(signed: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(signed) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["threshold"] = 0.0  # everyone a match
    members["manifest.json"] = json.dumps(manifest).encode()
    edited = tmp_path / "edited.lfrw"
    with zipfile.ZipFile(edited, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    _refused(lfr("watchlist", "check", edited), "was altered after it was signed (manifest.json changed): refused")
    trusted = lfr("watchlist", "show", edited, "--trust-unsigned")
    assert trusted.returncode == 0, trusted.stderr
    assert "TRUSTING UNSIGNED FILES" in trusted.stderr and "UNVERIFIED FILE TRUSTED" in trusted.stderr
    assert "threshold 0.000" in trusted.stdout


def test_another_key_is_named_and_sign_adopts_the_file(signed: Path, signing_key: SigningKey) -> None:
    other = SigningKey.generate()
    env = {"LFR_SIGNING__KEY": base64.urlsafe_b64encode(other.secret).decode()}
    _refused(
        lfr("watchlist", "show", signed, env=env),
        f"was signed with key {signing_key.key_id}, this machine holds key {other.key_id}: refused",
    )
    adopted = lfr("watchlist", "sign", signed, env=env)
    assert adopted.returncode == 0 and f"with key {other.key_id}" in adopted.stdout, adopted.stderr
    assert Watchlist.load(signed, signing=FileSigning(other)).name == "demo"


def test_without_a_key_enrol_writes_nothing(demo: Path, tmp_path: Path) -> None:
    out = lfr("enrol", demo / "watchlist.csv", "-o", tmp_path / "w.lfrw", without=("LFR_SIGNING__KEY",))
    _refused(out, "no signing key for watchlist and cohort files")
    assert not (tmp_path / "w.lfrw").exists()
