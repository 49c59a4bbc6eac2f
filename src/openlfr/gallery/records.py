"""A gallery's encrypted SQLite: records (fields, template, thumbnail), the import journal, the audit log.

Row ids are handed out from a counter in ``meta`` and never reused, so that an id in an old index file can
never name a later record. Removal is two-phase (``mark_removed`` then ``purge_removed``) so that a crash
between the database and the index file leaves a row marked removed, which ``Gallery`` finishes on open;
searches drop any hit that is not a live row.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from openlfr.errors import GalleryError
from openlfr.store.crypto import Cipher

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    row_id INTEGER PRIMARY KEY, record_key TEXT NOT NULL UNIQUE, content_key TEXT NOT NULL UNIQUE,
    retain_until TEXT, removed INTEGER NOT NULL DEFAULT 0, fields BLOB NOT NULL, template BLOB NOT NULL,
    thumb BLOB
);
CREATE TABLE IF NOT EXISTS journal (content_key TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL
);
"""
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Record:
    """One enrolled image: who (subject), which custody record, when and where it came from."""

    record_id: str
    subject_id: str
    date: str | None = None
    source: str | None = None
    retain_until: dt.date | None = None

    def fields_json(self, extra: dict[str, object]) -> bytes:
        fields = {"record_id": self.record_id, "subject_id": self.subject_id, "date": self.date, "source": self.source}
        return json.dumps(fields | extra, sort_keys=True).encode("utf-8")


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record ready to write: its content hash, template (unit length) and thumbnail (JPEG)."""

    record: Record
    sha256: str
    vector: NDArray[np.float32]
    thumb: bytes | None
    quality: float
    extra: dict[str, object] = field(default_factory=dict)
    """More fields kept (encrypted) with the record: a footage track's time span, camera and video."""


