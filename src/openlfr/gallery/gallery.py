"""``Gallery``: one gallery folder opened with the store's key; the index kept in step with the records.

On open the index is brought level with the records: rows marked removed (a removal or expiry that a
crash interrupted) leave the index and are purged, rows added after the index was last saved (a crash
during an import) are added, and records past their retention are removed. Nothing is lost when the
index file is missing or corrupt: ``rebuild`` makes it again from the encrypted templates.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from openlfr.config import ScoringConfig, StoreConfig
from openlfr.errors import GalleryEmbedderError, GalleryError, StoreKeyError
from openlfr.gallery import scoring as gallery_scoring
from openlfr.gallery.index import COMPACT_LIMIT, EXACT_LIMIT, RERANK, GalleryIndex, IndexParams, exact_order
from openlfr.gallery.records import RecordStore
from openlfr.match.cohort import Cohort
from openlfr.match.scoring import Scoring
from openlfr.store.crypto import Cipher, load_key

FORMAT = 1
META_FILE = "gallery.json"
RECORDS_FILE = "records.sqlite"
INDEX_FILE = "index.faiss"


@dataclass(frozen=True, slots=True)
class GalleryInfo:
    path: str
    gallery_id: str
    embedder: str
    records: int
    index: dict[str, object]
    exact_limit: int
    journal: dict[str, int]
    audit_entries: int
    audit_ok: bool
    normalisation: dict[str, object] | None = None


class Gallery:
    """An open gallery: its records (``records``), its index (``index``), its embedder identity."""

    def __init__(self, path: Path, cipher: Cipher, meta: dict[str, object], any_thread: bool = False) -> None:
        self.path = path
        self.meta = meta
        self.gallery_id = str(meta["gallery_id"])
        self.embedder = str(meta["embedder"])
        self.dimension = int(str(meta["dimension"]))
        self._cipher = cipher
        self.records = RecordStore(path / RECORDS_FILE, cipher, self.gallery_id, any_thread)
        self.index = self._load_index()
        self._scoring: Scoring | None = None

    # making and opening ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: Path,
        store: StoreConfig,
        embedder: str,
        dimension: int = 128,
        exact_limit: int = EXACT_LIMIT,
        extra: dict[str, object] | None = None,
        compact_limit: int = COMPACT_LIMIT,
    ) -> Gallery:
        """A new gallery at ``path``; ``extra``: more plain meta (a footage index's kind and threshold)."""
        if (path / META_FILE).exists():
            raise GalleryError(f"{path} already holds a gallery")
        if path.exists() and any(path.iterdir()):
            raise GalleryError(f"{path} is not empty; a gallery needs a folder of its own")
        cipher = Cipher(load_key(store))
        path.mkdir(parents=True, exist_ok=True)
        meta: dict[str, object] = {
            "format": FORMAT,
            "gallery_id": uuid.uuid4().hex,
            "embedder": embedder,
            "dimension": dimension,
            "key_id": cipher.key_id,
            "exact_limit": exact_limit,
            "compact_limit": compact_limit,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            **(extra or {}),
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        gallery = cls(path, cipher, meta)
        gallery.save_index()
        gallery.records.audit("create", {"embedder": embedder, "exact_limit": exact_limit})
        return gallery

    @classmethod
    def open(cls, path: Path, store: StoreConfig, embedder: str | None = None, any_thread: bool = False) -> Gallery:
        """Open the gallery at ``path``; with ``embedder``, refuse one made by another embedder.
        ``any_thread``: for a service that keeps it open, used by one thread at a time (``RecordStore``)."""
        try:
            meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise GalleryError(f"no gallery at {path} ('lfr gallery create {path}' makes one)") from exc
        except (OSError, ValueError) as exc:
            raise GalleryError(f"cannot read {path / META_FILE}: {exc}") from exc
        if meta.get("format") != FORMAT:
            raise GalleryError(f"{path} is a gallery of format {meta.get('format')}; this openlfr reads {FORMAT}")
        if embedder is not None:
            refuse_other_embedder(path, str(meta["embedder"]), embedder)
        cipher = Cipher(load_key(store))
        if meta.get("key_id") != cipher.key_id:
            raise StoreKeyError(f"gallery {path} was made with another key (key id {meta.get('key_id')})")
        gallery = cls(path, cipher, meta, any_thread)
        gallery.sync()
        return gallery

    def close(self) -> None:
        self.records.close()

    # the index ---------------------------------------------------------------------------------
    @property
    def _index_context(self) -> str:
        return f"gallery:{self.gallery_id}:index"

    @property
    def exact_limit(self) -> int:
        return int(str(self.meta.get("exact_limit", EXACT_LIMIT)))

    @property
    def compact_limit(self) -> int:
        return int(str(self.meta.get("compact_limit", COMPACT_LIMIT)))

    def _params(self) -> IndexParams:
        raw = self.records.get_meta("index_params")
        return IndexParams(**json.loads(raw)) if raw else IndexParams()

    def _load_index(self) -> GalleryIndex:
        if not (self.path / INDEX_FILE).exists() and not self.records.get_meta("index_params"):
            return GalleryIndex.empty(self.dimension)  # a gallery being created
        return GalleryIndex.load(self.path / INDEX_FILE, self._cipher, self._index_context, self._params())

    def save_index(self) -> None:
        self.index.save(self.path / INDEX_FILE, self._cipher, self._index_context)
        self.records.set_meta("index_params", json.dumps(self.index.params.to_dict()))

    def add_to_index(self, ids: list[int], vectors: NDArray[np.float32]) -> None:
        self.index.add(np.asarray(ids, dtype=np.int64), vectors)

    def sync(self, today: date | None = None) -> None:
        """Bring the index level with the records (see the module docstring) and apply retention."""
        changed = False
        for ids, vectors in self.records.templates(after=self.index.upto):
            self.index.add(ids, vectors)
            changed = True
        self.records.mark_removed(expired_before=today or date.today())
        if self._finish_removals():
            changed = True
        if changed:
            self.save_index()

    def _finish_removals(self) -> bool:
        rows = self.records.removed_rows()
        if not rows:
            return False
        self.index.remove(rows)
        self.save_index()  # the index forgets them before the rows go
        self.records.purge_removed(rows)
        return True

    def regrow(self) -> None:
        """Rebuild the index when the size calls for another kind (flat past ``exact_limit``, 8-bit codes
        past ``compact_limit``)."""
        n, kind = len(self.index), self.index.params.kind
        if kind == "flat" and n >= self.exact_limit:
            ids, vectors = self.index.vectors()
            upto = self.index.upto
            self.index = self._build(ids, vectors.copy())
            self.index.upto = upto
            self.save_index()
        elif kind == "ivf" and n >= self.compact_limit:
            self.rebuild()

    def rebuild(self) -> int:
        """Make the index again from the encrypted templates (after a corrupt or lost index file)."""
        chunks = list(self.records.templates())
        ids = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
        vecs = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros((0, self.dimension), np.float32)
        self.index = self._build(ids, vecs)
        self.index.upto = int(self.records.get_meta("next_row") or 1) - 1
        self.save_index()
        self.records.audit("rebuild", {"records": len(ids), "index": self.index.params.to_dict()})
        return len(ids)

    def _build(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> GalleryIndex:
        return GalleryIndex.build(ids, vectors, self.exact_limit, compact_limit=self.compact_limit)

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """The top ``k`` rows by cosine for each query (-1: none): as the index gives them, or for an index
        of 8-bit codes, its top ``RERANK`` re-ranked by exact cosine on the records' templates."""
        if not self.index.approximate:
            return self.index.search(queries, k)
        queries = np.atleast_2d(queries).astype(np.float32)
        _, rows = self.index.search(queries, max(k, RERANK))
        out_rows = np.full((len(queries), min(k, rows.shape[1])), -1, np.int64)
        out_scores = np.zeros(out_rows.shape, np.float32)
        for i, (query, row) in enumerate(zip(queries, rows, strict=True)):
            found = row[row >= 0]
            if len(found):
                scores, ordered = exact_order(query, found, self.records.vectors_of(found))
                n = min(len(found), out_rows.shape[1])
                out_rows[i, :n], out_scores[i, :n] = ordered[:n], scores[:n]
        return out_scores, out_rows

    # normalisation -----------------------------------------------------------------------------
    @property
    def scoring(self) -> Scoring | None:
        """The normalisation the gallery was given (``normalise``), or None: searches rank by cosine."""
        raw = self.records.get_meta("normalisation")
        if not raw:
            return None
        if self._scoring is None:
            checksum = str(json.loads(raw)["cohort_checksum"])
            path = self.path / gallery_scoring.SCORING_FILE
            self._scoring = gallery_scoring.load(path, self._cipher, self._scoring_context, checksum)
        return self._scoring

    @property
    def _scoring_context(self) -> str:
        return f"gallery:{self.gallery_id}:scoring"

    def normalise(self, cohort: Cohort, config: ScoringConfig) -> Scoring:
        """Score this gallery's searches by ``config`` against ``cohort`` (stored encrypted; audited)."""
        scoring = gallery_scoring.build(cohort, config, self.embedder)
        gallery_scoring.save(self.path / gallery_scoring.SCORING_FILE, self._cipher, self._scoring_context, scoring)
        record = {
            "method": config.describe(),
            "cohort_source": cohort.source,
            "cohort_size": len(cohort.vectors),
            "cohort_checksum": scoring.checksum,
        }
        self.records.set_meta("normalisation", json.dumps(record))
        self._scoring = scoring
        self.records.audit("normalise", record)
        return scoring

    # records -----------------------------------------------------------------------------------
    def remove(self, record_ids: list[str], reason: str) -> int:
        """Remove records: from the index (saved) first, then their rows; audited. The number removed."""
        n = self.records.mark_removed(record_ids)
        self._finish_removals()
        self.records.audit("remove", {"records": n, "reason": reason})
        return n

    def info(self) -> GalleryInfo:
        ok, entries = self.records.verify_audit()
        return GalleryInfo(
            path=str(self.path),
            gallery_id=self.gallery_id,
            embedder=self.embedder,
            records=self.records.count(),
            index={**self.index.params.to_dict(), "size": len(self.index)},
            exact_limit=self.exact_limit,
            journal=self.records.journal_counts(),
            audit_entries=entries,
            audit_ok=ok,
            normalisation=json.loads(raw) if (raw := self.records.get_meta("normalisation")) else None,
        )


def refuse_other_embedder(path: Path, made_by: str, embedder: str) -> None:
    """``GalleryEmbedderError`` unless the gallery at ``path``, made by ``made_by``, is ``embedder``'s."""
    if made_by != embedder:
        raise GalleryEmbedderError(
            f"gallery {path} was made by embedder {made_by}; the settings give {embedder} "
            "(set [embedder] to the gallery's, or import into a new gallery)"
        )


def open_for_rebuild(path: Path, store: StoreConfig) -> Gallery:
    """Open a gallery whose index file does not load, with an empty index, so that it can be rebuilt."""
    meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    cipher = Cipher(load_key(store))
    if meta.get("key_id") != cipher.key_id:
        raise StoreKeyError(f"gallery {path} was made with another key (key id {meta.get('key_id')})")
    (path / INDEX_FILE).unlink(missing_ok=True)
    records = RecordStore(path / RECORDS_FILE, cipher, str(meta["gallery_id"]))
    records.set_meta("index_params", "")
    records.close()
    return Gallery(path, cipher, meta)
