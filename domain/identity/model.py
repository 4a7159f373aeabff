"""Organisations, users and the actor: who is calling, and from which side."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID


class OrgKind(Enum):
    """The three kinds of organisation in a programme."""

    VENDOR = "VENDOR"
    PARTNER = "PARTNER"
    PROVIDER = "PROVIDER"


class Role(Enum):
    """A user's role inside its organisation."""

    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller of a command or query."""

    user_id: UUID
    organisation_id: UUID
    kind: OrgKind
    role: Role
    programme_id: UUID

    @property
    def is_vendor(self) -> bool:
        """True for users of the programme's vendor."""
        return self.kind is OrgKind.VENDOR

    @property
    def is_partner(self) -> bool:
        """True for users of a channel partner."""
        return self.kind is OrgKind.PARTNER

    @property
    def is_provider(self) -> bool:
        """True for users of a service provider."""
        return self.kind is OrgKind.PROVIDER


@dataclass(slots=True)
class Organisation:
    """A vendor, partner or provider taking part in one programme."""

    id: UUID
    programme_id: UUID
    kind: OrgKind
    name: str
    outside_recipients: bool = False
    """May its users email addresses beyond an order's people and recipients (the operator decides)."""


@dataclass(slots=True)
class User:
    """A person who signs in; belongs to exactly one organisation."""

    id: UUID
    organisation_id: UUID
    email: str
    name: str
    role: Role
    password_hash: str
    active: bool = True


def normalise_email(email: str) -> str:
    """Canonical form used for look-ups and uniqueness."""
    return email.strip().lower()


@dataclass(slots=True)
class Programme:
    """A vendor's programme: the organisations that trade with one another."""

    id: UUID
    name: str
    quote_approval_threshold: Decimal | None = None
    currency: str = "USD"


@dataclass(slots=True)
class AccessToken:
    """A bearer token, stored only as its SHA-256 digest."""

    digest: str
    user_id: UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        """True until it expires or is revoked."""
        return self.revoked_at is None and now < self.expires_at


def new_token_secret() -> str:
    """A fresh opaque bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    """The stored form of a bearer token."""
    return hashlib.sha256(secret.encode()).hexdigest()