class RecordStore:
    """The records of one gallery, encrypted with ``cipher`` and bound to ``gallery_id``."""

    def __init__(self, path: Path, cipher: Cipher, gallery_id: str, any_thread: bool = False) -> None:
        """``any_thread``: usable from threads other than the one that opened it, one at a time (its user
        serialises the calls: one SQLite connection cannot carry two threads' transactions at once)."""
        self.path = path
        self._cipher = cipher
        self._gid = gallery_id
        self._mac = cipher.derive(f"gallery-lookup:{gallery_id}")
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=not any_thread)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise GalleryError(f"cannot open the gallery's records {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # keys and contexts -------------------------------------------------------------------------
    def lookup_key(self, kind: str, value: str) -> str:
        """A keyed hash of ``value`` (a record id or content hash): what the tables index, never the value."""
        return hmac.new(self._mac, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def _ctx(self, row_id: int, field: str) -> str:
        return f"gallery:{self._gid}:row:{row_id}:{field}"

    # meta --------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # the journal -------------------------------------------------------------------------------
    def journal_status(self, sha256: str) -> str | None:
        row = self._db.execute(
            "SELECT status FROM journal WHERE content_key = ?", (self.lookup_key("sha", sha256),)
        ).fetchone()
        return None if row is None else str(row[0])

    def journal_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT status, COALESCE(reason, ''), COUNT(*) FROM journal GROUP BY 1, 2")
        return {(f"{s}:{r}" if r else s): int(n) for s, r, n in rows}

    def journal_mark(self, sha256: str, status: str, reason: str | None = None) -> None:
        """Note a content hash as done without a record (a footage video indexed whole)."""
        self._db.execute(
            "INSERT OR REPLACE INTO journal VALUES (?, ?, ?)", (self.lookup_key("sha", sha256), status, reason)
        )

    def has_record_id(self, record_id: str) -> bool:
        key = self.lookup_key("record", record_id)
        return self._db.execute("SELECT 1 FROM records WHERE record_key = ?", (key,)).fetchone() is not None

    # writing -----------------------------------------------------------------------------------
    def commit_batch(self, added: Iterable[NewRecord], rejected: Iterable[tuple[str, str]]) -> list[int]:
        """Write a batch of new records and rejections (content hash, reason) in one transaction; the row ids."""
        rows: list[int] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            next_row = int(self.get_meta("next_row") or 1)
            for item in added:
                row_id, next_row = next_row, next_row + 1
                rec = item.record
                fields = rec.fields_json({"quality": round(item.quality, 4), **item.extra})
                vector = np.ascontiguousarray(item.vector, dtype=np.float32).tobytes()
                self._db.execute(
                    "INSERT INTO records VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                    (
                        row_id,
                        self.lookup_key("record", rec.record_id),
                        self.lookup_key("sha", item.sha256),
                        rec.retain_until.isoformat() if rec.retain_until else None,
                        self._cipher.encrypt(fields, self._ctx(row_id, "fields")),
                        self._cipher.encrypt(vector, self._ctx(row_id, "template")),
                        self._cipher.encrypt(item.thumb, self._ctx(row_id, "thumb")) if item.thumb else None,
                    ),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO journal VALUES (?, 'added', NULL)", (self.lookup_key("sha", item.sha256),)
                )
                rows.append(row_id)
            for sha, reason in rejected:
                self._db.execute(
                    "INSERT OR REPLACE INTO journal VALUES (?, 'rejected', ?)", (self.lookup_key("sha", sha), reason)
                )
            self.set_meta("next_row", str(next_row))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return rows

    def mark_removed(self, record_ids: Iterable[str] = (), expired_before: dt.date | None = None) -> int:
        """Mark records removed (by record id, or past their retention); the number marked."""
        self._db.execute("BEGIN IMMEDIATE")
        n = 0
        for rid in record_ids:
            n += self._db.execute(
                "UPDATE records SET removed = 1 WHERE record_key = ?", (self.lookup_key("record", rid),)
            ).rowcount
        if expired_before is not None:
            n += self._db.execute(
                "UPDATE records SET removed = 1 WHERE retain_until IS NOT NULL AND retain_until < ? AND removed = 0",
                (expired_before.isoformat(),),
            ).rowcount
        self._db.execute("COMMIT")
        return n

    def removed_rows(self) -> list[int]:
        return [int(r[0]) for r in self._db.execute("SELECT row_id FROM records WHERE removed = 1")]

    def purge_removed(self, row_ids: list[int]) -> None:
        """Delete rows already gone from the index (secure_delete overwrites their pages); the journal keeps
        their content hashes as 'removed', so a re-run import never brings them back."""
        self._db.execute("BEGIN IMMEDIATE")
        for row_id in row_ids:
            content = self._db.execute("SELECT content_key FROM records WHERE row_id = ?", (row_id,)).fetchone()
            if content is not None:
                self._db.execute("UPDATE journal SET status = 'removed' WHERE content_key = ?", (content[0],))
            self._db.execute("DELETE FROM records WHERE row_id = ?", (row_id,))
        self._db.execute("COMMIT")
        self._db.execute("VACUUM")  # no free page keeps a removed record's ciphertext

    # reading -----------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records WHERE removed = 0").fetchone()[0])

    def live(self, row_ids: Iterable[int]) -> set[int]:
        ids = [int(i) for i in row_ids]
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT row_id FROM records WHERE removed = 0 AND row_id IN ({marks})", ids)
        return {int(r[0]) for r in rows}

    def templates(self, after: int = 0, batch: int = 10_000) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        """Live row ids and their templates (decrypted) with row id > ``after``, in batches."""
        last = after
        while True:
            rows = self._db.execute(
                "SELECT row_id, template FROM records WHERE removed = 0 AND row_id > ? ORDER BY row_id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.stack(
                [np.frombuffer(self._cipher.decrypt(r[1], self._ctx(int(r[0]), "template")), np.float32) for r in rows]
            )
            last = int(ids[-1])
            yield ids, vecs

    def vectors_of(self, row_ids: Iterable[int]) -> NDArray[np.float32]:
        """The templates (decrypted) of the given rows, in their order."""
        out = []
        for row_id in row_ids:
            row = self._db.execute("SELECT template FROM records WHERE row_id = ?", (int(row_id),)).fetchone()
            if row is None:
                raise GalleryError(f"no record at row {row_id}")
            out.append(np.frombuffer(self._cipher.decrypt(row[0], self._ctx(int(row_id), "template")), np.float32))
        return np.stack(out) if out else np.zeros((0, 0), np.float32)

    def fields(self, row_id: int) -> dict[str, object]:
        row = self._db.execute("SELECT fields, retain_until FROM records WHERE row_id = ?", (row_id,)).fetchone()
        if row is None:
            raise GalleryError(f"no record at row {row_id}")
        out: dict[str, object] = json.loads(self._cipher.decrypt(row[0], self._ctx(row_id, "fields")))
        out["retain_until"] = row[1]
        return out

    def thumb(self, row_id: int) -> bytes | None:
        row = self._db.execute("SELECT thumb FROM records WHERE row_id = ?", (row_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return self._cipher.decrypt(row[0], self._ctx(row_id, "thumb"))

    # the audit log -----------------------------------------------------------------------------
    def audit(self, action: str, detail: dict[str, object], actor: str | None = None) -> str:
        """Append an entry to the gallery's hash chain (``actor``: who, the local user by default); its hash."""
        self._db.execute("BEGIN IMMEDIATE")
        head = self._db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev = head[0] if head else GENESIS
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        actor = actor or getpass.getuser()
        body = json.dumps(detail, sort_keys=True)
        digest = _entry_hash(prev, at, actor, action, body)
        self._db.execute("INSERT INTO audit VALUES (NULL, ?, ?, ?, ?, ?, ?)", (at, actor, action, body, prev, digest))
        self._db.execute("COMMIT")
        return digest

    def audit_entries(self) -> list[dict[str, object]]:
        rows = self._db.execute("SELECT seq, at, actor, action, detail, hash FROM audit ORDER BY seq")
        return [
            {"seq": s, "at": at, "actor": a, "action": act, "detail": json.loads(d), "hash": h}
            for s, at, a, act, d, h in rows
        ]

    def verify_audit(self) -> tuple[bool, int]:
        """Whether the chain is intact, and how many entries it has."""
        prev = GENESIS
        n = 0
        for at, actor, action, body, stored_prev, digest in self._db.execute(
            "SELECT at, actor, action, detail, prev, hash FROM audit ORDER BY seq"
        ):
            if stored_prev != prev or digest != _entry_hash(prev, at, actor, action, body):
                return False, n
            prev, n = digest, n + 1
        return True, n


def _entry_hash(prev: str, at: str, actor: str, action: str, body: str) -> str:
    return hashlib.sha256("\x1f".join((prev, at, actor, action, body)).encode("utf-8")).hexdigest()
