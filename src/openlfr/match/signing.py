"""Signed watchlist and cohort files: an HMAC-SHA256, under a key the operator holds, over the whole file.

What decides an alert (templates, threshold, calibration record, cohort) lives in files that anyone with
write access to a folder could edit and re-zip. Every writer therefore adds a member ``signature.json``::

    {"scheme": "openlfr-hmac-sha256/1", "format": "openlfr-watchlist", "format_version": 2,
     "key_id": "<16 hex>", "members": {"<name>": "<sha256 hex>", ...}, "mac": "<hex>"}

``mac`` is HMAC-SHA256 under the signing key of the canonical JSON of every other field (keys sorted,
members in name order), so it binds every member, the file's kind and format version, and the key's id.
Every reader checks it before parsing anything and refuses, in one line (``FileSignatureError``), a file
that is unsigned, altered (a member added, removed or changed; the signature edited) or signed with
another key (naming both key ids), unless told to trust it (``[signing] trust_unsigned`` or
``--trust-unsigned``), which is logged as a warning for each file.

The key is 32 random bytes in URL-safe base64, from ``LFR_SIGNING__KEY``, ``[signing] key_file``, or
(``store.dev_mode`` only) a file made beside the dev store. The key id is a hash prefix that names the
key without revealing it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from openlfr.config import Settings, SigningConfig, StoreConfig, load_settings
from openlfr.errors import FileSignatureError, SigningKeyError

log = logging.getLogger("openlfr.match")

SIGNATURE_MEMBER = "signature.json"
SCHEME = "openlfr-hmac-sha256/1"
KEY_BYTES = 32
DEV_KEY_FILE = "dev-only-signing.key"
_TRUST_HINT = "; or pass --trust-unsigned"
_NO_KEY = (
    "no signing key for watchlist and cohort files: set LFR_SIGNING__KEY or signing.key_file to a key made by "
    "'lfr store keygen' (not the store's own key), or store.dev_mode=true for development only"
)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A signing key and its id (a hash prefix that names it in messages without revealing it)."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise SigningKeyError(f"a signing key must be {KEY_BYTES} bytes, got {len(self.secret)}")

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"openlfr-signing-key-id" + self.secret).hexdigest()[:16]

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def parse(cls, text: str, where: str) -> SigningKey:
        try:
            secret = base64.urlsafe_b64decode(text.strip().encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise SigningKeyError(f"the signing key in {where} is not URL-safe base64 ('lfr store keygen')") from exc
        if len(secret) != KEY_BYTES:
            raise SigningKeyError(f"the signing key in {where} is {len(secret)} bytes; it must be {KEY_BYTES}")
        return cls(secret)


def load_key(signing: SigningConfig, store: StoreConfig) -> SigningKey | None:
    """The key from the settings: ``key``, else ``key_file``, else (store dev mode) the dev key; None if none."""
    if signing.key is not None:
        return SigningKey.parse(signing.key.get_secret_value(), "LFR_SIGNING__KEY / signing.key")
    if signing.key_file is not None:
        try:
            text = signing.key_file.read_text(encoding="ascii")
        except FileNotFoundError as exc:
            raise SigningKeyError(f"signing key file not found: {signing.key_file}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningKeyError(f"cannot read signing key file {signing.key_file}: {exc}") from exc
        return SigningKey.parse(text, str(signing.key_file))
    if store.dev_mode:
        return _dev_key(store.data_dir)
    return None


def _dev_key(data_dir: Path) -> SigningKey:
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n")
    log.warning("file signing in DEVELOPMENT MODE: the signing key lies beside the data in %s", path)
    return SigningKey.parse(path.read_text(encoding="ascii"), str(path))


@dataclass(frozen=True, slots=True)
class FileSigning:
    """How files are signed when written and checked when read: the key (None: none configured) and
    whether files that fail the check are trusted anyway (each logged)."""

    key: SigningKey | None
    trust_unsigned: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> FileSigning:
        return cls(load_key(settings.signing, settings.store), settings.signing.trust_unsigned)

    @classmethod
    def from_environment(cls) -> FileSigning:
        """From ``LFR_*`` settings alone (what the Python API uses when a caller passes none)."""
        return cls.from_settings(load_settings())

    def require_key(self) -> SigningKey:
        """The key files are signed with (SigningKeyError when none is configured: check before long work)."""
        if self.key is None:
            raise SigningKeyError(f"cannot write a signed file: {_NO_KEY}")
        return self.key

    def sign(self, members: Mapping[str, bytes], kind: str, version: int) -> bytes:
        """The ``signature.json`` member for a file of ``kind`` and format ``version`` holding ``members``."""
        key = self.require_key()
        body = _body(members, kind, version, key.key_id)
        return json.dumps({**body, "mac": _mac(key, body)}, indent=2, sort_keys=True).encode("utf-8")

    def verify(self, members: Mapping[str, bytes], kind: str, path: Path) -> None:
        """Refuse (``FileSignatureError``) ``members`` of the file at ``path`` unless signed, as a file of
        ``kind``, by this key and unchanged since; when trusting, log why instead and accept it."""
        try:
            self._check(members, kind, path)
        except (FileSignatureError, SigningKeyError) as exc:
            if not self.trust_unsigned:
                raise
            why = exc.message.replace(_TRUST_HINT, "").replace(": refused", "")  # it is not, here
            log.warning("UNVERIFIED FILE TRUSTED (--trust-unsigned / signing.trust_unsigned): %s", why)

    def _check(self, members: Mapping[str, bytes], kind: str, path: Path) -> None:
        raw = members.get(SIGNATURE_MEMBER)
        if raw is None:
            command = "lfr cohort sign" if kind.endswith("cohort") else "lfr watchlist sign"
            raise FileSignatureError(
                f"{path} is not signed: refused (check it, then sign it with '{command}'{_TRUST_HINT})",
                reason="unsigned",
            )
        if self.key is None:
            raise SigningKeyError(f"cannot verify {path}: {_NO_KEY}{_TRUST_HINT}")
        record = _record(raw, path)
        local = self.key.key_id
        if record["key_id"] != local:
            raise FileSignatureError(
                f"{path} was signed with key {record['key_id']}, this machine holds key {local}: refused (verify "
                f"it with the key that signed it, or check it and sign it here{_TRUST_HINT})",
                reason="wrong_key",
                signed_key_id=str(record["key_id"]),
                local_key_id=local,
            )
        body = {k: v for k, v in record.items() if k != "mac"}
        if not hmac.compare_digest(str(record["mac"]), _mac(self.key, body)):
            raise FileSignatureError(f"{path}: its signature was altered: refused", reason="altered")
        changed = _changes(record["members"], members)
        if changed:
            raise FileSignatureError(f"{path} was altered after it was signed ({changed}): refused", reason="altered")
        if record["format"] != kind:
            raise FileSignatureError(
                f"{path} is signed as an {record['format']} file, not an {kind} file: refused", reason="altered"
            )


def _body(members: Mapping[str, bytes], kind: str, version: int, key_id: str) -> dict[str, object]:
    digests = {n: hashlib.sha256(members[n]).hexdigest() for n in sorted(members) if n != SIGNATURE_MEMBER}
    return {"scheme": SCHEME, "format": kind, "format_version": version, "key_id": key_id, "members": digests}


def _mac(key: SigningKey, body: Mapping[str, object]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hmac.new(key.secret, canonical, hashlib.sha256).hexdigest()


def _record(raw: bytes, path: Path) -> dict[str, object]:
    """The signature record, its fields' types checked (a damaged one is an altered file)."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FileSignatureError(f"{path}: its signature is damaged: refused", reason="altered") from exc
    fields = {"scheme": str, "format": str, "format_version": int, "key_id": str, "members": dict, "mac": str}
    if (
        not isinstance(record, dict)
        or set(record) != set(fields)
        or any(not isinstance(record[k], t) for k, t in fields.items())
        or record["scheme"] != SCHEME
        or re.fullmatch(r"[0-9a-f]{16}", record["key_id"]) is None
        or any(not isinstance(v, str) for v in record["members"].values())
    ):
        raise FileSignatureError(f"{path}: its signature is damaged or of an unknown scheme: refused", reason="altered")
    return record


def _changes(signed: object, members: Mapping[str, bytes]) -> str:
    """What differs between the signed digests and the members (empty when nothing does)."""
    assert isinstance(signed, dict)
    now = {n: hashlib.sha256(b).hexdigest() for n, b in members.items() if n != SIGNATURE_MEMBER}
    parts = [f"{_plain(n)} changed" for n in sorted(set(now) & set(signed)) if now[n] != signed[n]]
    parts += [f"{_plain(n)} added" for n in sorted(set(now) - set(signed))]
    parts += [f"{_plain(n)} removed" for n in sorted(set(signed) - set(now))]
    if len(parts) > 3:
        parts = [*parts[:3], f"{len(parts) - 3} more"]
    return ", ".join(parts)


def _plain(name: str) -> str:
    """A member name from a hostile file as printable ASCII (control characters and the rest escaped), for
    messages that also reach logs."""
    return name.encode("unicode_escape").decode("ascii")
