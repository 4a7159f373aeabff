"""The delivery log: one row per (event, recipient), who may see it and when it may be resent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final
from uuid import UUID

from domain.common import InvalidInput, NotFound
from domain.identity import Actor
from domain.orders import (
    Audience,
    EventKind,
    Order,
)


class DeliveryStatus(Enum):
    """Where one email stands: waiting (or retrying), sent, or given up on."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class Template(Enum):
    """The email templates; the value is the template's file name (adapters/email_templates)."""

    STATUS_CHANGED = "status_changed"
    ORDER_APPROVED = "order_approved"
    ORDER_REJECTED = "order_rejected"
    APPROVAL_REQUESTED = "approval_requested"
    QUOTE_REQUESTED = "quote_requested"
    QUOTE_SUBMITTED = "quote_submitted"
    QUOTE_DECLINED = "quote_declined"
    QUOTE_ACCEPTED = "quote_accepted"
    QUOTE_REJECTED = "quote_rejected"
    ORDER_ASSIGNED = "order_assigned"
    COMMENT_ADDED = "comment_added"
    FOLLOW_UP = "follow_up"
    ORDER_LINK = "order_link"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One email of the delivery log: an event's notification to one recipient."""

    id: UUID
    event_id: UUID
    order_id: UUID
    recipient: str
    template: Template
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    audience: Audience
    event_audience: Audience
    event_kind: EventKind
    last_error: str = ""
    sent_at: datetime | None = None
    generation: int = 0


def delivery_visible_to(actor: Actor, order: Order, delivery: Delivery) -> bool:
    """Seen by whoever may see both its event and the organisation it was sent to (or for).

    So a partner never sees the provider's internal list, the vendor never sees provider-only
    deliveries, and nobody learns of an internal comment of another organisation.
    """
    return (
        delivery.order_id == order.id
        and order.can_see(actor)
        and delivery.event_audience.admits(actor, order.partner_id)
        and delivery.audience.admits(actor, order.partner_id)
    )


RESEND_COOLDOWN: Final = timedelta(minutes=10)
"""How long after an email was sent it may be sent once more: resends make copies, not a stream of them."""


def check_resend(actor: Actor, order: Order, delivery: Delivery | None, now: datetime) -> Delivery:
    """The delivery to send again: one the actor may see that failed, is retrying, or was sent a while ago.

    A failed one starts over and a retrying one is tried at once (neither makes a second email); a
    sent one becomes a new email, at most once per RESEND_COOLDOWN; one still queued for its first try
    is on its way already.
    """
    if delivery is None or not delivery_visible_to(actor, order, delivery):
        raise NotFound("Notification")
    if delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0:
        raise InvalidInput("This email is queued for its first try already; it goes out as soon as it can.", field="id")
    if delivery.status is DeliveryStatus.SENT and delivery.sent_at is not None:
        allowed_at = delivery.sent_at + RESEND_COOLDOWN
        if now < allowed_at:
            raise InvalidInput(
                f"This email was sent at {delivery.sent_at.isoformat(timespec='seconds')}; "
                f"it can be sent again from {allowed_at.isoformat(timespec='seconds')}.",
                field="id",
            )
    return delivery
