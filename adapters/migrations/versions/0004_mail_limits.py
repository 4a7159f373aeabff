"""mail limits: organisations that may email outside addresses, and the indexes that count what was sent

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Self-contained on purpose (no imports from adapters.tables), like 0001 and 0002.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite adds a column with a server default in place, PostgreSQL with ALTER TABLE.
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("outside_recipients", sa.Boolean(), server_default="0", nullable=False))
    op.create_index("ix_order_activity_actor_user_time", "order_activity", ["actor_user_id", "occurred_at"])
    op.create_index("ix_order_activity_actor_org_time", "order_activity", ["actor_org_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_order_activity_actor_org_time", table_name="order_activity")
    op.drop_index("ix_order_activity_actor_user_time", table_name="order_activity")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("outside_recipients")
