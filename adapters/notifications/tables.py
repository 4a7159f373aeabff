"""Notifications' tables: per-order recipient lists, watchers and the delivery log."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from adapters.db import UtcDateTime, id_column, metadata

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
    id_column(),
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
