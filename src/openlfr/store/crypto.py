"""Encryption at rest of faces and templates: AES-256-GCM with a key the operator holds.

Each blob is ``version (1 byte) | nonce (12 bytes) | ciphertext and tag``; the caller's ``context``
(for example ``"alert-probe:<alert id>"``) is bound as associated data, so a blob copied into another
row does not decrypt there. The key is 32 random bytes in URL-safe base64, from ``LFR_STORE__KEY``, a
key file, or (development mode only) a file made in the data directory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from openlfr.config import StoreConfig
from openlfr.errors import StoreKeyError

log = logging.getLogger("openlfr.store")

_VERSION = b"\x01"
_NONCE = 12
KEY_BYTES = 32
DEV_KEY_FILE = "dev-only.key"


def generate_key() -> str:
    """A new random key, as the URL-safe base64 text that a key file or ``LFR_STORE__KEY`` holds."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise StoreKeyError(
            f"the encryption key in {where} is not URL-safe base64 ('lfr store keygen' makes one)"
        ) from exc
    if len(key) != KEY_BYTES:
        raise StoreKeyError(f"the encryption key in {where} is {len(key)} bytes; it must be {KEY_BYTES}")
    return key


def load_key(config: StoreConfig) -> bytes:
    """The key from the settings: ``key``, else ``key_file``, else (dev mode) the data directory's dev key."""
    if config.key is not None:
        return parse_key(config.key.get_secret_value(), "LFR_STORE__KEY / store.key")
    if config.key_file is not None:
        try:
            text = config.key_file.read_text(encoding="ascii")
        except FileNotFoundError as exc:
            raise StoreKeyError(f"key file not found: {config.key_file}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreKeyError(f"cannot read key file {config.key_file}: {exc}") from exc
        return parse_key(text, str(config.key_file))
    if config.dev_mode:
        return _dev_key(config.data_dir)
    raise StoreKeyError(
        "no encryption key for the store: set LFR_STORE__KEY or store.key_file to a key made by "
        "'lfr store keygen' (keep it apart from the data), or store.dev_mode=true for development only"
    )


def _dev_key(data_dir: Path) -> bytes:
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(generate_key() + "\n")
    log.warning(
        "store in DEVELOPMENT MODE: the encryption key lies beside the data in %s; never use it for real data", path
    )
    return parse_key(path.read_text(encoding="ascii"), str(path))


class Cipher:
    """Encrypts and decrypts blobs with one key (AES-256-GCM)."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) != KEY_BYTES:
            raise StoreKeyError(f"an encryption key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"openlfr-key-id" + key).hexdigest()[:16]
        """Names the key in messages without revealing it."""
        self._key = key

    def derive(self, label: str) -> bytes:
        """A 32-byte secret for one purpose (``label``, e.g. ``"csrf"``), derived from the store's key.

        HMAC-SHA256 keyed with the store's key over a fixed prefix and the label (HKDF's expand step
        for one block): each label gives an independent key, none of them reveals the store's key or
        another label's, and none can be computed without the store's key."""
        return hmac.new(self._key, b"openlfr-derive:" + label.encode("utf-8"), hashlib.sha256).digest()

    def encrypt(self, data: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context.encode("utf-8"))

    def decrypt(self, blob: bytes, context: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise StoreKeyError(f"not an openlfr encrypted blob ({context})")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], context.encode("utf-8"))
        except InvalidTag as exc:
            raise StoreKeyError(f"cannot decrypt {context}: wrong key, or the data was altered") from exc
