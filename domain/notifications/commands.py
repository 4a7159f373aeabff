"""The commands of notifications: recipient lists, follow-up messages and order links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from domain.notifications.links import DEFAULT_LINK_TTL
from domain.notifications.recipients import RecipientSide
from domain.orders import CommentVisibility, Upload


@dataclass(frozen=True, slots=True)
class UpdateRecipients:
    """Replace one side's notification addresses on an order."""

    order_id: UUID
    side: RecipientSide
    emails: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendMessage:
    """A follow-up: a comment emailed to `to`, optionally reassigning the order and watching it."""

    order_id: UUID
    to: tuple[str, ...]
    subject: str
    body: str
    visibility: CommentVisibility = CommentVisibility.SHARED
    assignee_id: UUID | None = None
    reassign: bool = False
    watch: bool = False
    uploads: tuple[Upload, ...] = field(default_factory=tuple)
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class SendOrderLink:
    """Email a user of the ordering partner a signed, expiring link to finish a DRAFT."""

    order_id: UUID
    to: str
    subject: str = ""
    message: str = ""
    ttl: timedelta = DEFAULT_LINK_TTL
