"""Row seals: every row that decides something carries a MAC under a key derived from the store key.

``row_mac = HMAC-SHA256(derive("row-mac"), canonical(table, row))``, where the canonical form is the
table's name and the row's non-null columns (``row_mac`` itself left out) as sorted JSON: times as UTC
text, floats by ``repr``, booleans as 0/1, binary columns by their SHA-256. Adding a nullable column
therefore leaves every seal valid; a migration that adds a non-null column, or changes a value in
place, must reseal what it touched (``seal_existing``).

The one writer is the ORM unit of work: ``attach`` hooks the store's sessions, and a mapper hook
seals each row *after* it is inserted or updated, from what the database then holds (so a time or a
number reads back exactly as it is sealed), in the same transaction. Rows of the ``CHAINED`` tables
are also bound into the audit chain: at commit, the transaction's last audit entry (or, where the
transaction recorded none, an automatic ``store.rows_changed`` entry) lists each changed row with its
new MAC (``None`` for a deleted row), so ``integrity.check`` can replay the chain into the state the
program wrote and compare it with the tables. Bulk ``UPDATE``/``DELETE``/``INSERT`` statements on a
protected table are refused: they would bypass the seals.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Connection, DateTime, Float, Integer, LargeBinary, Table, event, select, update
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, object_session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from openlfr.errors import RowSealError, StoreError
from openlfr.store.times import as_utc

CHAINED = (
    "deployments",
    "deployment_cameras",
    "watchlist_entries",
    "entry_templates",
    "alerts",
    "adjudications",
    "legal_holds",
    "purges",
    "users",
    "api_tokens",
)
"""Sealed, and every change bound into the audit chain: an edit, insertion or deletion is found."""
SEALED_ONLY = ("deployment_runs", "web_sessions")
"""Sealed only (written too often to chain): an edit or a forged row is found, a deleted row is not."""
PROTECTED = CHAINED + SEALED_ONLY
MAC_COLUMN = "row_mac"
ROW_MAC_LABEL = "row-mac"
"""The label of the seals' key (``Cipher.derive``)."""

_SEALER = "lfr_sealer"
_ROWS = "lfr_rows"
_ENTRY = "lfr_entry"
RowKey = tuple[str, str]
"""(table, primary key as text)."""


