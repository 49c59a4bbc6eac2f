"""The audit log: every action, in an append-only hash chain that ``verify`` checks end to end.

Entry ``n`` holds ``hash_n = SHA-256(hash_{n-1} | canonical JSON of entry n)`` (``hash_0`` is 64 zeros),
and the one-row ``audit_head`` holds the last sequence number and hash. So an edited entry no longer
matches its hash, a deleted or inserted one breaks the sequence or the link of the next, and entries cut
from the end no longer reach the head. ``record`` appends in the caller's transaction, so an action and
its audit entry are committed together or not at all; the head row is locked while appending.

Since migration 0004 the chain also covers state: each entry binds the rows its transaction changed
(``rows_json``: table, id, the row's seal or null if deleted; ``store/seal.py`` fills it at commit), the
head carries an HMAC under the store key (so the chain cannot be rewritten or emptied without the key),
and ``verify`` replays the bound rows and compares them with the tables (``store/integrity.py``).
Against someone who holds the store key, publish the head (``lfr audit head``) elsewhere from time to
time and compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.errors import AuditChainError
from openlfr.store.integrity import RowFinding, check_rows, has_data
from openlfr.store.models import AuditEntry, AuditHead, Meta
from openlfr.store.seal import RowKey, last_entry, note_entry, rows_json, sealer_of
from openlfr.store.times import as_utc

GENESIS = "0" * 64
Detail = str | int | float | bool | None


class AuditAction(StrEnum):
    DEPLOYMENT_CREATED = "deployment.created"
    DEPLOYMENT_AUTHORISED = "deployment.authorised"
    DEPLOYMENT_STARTED = "deployment.started"
    DEPLOYMENT_ENDED = "deployment.ended"
    DEPLOYMENT_CLOSED = "deployment.closed"
    DEPLOYMENT_PUBLISHED = "deployment.published"
    DEPLOYMENT_RUN = "deployment.run"
    DEPLOYMENT_RESUMED = "deployment.resumed"
    DEPLOYMENT_RUN_REFUSED = "deployment.run_refused"
    DEPLOYMENT_RUN_AT_END = "deployment.run_stopped_at_end"
    CAMERA_MOVED = "deployment.camera_moved"
    WATCHLIST_CHANGED = "watchlist.changed"
    WATCHLIST_DESTROYED = "watchlist.destroyed"
    THRESHOLD_SET = "threshold.set"
    ALERT_RAISED = "alert.raised"
    ALERT_VIEWED = "alert.viewed"
    ADJUDICATION = "alert.adjudicated"
    LEGAL_HOLD_PLACED = "legal_hold.placed"
    LEGAL_HOLD_RELEASED = "legal_hold.released"
    EXPORT = "export"
    PURGE = "retention.purge"
    RETENTION_FLOOR_SET = "retention.floor_set"
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    ACCOUNT_LOCKED = "login.locked"
    LOGOUT = "logout"
    USER_ADDED = "user.added"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    PASSWORD_RESET = "user.password_reset"
    PASSWORD_CHANGED = "user.password_changed"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    CONFIG_CHANGED = "config.changed"
    SEARCH = "search"
    STORE_CREATED = "store.created"
    STORE_SEALED = "store.sealed"
    ROWS_CHANGED = "store.rows_changed"


def utc_text(at: datetime) -> str:
    """``at`` as the fixed-width UTC text that is hashed (a naive time, as SQLite returns it, is UTC)."""
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    deployment_id: str | None,
    target: str | None,
    details_json: str,
    rows_json: str = "",
) -> str:
    """The chain hash of one entry (a pure function of its content and the previous hash); the rows its
    transaction changed are hashed with it when there are any (entries from before migration 0004 have none)."""
    fields: list[object] = [seq, utc_text(at), actor, action, deployment_id, target, details_json]
    if rows_json:
        fields.append(rows_json)
    content = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{content}".encode()).hexdigest()


def _hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.deployment_id,
        entry.target,
        entry.details_json,
        entry.rows_json or "",
    )


def ensure_head(session: Session) -> None:
    """Create the head of an empty chain (the store does this when it is opened)."""
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, hash=GENESIS, mac=sealer_of(session).head_mac(0, GENESIS)))
        session.flush()


def record(
    session: Session,
    actor: str,
    action: AuditAction,
    *,
    deployment_id: str | None = None,
    target: str | None = None,
    details: Mapping[str, Detail] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in ``session``'s transaction (committed with the action it records)."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        ensure_head(session)
        head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    if head.seq:
        last = session.get(AuditEntry, head.seq)
        if last is None or last.hash != head.hash:
            raise AuditChainError(
                f"the audit chain's head (entry {head.seq}) does not match its last entry; run 'lfr audit verify' "
                "before anything else is recorded"
            )
    entry = AuditEntry(
        seq=head.seq + 1,
        at=(at or datetime.now(UTC)).astimezone(UTC),
        actor=actor,
        action=str(action),
        deployment_id=deployment_id,
        target=target,
        details_json=json.dumps(dict(details or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":")),
        rows_json="",
        prev_hash=head.hash,
        hash="",
    )
    entry.hash = _hash_of(entry)
    head.seq, head.hash = entry.seq, entry.hash
    head.mac = sealer_of(session).head_mac(head.seq, head.hash)
    session.add(entry)
    session.flush()
    note_entry(session, entry)
    return entry


def bind_rows(session: Session, rows: Mapping[RowKey, str | None]) -> None:
    """Bind the rows a transaction changed into its last audit entry (``store/seal.py`` calls this at
    commit); a transaction that changed chained rows without recording an action gets an automatic entry."""
    entry = last_entry(session)
    if not isinstance(entry, AuditEntry):
        entry = record(session, "system", AuditAction.ROWS_CHANGED, details={"rows": len(rows)})
    head = session.get(AuditHead, 1)
    if head is None or head.seq != entry.seq:
        raise AuditChainError("the audit chain moved on inside a transaction; nothing was recorded")
    entry.rows_json = rows_json(rows)
    entry.hash = _hash_of(entry)
    head.hash = entry.hash
    head.mac = sealer_of(session).head_mac(head.seq, head.hash)


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    """The result of checking the chain and the state it covers: ``ok``, how many entries, the first broken
    entry (``first_broken``, for the chain itself) and every row changed behind the program's back
    (``findings``: table, row id, how)."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken: int | None = None
    problem: str = ""
    findings: tuple[RowFinding, ...] = ()


