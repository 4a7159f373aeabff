"""The relational schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Alembic migrations are the source of truth for the database; this module mirrors them
for queries, and a test checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """Exact decimal amounts: NUMERIC on PostgreSQL, text on SQLite (which has no decimal type)."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(14, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def _id() -> Column[Any]:
    return Column("id", Uuid, primary_key=True)


programmes = Table(
    "programmes",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("quote_approval_threshold", Money, nullable=True),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("order_seq", Integer, nullable=False, server_default="0"),
)

organisations = Table(
    "organisations",
    metadata,
    _id(),
    Column("programme_id", Uuid, ForeignKey("programmes.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("organisation_id", Uuid, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

services = Table(
    "services",
    metadata,
    _id(),
    Column("provider_id", Uuid, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("activity_type", String(200), nullable=False, server_default=""),
    Column("price", Money, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
)

orders = Table(
    "orders",
    metadata,
    _id(),
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
    UniqueConstraint("programme_id", "number", name="uq_orders_programme_number"),
    Index("ix_orders_programme_status", "programme_id", "status"),
    Index("ix_orders_last_activity", "last_activity_at", "id"),
    Index("ix_orders_submitted", "submitted_at", "id"),
)

quotes = Table(
    "quotes",
    metadata,
    _id(),
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
    _id(),
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
    _id(),
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
    _id(),
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

# ---- notifications (migration 0002) ------------------------------------------------------------

order_recipients = Table(
    "order_recipients",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id"), primary_key=True),
    Column("side", String(16), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("position", Integer, nullable=False),
)

order_watchers = Table(
    "order_watchers",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    # uuid5(event id, recipient): whoever plans the delivery of an event to a recipient gets the same row.
    _id(),
    Column("event_id", Uuid, ForeignKey("order_activity.id"), nullable=False),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("template", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # Bumped by a resend of a sent email: the next send is a new email (its own Message-ID).
    Column("generation", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("audience_org_id", Uuid, nullable=True),
    Column("audience_buyer_side", Boolean, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    # When the sweeper may enqueue a PENDING row again (its message lost, its worker killed, a retry due).
    Column("next_attempt_at", UtcDateTime, nullable=False),
    # Set while one worker sends it: nobody else sends the row until then.
    Column("leased_until", UtcDateTime, nullable=True),
    UniqueConstraint("event_id", "recipient", name="uq_notifications_event_recipient"),
    Index("ix_notifications_order_created", "order_id", "created_at"),
    Index("ix_notifications_due", "status", "next_attempt_at"),
)
