"""Identity's tables: programmes, organisations, users and access tokens."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Uuid,
)

from adapters.db import Money, UtcDateTime, id_column, metadata

programmes = Table(
    "programmes",
    metadata,
    id_column(),
    Column("name", String(200), nullable=False),
    Column("quote_approval_threshold", Money, nullable=True),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("order_seq", Integer, nullable=False, server_default="0"),
)


organisations = Table(
    "organisations",
    metadata,
    id_column(),
    Column("programme_id", Uuid, ForeignKey("programmes.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    # Follow-ups to addresses beyond an order's people and recipients (set by the operator: the CLI).
    Column("outside_recipients", Boolean, nullable=False, server_default="0"),
)


users = Table(
    "users",
    metadata,
    id_column(),
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
