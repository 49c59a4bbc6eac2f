"""Benchmarks write and read their own watchlist and cohort files: they sign them with a throwaway key
unless the environment names one (``LFR_SIGNING__KEY``), set for this process and its children."""

from __future__ import annotations

import base64
import os

from openlfr.match.signing import SigningKey


def throwaway_signing_key() -> None:
    if not os.environ.get("LFR_SIGNING__KEY") and not os.environ.get("LFR_SIGNING__KEY_FILE"):
        secret = SigningKey.generate().secret
        os.environ["LFR_SIGNING__KEY"] = base64.urlsafe_b64encode(secret).decode("ascii")
