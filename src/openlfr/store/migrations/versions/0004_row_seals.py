"""row seals: a MAC on every row that decides something, the rows each audit entry changed, a sealed head

Existing rows are sealed here, at migration time, with the key the store is opened with (``Store.open``
checks that key against the store before it migrates), and one ``store.sealed`` audit entry binds every
chained row as it stood: the baseline ``lfr audit verify`` replays from. Whatever was edited behind the
program's back *before* this migration is sealed as it is (verify the chain first: ``lfr audit verify``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

from openlfr.store.audit import AuditAction, entry_hash
from openlfr.store.seal import MAC_COLUMN, PROTECTED, Sealer, rows_json, seal_existing

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in PROTECTED:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column(MAC_COLUMN, sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rows_json", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    sealer = context.config.attributes.get("sealer")
    if not isinstance(sealer, Sealer):
        raise RuntimeError("migration 0004 seals the store's rows: run it through openlfr.store.db.upgrade")
    bind = op.get_bind()
    meta = sa.MetaData()
    tables = [sa.Table(name, meta, autoload_with=bind) for name in PROTECTED]
    chained = seal_existing(bind, sealer, tables)
    log = sa.Table("audit_log", meta, autoload_with=bind)
    head_table = sa.Table("audit_head", meta, autoload_with=bind)
    head = bind.execute(sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).first()
    if head is None:
        return  # a new store: its chain starts when it is opened
    seq, at = int(head.seq) + 1, datetime.now(UTC)
    details = json.dumps({"rows": len(chained)}, sort_keys=True, separators=(",", ":"))
    bound = rows_json(chained)
    action = str(AuditAction.STORE_SEALED)
    digest = entry_hash(head.hash, seq, at, "system", action, None, None, details, bound)
    bind.execute(
        log.insert().values(
            seq=seq,
            at=at,
            actor="system",
            action=action,
            deployment_id=None,
            target=None,
            details_json=details,
            rows_json=bound,
            prev_hash=head.hash,
            hash=digest,
        )
    )
    bind.execute(
        head_table.update().where(head_table.c.id == 1).values(seq=seq, hash=digest, mac=sealer.head_mac(seq, digest))
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("mac")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("rows_json")
    for name in reversed(PROTECTED):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column(MAC_COLUMN)
