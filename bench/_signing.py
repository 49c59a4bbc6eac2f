"""Benchmarks write and read their own watchlist and cohort files (cached in bench/out): they sign them
with a key of their own, made once in bench/out, unless the environment names one (``LFR_SIGNING__KEY``),
set for this process and its children."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

KEY_FILE = Path(__file__).resolve().parent / "out" / "bench-signing.key"


def throwaway_signing_key() -> None:
    if os.environ.get("LFR_SIGNING__KEY") or os.environ.get("LFR_SIGNING__KEY_FILE"):
        return
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii"), encoding="ascii")
        KEY_FILE.chmod(0o600)
    os.environ["LFR_SIGNING__KEY"] = KEY_FILE.read_text(encoding="ascii").strip()