class Sealer:
    """Computes row and chain-head MACs with a key derived from the store key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def row_mac(self, table: str, columns: Sequence[Column[Any]], row: Mapping[Any, Any]) -> str:
        return hmac.new(self._key, canonical(table, columns, row), hashlib.sha256).hexdigest()

    def head_mac(self, seq: int, head_hash: str) -> str:
        return hmac.new(self._key, f"audit-head|{seq}|{head_hash}".encode(), hashlib.sha256).hexdigest()


def _value(column: Column[Any], value: Any) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return int(bool(value))
    if isinstance(kind, DateTime) and isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(kind, Float):
        return repr(float(value))
    if isinstance(kind, Integer):
        return int(value)
    if isinstance(kind, LargeBinary):
        return hashlib.sha256(bytes(value)).hexdigest()
    return str(value)


def canonical(table: str, columns: Sequence[Column[Any]], row: Mapping[Any, Any]) -> bytes:
    """The bytes a row's MAC covers (non-null columns only, sorted by name)."""
    fields = sorted(
        (c.name, _value(c, row[c.name])) for c in columns if c.name != MAC_COLUMN and row[c.name] is not None
    )
    return json.dumps([table, fields], ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def row_id(table: Table, row: Mapping[Any, Any]) -> str:
    return "|".join(str(row[c.name]) for c in table.primary_key.columns)


def sealer_of(session: Session) -> Sealer:
    sealer = session.info.get(_SEALER)
    if not isinstance(sealer, Sealer):
        raise StoreError(
            "a protected row was written outside the store's sessions (Store.session): it cannot be sealed"
        )
    return sealer


def rows_json(rows: Mapping[RowKey, str | None]) -> str:
    """The rows a transaction changed, as the audit entry binds them: ``[[table, id, mac or null], ...]``."""
    return json.dumps([[t, i, m] for (t, i), m in sorted(rows.items())], separators=(",", ":"))


def note_entry(session: Session, entry: object) -> None:
    """Remember the transaction's last audit entry (``audit.record``): its rows are bound at commit."""
    session.info[_ENTRY] = entry


def last_entry(session: Session) -> object | None:
    return session.info.get(_ENTRY)


def attach(factory: sessionmaker[Session], sealer: Sealer) -> None:
    """Seal every protected row written through ``factory``'s sessions and bind their changes at commit."""
    from openlfr.store.models import Base

    factory.configure(info={_SEALER: sealer})
    event.listen(factory, "do_orm_execute", _refuse_bulk)
    event.listen(factory, "before_commit", _bind)
    event.listen(factory, "after_commit", _forget)
    event.listen(factory, "after_soft_rollback", _forget_rollback)
    for mapper in Base.registry.mappers:
        if _table(mapper).name in PROTECTED and not event.contains(mapper, "after_insert", _after_write):
            event.listen(mapper, "after_insert", _after_write)
            event.listen(mapper, "before_update", _before_update)
            event.listen(mapper, "after_update", _after_write)
            event.listen(mapper, "after_delete", _after_delete)


def _table(mapper: Mapper[Any]) -> Table:
    table = mapper.local_table
    if not isinstance(table, Table):
        raise StoreError(f"{mapper.class_.__name__} is not mapped to one table")
    return table


def _where(mapper: Mapper[Any], target: Any) -> list[Any]:
    values = mapper.primary_key_from_instance(target)
    return [c == v for c, v in zip(mapper.primary_key, values, strict=True)]


def _before_update(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    """Refuse to seal over an edit made behind the program's back: the row must still match its seal."""
    session = object_session(target)
    if session is None:
        raise StoreError("a protected row was written without a session")
    table = _table(mapper)
    row = connection.execute(select(table).where(*_where(mapper, target))).mappings().one_or_none()
    if row is not None and sealer_of(session).row_mac(table.name, list(table.columns), row) != row[MAC_COLUMN]:
        rid = row_id(table, row)
        raise RowSealError(
            f"{table.name} row {rid} does not match its seal (changed behind the program's back); nothing was "
            "changed: run 'lfr audit verify'",
            table=table.name,
            row_id=rid,
        )


def _after_write(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    session = object_session(target)
    if session is None:
        raise StoreError("a protected row was written without a session")
    table = _table(mapper)
    where = _where(mapper, target)
    row = connection.execute(select(table).where(*where)).mappings().one()
    mac = sealer_of(session).row_mac(table.name, list(table.columns), row)
    if mac != row[MAC_COLUMN]:
        connection.execute(update(table).where(*where).values({MAC_COLUMN: mac}))
        if table.name in CHAINED:
            session.info.setdefault(_ROWS, {})[(table.name, row_id(table, row))] = mac
    set_committed_value(target, MAC_COLUMN, mac)


def _after_delete(mapper: Mapper[Any], _connection: Connection, target: Any) -> None:
    session = object_session(target)
    table = _table(mapper)
    if session is not None and table.name in CHAINED:
        values = mapper.primary_key_from_instance(target)
        ids = {c.name: v for c, v in zip(mapper.primary_key, values, strict=True)}
        session.info.setdefault(_ROWS, {})[(table.name, row_id(table, ids))] = None


def _refuse_bulk(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        target = getattr(state.statement, "table", None)
        name = getattr(target, "name", None)
        if name in PROTECTED:
            raise StoreError(f"bulk {type(state.statement).__name__.upper()} on {name} would bypass its row seals")


def _bind(session: Session) -> None:
    session.flush()
    rows: dict[RowKey, str | None] = session.info.pop(_ROWS, {})
    if rows:
        from openlfr.store import audit

        audit.bind_rows(session, rows)
        session.flush()


def _forget(session: Session) -> None:
    session.info.pop(_ROWS, None)
    session.info.pop(_ENTRY, None)


def _forget_rollback(session: Session, _previous: object) -> None:
    _forget(session)


def seal_existing(connection: Connection, sealer: Sealer, tables: Iterable[Table]) -> dict[RowKey, str | None]:
    """Seal every row of ``tables`` as it stands (a migration's step); the chained rows and their MACs."""
    chained: dict[RowKey, str | None] = {}
    for table in tables:
        where_cols = list(table.primary_key.columns)
        for row in connection.execute(select(table)).mappings().all():
            mac = sealer.row_mac(table.name, list(table.columns), row)
            connection.execute(update(table).where(*[c == row[c.name] for c in where_cols]).values({MAC_COLUMN: mac}))
            if table.name in CHAINED:
                chained[(table.name, row_id(table, row))] = mac
    return chained
