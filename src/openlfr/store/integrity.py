"""The state check of ``lfr audit verify``: the protected tables against their seals and the audit chain.

``audit.verify`` replays the chain's bound rows (``AuditEntry.rows_json``) into ``expected``: for each
row of a ``CHAINED`` table, the MAC the program last sealed it with, or ``None`` if the program deleted
it. Then every stored row is read once and compared:

- its MAC does not match its content: **edited** behind the program's back (or forged);
- it is not in ``expected`` (or the program deleted it): **inserted**;
- its MAC is valid but not the last one the chain bound: **replaced** by an earlier version of itself;
- a row in ``expected`` is not in its table: **deleted**.

Rows of the ``SEALED_ONLY`` tables are checked against their seal only (an edit or a forged row is
found; a deleted one is not). Cost: one pass over each protected table, one HMAC per row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from openlfr.store.models import Base
from openlfr.store.seal import CHAINED, MAC_COLUMN, PROTECTED, RowKey, Sealer, row_id


class FindingKind(StrEnum):
    EDITED = "edited"
    INSERTED = "inserted"
    DELETED = "deleted"
    REPLACED = "replaced"


_SAYS = {
    FindingKind.EDITED: "was edited behind the program's back: its content does not match its seal",
    FindingKind.INSERTED: "was inserted behind the program's back: no audit entry records it",
    FindingKind.DELETED: "was deleted behind the program's back: the audit chain records it, the table does not",
    FindingKind.REPLACED: "was replaced by an earlier version of itself: its seal is not the one the chain last "
    "recorded",
}


@dataclass(frozen=True, slots=True)
class RowFinding:
    """One row changed behind the program's back: which table, which row (primary key), how."""

    table: str
    row_id: str
    kind: FindingKind

    @property
    def says(self) -> str:
        return f"{self.table} row {self.row_id} {_SAYS[self.kind]}"


def tables() -> Iterator[Table]:
    for name in PROTECTED:
        table = Base.metadata.tables[name]
        assert isinstance(table, Table)
        yield table


def check_rows(
    session: Session, sealer: Sealer, expected: Mapping[RowKey, str | None], batch: int = 2000
) -> list[RowFinding]:
    """Every protected row against its seal and (chained tables) against the chain's ``expected`` state."""
    findings: list[RowFinding] = []
    seen: set[RowKey] = set()
    for table in tables():
        chained = table.name in CHAINED
        columns = list(table.columns)
        query = select(table).order_by(*table.primary_key.columns).execution_options(yield_per=batch)
        for row in session.execute(query).mappings():
            key = (table.name, row_id(table, row))
            valid = sealer.row_mac(table.name, columns, row) == row[MAC_COLUMN]
            if not chained:
                if not valid:
                    findings.append(RowFinding(key[0], key[1], FindingKind.EDITED))
                continue
            seen.add(key)
            bound = expected.get(key)
            if bound is None:
                findings.append(RowFinding(key[0], key[1], FindingKind.INSERTED))
            elif not valid:
                findings.append(RowFinding(key[0], key[1], FindingKind.EDITED))
            elif bound != row[MAC_COLUMN]:
                findings.append(RowFinding(key[0], key[1], FindingKind.REPLACED))
    for key, mac in sorted(expected.items()):
        if mac is not None and key not in seen:
            findings.append(RowFinding(key[0], key[1], FindingKind.DELETED))
    return findings


def has_data(session: Session) -> bool:
    """Whether any protected row exists (an empty chain beside them is broken, not intact)."""
    return any(session.execute(select(t).limit(1)).first() is not None for t in tables())
