"""initial schema: directory, orders and quotes, comments and attachments, activity, outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Self-contained on purpose (no imports from adapters.tables, which will change): the
types are spelled as the database sees them. UtcDateTime is a timezone-aware DateTime;
Money is NUMERIC(14, 2), stored as text on SQLite, which has no decimal type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = sa.DateTime(timezone=True)
Money = sa.Numeric(14, 2).with_variant(sa.String(32), "sqlite")


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "programmes",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quote_approval_threshold", Money, nullable=True),
        sa.Column("currency", sa.String(3), server_default="USD", nullable=False),
        sa.Column("order_seq", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_programmes"),
    )
    op.create_table(
        "organisations",
        _id(),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"], name="fk_organisations_programme_id_programmes"),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
    )
    op.create_index("ix_organisations_programme_id", "organisations", ["programme_id"])

    op.create_table(
        "users",
        _id(),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name="fk_users_organisation_id_organisations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_index("ix_users_organisation_id", "users", ["organisation_id"])

    op.create_table(
        "access_tokens",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_access_tokens_user_id_users"),
        sa.PrimaryKeyConstraint("digest", name="pk_access_tokens"),
    )
    op.create_index("ix_access_tokens_user_id", "access_tokens", ["user_id"])

    op.create_table(
        "services",
        _id(),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("activity_type", sa.String(200), server_default="", nullable=False),
        sa.Column("price", Money, nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["provider_id"], ["organisations.id"], name="fk_services_provider_id_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
    )
    op.create_index("ix_services_provider_id", "services", ["provider_id"])

    op.create_table(
        "orders",
        _id(),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("campaign_name", sa.String(200), server_default="", nullable=False),
        sa.Column("activity_type", sa.String(200), server_default="", nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("partner_contact_id", sa.Uuid(), nullable=True),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("end_customer", sa.String(200), server_default="", nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.String(16), server_default="NORMAL", nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total", Money, nullable=False),
        sa.Column("po_number", sa.String(200), server_default="", nullable=False),
        sa.Column("po_not_required", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("requested_completion", sa.Date(), nullable=True),
        sa.Column("planned_completion", sa.Date(), nullable=True),
        sa.Column("estimated_completion", sa.Date(), nullable=True),
        sa.Column("provider_notes", sa.Text(), server_default="", nullable=False),
        sa.Column("cancel_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("rejected", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("submitted_at", UtcDateTime, nullable=True),
        sa.Column("released_to_provider_at", UtcDateTime, nullable=True),
        sa.Column("last_activity_at", UtcDateTime, nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"], name="fk_orders_programme_id_programmes"),
        sa.ForeignKeyConstraint(["partner_id"], ["organisations.id"], name="fk_orders_partner_id_organisations"),
        sa.ForeignKeyConstraint(["partner_contact_id"], ["users.id"], name="fk_orders_partner_contact_id_users"),
        sa.ForeignKeyConstraint(["provider_id"], ["organisations.id"], name="fk_orders_provider_id_organisations"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name="fk_orders_service_id_services"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_orders_owner_id_users"),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name="fk_orders_assignee_id_users"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_orders_created_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("programme_id", "number", name="uq_orders_programme_number"),
    )
    op.create_index("ix_orders_partner_id", "orders", ["partner_id"])
    op.create_index("ix_orders_provider_id", "orders", ["provider_id"])
    op.create_index("ix_orders_assignee_id", "orders", ["assignee_id"])
    op.create_index("ix_orders_programme_status", "orders", ["programme_id", "status"])
    op.create_index("ix_orders_last_activity", "orders", ["last_activity_at", "id"])
    op.create_index("ix_orders_submitted", "orders", ["submitted_at", "id"])

    op.create_table(
        "quotes",
        _id(),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total", Money, nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("promised_completion", sa.Date(), nullable=True),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_quotes_order_id_orders"),
        sa.ForeignKeyConstraint(["provider_id"], ["organisations.id"], name="fk_quotes_provider_id_organisations"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_quotes_created_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_quotes"),
    )
    op.create_index("ix_quotes_order_id", "quotes", ["order_id"])

    op.create_table(
        "comments",
        _id(),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("author_org_id", sa.Uuid(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("audience_org_id", sa.Uuid(), nullable=True),
        sa.Column("audience_buyer_side", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_comments_order_id_orders"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="fk_comments_author_id_users"),
        sa.ForeignKeyConstraint(
            ["author_org_id"], ["organisations.id"], name="fk_comments_author_org_id_organisations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
    )
    op.create_index("ix_comments_order_created", "comments", ["order_id", "created_at"])

    op.create_table(
        "attachments",
        _id(),
        sa.Column("comment_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], name="fk_attachments_comment_id_comments"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_attachments_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
    )
    op.create_index("ix_attachments_comment_id", "attachments", ["comment_id"])

    op.create_table(
        "order_activity",
        _id(),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_org_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("audience_org_id", sa.Uuid(), nullable=True),
        sa.Column("audience_buyer_side", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_activity_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_order_activity"),
    )
    op.create_index("ix_order_activity_order_time", "order_activity", ["order_id", "occurred_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])


def downgrade() -> None:
    # Dropping a table drops its indexes; children before parents.
    for table in (
        "outbox",
        "order_activity",
        "attachments",
        "comments",
        "quotes",
        "orders",
        "services",
        "access_tokens",
        "users",
        "organisations",
        "programmes",
    ):
        op.drop_table(table)
