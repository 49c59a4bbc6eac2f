"""publication: a deployment marked by a supervisor for the public notice

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("published_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("published_at")
        batch_op.drop_column("published_by")
        batch_op.drop_column("published")