def verify(session: Session, batch: int = 2000) -> AuditVerdict:
    """Walk the whole chain in order and name the first entry that an edit, insertion or deletion broke;
    then check every protected row against its seal and the state the chain recorded (``store/integrity``)."""
    sealer = sealer_of(session)
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    expected_seq, prev_hash, count = 1, GENESIS, 0
    expected: dict[RowKey, str | None] = {}
    query = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    for entry in session.scalars(query):
        count += 1
        if entry.seq != expected_seq:
            return _broken(
                count,
                head_seq,
                head_hash,
                expected_seq,
                f"entry {expected_seq} is missing (deleted?): the chain jumps from {expected_seq - 1} to {entry.seq}",
            )
        if entry.prev_hash != prev_hash:
            return _broken(
                count,
                head_seq,
                head_hash,
                entry.seq,
                f"entry {entry.seq} ({entry.action}, "
                f"{utc_text(entry.at)}) does not link to entry {entry.seq - 1}: an entry was inserted, "
                "replaced or altered before it",
            )
        if _hash_of(entry) != entry.hash:
            return _broken(
                count,
                head_seq,
                head_hash,
                entry.seq,
                f"entry {entry.seq} ({entry.action}, "
                f"{utc_text(entry.at)}) was altered: its content does not match its hash",
            )
        bound = _bound_rows(entry.rows_json)
        if bound is None:
            return _broken(
                count, head_seq, head_hash, entry.seq, f"entry {entry.seq} ({entry.action}) binds unreadable rows"
            )
        expected.update(bound)
        expected_seq, prev_hash = entry.seq + 1, entry.hash
        session.expunge(entry)
    last = expected_seq - 1
    if head is None:
        return _broken(count, head_seq, head_hash, last + 1, "the chain's head is missing (deleted?)")
    if last != head_seq or prev_hash != head_hash:
        where = last + 1 if last < head_seq else head_seq + 1
        return _broken(
            count,
            head_seq,
            head_hash,
            where,
            f"the chain ends at entry {last} but its head records "
            f"entry {head_seq}: entries were deleted from, or added to, the end",
        )
    if head.mac != sealer.head_mac(head_seq, head_hash):
        return _broken(
            count,
            head_seq,
            head_hash,
            head_seq,
            "the chain's head does not carry the store key's seal: it was rewritten",
        )
    if count == 0 and (session.get(Meta, "key_check") is not None or has_data(session)):
        return _broken(count, head_seq, head_hash, 1, "the audit chain is empty beside existing data")
    findings = tuple(check_rows(session, sealer, expected, batch))
    if findings:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        return AuditVerdict(
            ok=False,
            entries=count,
            head_seq=head_seq,
            head_hash=head_hash,
            problem=f"{findings[0].says}{more}",
            findings=findings,
        )
    return AuditVerdict(ok=True, entries=count, head_seq=head_seq, head_hash=head_hash)


def _bound_rows(text: str) -> dict[RowKey, str | None] | None:
    """The rows an entry binds (``{}`` for an entry from before 0004); None if they cannot be read (forged)."""
    if not text:
        return {}
    try:
        rows = json.loads(text)
    except ValueError:
        return None
    bound: dict[RowKey, str | None] = {}
    for row in rows if isinstance(rows, list) else [None]:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(v, str) for v in row[:2])):
            return None
        if row[2] is not None and not isinstance(row[2], str):
            return None
        bound[(row[0], row[1])] = row[2]
    return bound


def _broken(count: int, head_seq: int, head_hash: str, seq: int, problem: str) -> AuditVerdict:
    return AuditVerdict(
        ok=False, entries=count, head_seq=head_seq, head_hash=head_hash, first_broken=seq, problem=problem
    )


@dataclass(frozen=True, slots=True)
class AuditEntryView:
    """One entry of the chain as read back (``details`` parsed)."""

    seq: int
    at: datetime
    actor: str
    action: str
    deployment_id: str | None
    target: str | None
    details: dict[str, Detail]


def entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    deployment_id: str | None = None,
    last: int = 100,
    before: int | None = None,
) -> list[AuditEntryView]:
    """The last ``last`` entries matching the filters (before chain position ``before``), oldest first."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(last)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if deployment_id is not None:
        query = query.where(AuditEntry.deployment_id == deployment_id)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    rows = list(reversed(session.scalars(query).all()))
    return [
        AuditEntryView(r.seq, as_utc(r.at), r.actor, r.action, r.deployment_id, r.target, json.loads(r.details_json))
        for r in rows
    ]
