"""A deployment's own watchlist in the store: imported from a ``Watchlist``, rebuilt for the live run,
checked before going live, destroyed when the deployment ends.

Each template's vector and aligned face are encrypted with the store's key, the context naming the
deployment and template (``template:<deployment>:<template>``, ``face:<deployment>:<template>``), so a
blob copied to another row or deployment does not decrypt. The entries themselves (id, category,
reason, image source, expiry) are the grounds for each person's inclusion and stay for the record.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from openlfr.errors import DeploymentError, FusionNotStoredError
from openlfr.match.scoring import Scoring
from openlfr.match.watchlist import Manifest, Subject, TemplateRecord, Watchlist, scoring_from_arrays
from openlfr.store.crypto import Cipher
from openlfr.store.models import Deployment, EntryTemplate, WatchlistEntry
from openlfr.store.times import as_utc
from openlfr.types import Category

# Left out of the stored manifest: subjects become rows, templates become encrypted rows.
_PER_ENTRY = {"subjects", "templates"}


def template_context(deployment_id: str, template_id: str) -> str:
    return f"template:{deployment_id}:{template_id}"


def face_context(deployment_id: str, template_id: str) -> str:
    return f"face:{deployment_id}:{template_id}"


def import_watchlist(
    session: Session,
    cipher: Cipher,
    dep: Deployment,
    watchlist: Watchlist,
    actor: str,
    under_18: Mapping[str, str],
    now: datetime,
) -> tuple[int, int]:
    """Replace ``dep``'s watchlist with ``watchlist`` (entries, encrypted templates and faces);
    returns (entries, templates) written. A watchlist fusing two embedders is refused (not stored yet)."""
    if watchlist.second is not None:
        raise FusionNotStoredError(
            f"watchlist '{watchlist.name}' fuses the scores of a second embedder ({watchlist.second.identity}), "
            "which stored deployments do not support yet; import one enrolled with no second_embedder set"
        )
    subjects = watchlist.manifest.subjects
    if not subjects:
        raise DeploymentError(f"watchlist '{watchlist.name}' has no subjects; a deployment needs at least one")
    unknown = sorted(set(under_18) - {s.subject_id for s in subjects})
    if unknown:
        raise DeploymentError(
            f"under-18 entries name subjects that are not on watchlist '{watchlist.name}': {', '.join(unknown)}"
        )
    dep.entries.clear()  # delete-orphan: the old entries and their templates go (nothing refers to them yet)
    session.flush()
    by_subject: dict[str, WatchlistEntry] = {}
    for position, subject in enumerate(subjects):
        entry = WatchlistEntry(
            deployment_id=dep.id,
            position=position,
            subject_id=subject.subject_id,
            display_name=subject.display_name,
            category=subject.category.value,
            reason=subject.reason.strip(),
            image_source=subject.image_source.strip(),
            expires=datetime.combine(subject.expires, time.min, UTC) if subject.expires else None,
            under_18=subject.subject_id in under_18,
            under_18_justification=under_18.get(subject.subject_id, "").strip(),
            added_by=actor,
            added_at=now,
        )
        dep.entries.append(entry)
        by_subject[subject.subject_id] = entry
    for row, record in enumerate(watchlist.manifest.templates):
        face = watchlist.faces.get(record.template_id)
        vector = np.ascontiguousarray(watchlist.vectors[row], dtype=np.float32)
        by_subject[record.subject_id].templates.append(
            EntryTemplate(
                template_id=record.template_id,
                record_json=record.model_dump_json(),
                vector_enc=cipher.encrypt(vector.tobytes(), template_context(dep.id, record.template_id)),
                face_jpeg_enc=None if face is None else cipher.encrypt(face, face_context(dep.id, record.template_id)),
            )
        )
    m = watchlist.manifest
    dep.embedder = m.embedder
    dep.watchlist_name = m.name
    dep.watchlist_manifest_json = m.model_dump_json(exclude=_PER_ENTRY)
    dep.scoring_enc = _pack_scoring(cipher, dep.id, watchlist)
    session.flush()
    return len(subjects), len(m.templates)


def rebuild(cipher: Cipher, dep: Deployment) -> Watchlist:
    """The deployment's watchlist in memory, decrypted, with the deployment's threshold."""
    if dep.watchlist_manifest_json is None or dep.threshold is None:
        raise DeploymentError(f"deployment {dep.id} has no watchlist or no threshold")
    subjects, records, vectors, faces = [], [], [], {}
    for entry in dep.entries:
        if entry.removed_at is not None:
            continue
        subjects.append(
            Subject(
                subject_id=entry.subject_id,
                display_name=entry.display_name or entry.subject_id,
                category=Category(entry.category),
                reason=entry.reason,
                image_source=entry.image_source,
                expires=as_utc(entry.expires).date() if entry.expires is not None else None,
            )
        )
        for t in sorted(entry.templates, key=lambda t: t.id):
            records.append(TemplateRecord.model_validate_json(t.record_json))
            raw = cipher.decrypt(t.vector_enc, template_context(dep.id, t.template_id))
            vectors.append(np.frombuffer(raw, dtype=np.float32))
            if t.face_jpeg_enc is not None:
                faces[t.template_id] = cipher.decrypt(t.face_jpeg_enc, face_context(dep.id, t.template_id))
    base = json.loads(dep.watchlist_manifest_json)
    source = dep.threshold_source or "manual"
    why = f": {dep.threshold_justification}" if dep.threshold_justification else ""
    manifest = Manifest.model_validate(
        {
            **base,
            "threshold": dep.threshold,
            # the calibration in force: none for a hand-set threshold, even if the watchlist had one
            "calibration": json.loads(dep.calibration_json) if dep.calibration_json else None,
            "threshold_source": f"deployment {dep.id}, {source}{why}",
            "subjects": [s.model_dump() for s in subjects],
            "templates": [r.model_dump() for r in records],
        }
    )
    matrix = np.stack(vectors) if vectors else np.zeros((0, manifest.dimension), np.float32)
    scoring, stats = _unpack_scoring(cipher, dep, manifest, [r.template_id for r in records])
    return Watchlist(
        manifest=manifest,
        vectors=matrix.astype(np.float32, copy=False),
        faces=faces,
        scoring=scoring,
        template_stats=stats,
    )


def scoring_context(deployment_id: str) -> str:
    return f"scoring:{deployment_id}"


def _pack_scoring(cipher: Cipher, deployment_id: str, watchlist: Watchlist) -> bytes | None:
    """The watchlist's normalisation (cohort templates, per-template statistics keyed by template id), as an
    encrypted ``.npz``; None when its scores are not normalised."""
    arrays = watchlist.scoring_arrays()
    if not arrays:
        return None
    buf = io.BytesIO()
    ids = np.array([t.template_id for t in watchlist.manifest.templates], dtype=np.str_)
    named: dict[str, Any] = {name.removesuffix(".npy"): a for name, a in arrays.items()}  # Any: savez's **kwds
    np.savez(buf, template_ids=ids, **named)
    return cipher.encrypt(buf.getvalue(), scoring_context(deployment_id))


def _unpack_scoring(
    cipher: Cipher, dep: Deployment, manifest: Manifest, template_ids: list[str]
) -> tuple[Scoring | None, NDArray[np.float64] | None]:
    if dep.scoring_enc is None or manifest.normalisation is None:
        return None, None
    with np.load(io.BytesIO(cipher.decrypt(dep.scoring_enc, scoring_context(dep.id))), allow_pickle=False) as npz:
        arrays = {f"{name}.npy": np.asarray(npz[name]) for name in npz.files if name != "template_ids"}
        row = {str(t): i for i, t in enumerate(npz["template_ids"].tolist())}
    scoring, stats = scoring_from_arrays(manifest, arrays)
    if stats is not None:  # the rebuilt watchlist's rows, in its own order
        stats = stats[[row[t] for t in template_ids]]
    return scoring, stats


def destroy(session: Session, dep: Deployment, now: datetime) -> tuple[int, int]:
    """Delete every template and face of ``dep``'s watchlist and clear the names; keep ids, categories
    and reasons. Returns (entries kept, templates deleted)."""
    deleted = 0
    for entry in dep.entries:
        for template in list(entry.templates):
            session.delete(template)
            deleted += 1
        entry.templates.clear()
        entry.display_name = None
    dep.scoring_enc = None  # the watchlist's score normalisation goes with its templates
    dep.watchlist_destroyed_at = now
    session.flush()
    return len(dep.entries), deleted


def readiness_problems(dep: Deployment, now: datetime) -> list[str]:
    """Everything that keeps ``dep`` from going live, besides authorisation (empty when ready)."""
    found: list[str] = []
    if not dep.cameras:
        found.append("no cameras")
    if dep.threshold is None:
        found.append("no threshold (set one calibrated for its watchlist, or by hand with a justification)")
    if as_utc(dep.planned_end) <= now:
        found.append(f"its planned end ({as_utc(dep.planned_end):%Y-%m-%d %H:%M} UTC) has passed")
    entries = [e for e in dep.entries if e.removed_at is None]
    if not entries:
        found.append("no watchlist (a deployment needs at least one entry)")
    today = now.date()
    for entry in entries:
        missing = entry_problems(entry, today)
        if missing:
            found.append(f"watchlist entry '{entry.subject_id}' {', '.join(missing)}")
    return found


def entry_problems(entry: WatchlistEntry, today: date) -> list[str]:
    """What one entry lacks before it may be searched for (empty when complete)."""
    lacks = [
        field
        for field, value in (
            ("category", entry.category),
            ("reason", entry.reason),
            ("image source", entry.image_source),
        )
        if not value.strip()
    ]
    if entry.expires is None:
        lacks.append("expiry")
    problems = [f"has no {' or '.join(lacks)}"] if lacks else []
    if entry.expires is not None and as_utc(entry.expires).date() < today:
        problems.append(f"expired on {as_utc(entry.expires).date().isoformat()}")
    if entry.under_18 and not entry.under_18_justification.strip():
        problems.append("is under 18 and has no justification for including a child")
    if not entry.templates:
        problems.append("has no template")
    return problems
