"""notifications: per-order recipient lists, watchers, and the delivery log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Self-contained on purpose (no imports from adapters.tables), like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "order_recipients",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_recipients_order_id_orders"),
        sa.PrimaryKeyConstraint("order_id", "side", "email", name="pk_order_recipients"),
    )
    op.create_table(
        "order_watchers",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_watchers_order_id_orders"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_order_watchers_user_id_users"),
        sa.PrimaryKeyConstraint("order_id", "user_id", name="pk_order_watchers"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("template", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("generation", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("audience_org_id", sa.Uuid(), nullable=True),
        sa.Column("audience_buyer_side", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("leased_until", UtcDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["order_activity.id"], name="fk_notifications_event_id_order_activity"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_notifications_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("event_id", "recipient", name="uq_notifications_event_recipient"),
    )
    op.create_index("ix_notifications_order_created", "notifications", ["order_id", "created_at"])
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("notifications", "order_watchers", "order_recipients"):
        op.drop_table(table)
