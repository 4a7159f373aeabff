"""Orders' tables: the catalogue, orders, quotes, comments, attachments, the activity timeline and the outbox."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from adapters.db import Money, UtcDateTime, id_column, metadata

services = Table(
    "services",
    metadata,
    id_column(),
    Column("provider_id", Uuid, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("activity_type", String(200), nullable=False, server_default=""),
    Column("price", Money, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
)


orders = Table(
    "orders",
    metadata,
    id_column(),
    Column("programme_id", Uuid, ForeignKey("programmes.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("campaign_name", String(200), nullable=False, server_default=""),
    Column("activity_type", String(200), nullable=False, server_default=""),
    Column("partner_id", Uuid, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("partner_contact_id", Uuid, ForeignKey("users.id"), nullable=True),
    Column("provider_id", Uuid, ForeignKey("organisations.id"), nullable=True, index=True),
    Column("service_id", Uuid, ForeignKey("services.id"), nullable=True),
    Column("end_customer", String(200), nullable=False, server_default=""),
    Column("owner_id", Uuid, ForeignKey("users.id"), nullable=True),
    Column("assignee_id", Uuid, ForeignKey("users.id"), nullable=True, index=True),
    Column("priority", String(16), nullable=False, server_default="NORMAL"),
    Column("lines", JSON, nullable=False),
    Column("total", Money, nullable=False),
    Column("po_number", String(200), nullable=False, server_default=""),
    Column("po_not_required", Boolean, nullable=False, server_default="0"),
    Column("requested_completion", Date, nullable=True),
    Column("planned_completion", Date, nullable=True),
    Column("estimated_completion", Date, nullable=True),
    Column("provider_notes", Text, nullable=False, server_default=""),
    Column("cancel_reason", Text, nullable=False, server_default=""),
    Column("rejected", Boolean, nullable=False, server_default="0"),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("released_to_provider_at", UtcDateTime, nullable=True),
    Column("last_activity_at", UtcDateTime, nullable=True),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    # What each side sees of the version (see Order.version_for): the commands everyone sees, and per
    # audience [org_id, buyer_side, count] those only it sees. Read with the row: no query of its own.
    Column("public_version", Integer, nullable=False, server_default="1"),
    Column("audience_versions", JSON, nullable=False, server_default="[]"),
    UniqueConstraint("programme_id", "number", name="uq_orders_programme_number"),
    Index("ix_orders_programme_status", "programme_id", "status"),
    Index("ix_orders_last_activity", "last_activity_at", "id"),
    Index("ix_orders_submitted", "submitted_at", "id"),
)


quotes = Table(
    "quotes",
    metadata,
    id_column(),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False, index=True),
    Column("provider_id", Uuid, ForeignKey("organisations.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("total", Money, nullable=False),
    Column("expires_on", Date, nullable=True),
    Column("promised_completion", Date, nullable=True),
    Column("message", Text, nullable=False, server_default=""),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
)


comments = Table(
    "comments",
    metadata,
    id_column(),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("author_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("author_org_id", Uuid, ForeignKey("organisations.id"), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("audience_org_id", Uuid, nullable=True),
    Column("audience_buyer_side", Boolean, nullable=False, server_default="0"),
    Index("ix_comments_order_created", "order_id", "created_at"),
)


attachments = Table(
    "attachments",
    metadata,
    id_column(),
    Column("comment_id", Uuid, ForeignKey("comments.id"), nullable=False, index=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(120), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


order_activity = Table(
    "order_activity",
    metadata,
    id_column(),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor_user_id", Uuid, nullable=True),
    Column("actor_org_id", Uuid, nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("before", JSON, nullable=False),
    Column("after", JSON, nullable=False),
    Column("audience_org_id", Uuid, nullable=True),
    Column("audience_buyer_side", Boolean, nullable=False, server_default="0"),
    Column("subject_id", Uuid, nullable=True),
    # Events of one command share a time; `seq` keeps the order the domain recorded them in.
    Column("seq", Integer, nullable=False, server_default="0"),
    Index("ix_order_activity_order_time", "order_id", "occurred_at"),
    # Counting what one user or organisation sent lately (domain.notifications.SEND_WINDOWS).
    Index("ix_order_activity_actor_user_time", "actor_user_id", "occurred_at"),
    Index("ix_order_activity_actor_org_time", "actor_org_id", "occurred_at"),
)


outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("topic", String(64), nullable=False),
    Column("order_id", Uuid, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Index("ix_outbox_unpublished", "published_at", "id"),
)
