"""Order links: an HMAC over the order id and an expiry, with a secret passed in."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

from domain.common import InvalidInput, PermissionDenied
from domain.identity import Actor
from domain.notifications.follow_ups import MAX_SUBJECT, clean_subject
from domain.notifications.planning import Person
from domain.notifications.recipients import clean_email
from domain.orders import (
    Audience,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
    Party,
)

MAX_LINK_MESSAGE: Final = 4_000


DEFAULT_LINK_TTL: Final = timedelta(days=7)


MAX_LINK_TTL: Final = timedelta(days=30)


@dataclass(slots=True)
class OrderLink:
    """A signed, expiring link to a DRAFT order, emailed to a user of its partner."""

    order_id: UUID
    to: str
    subject: str
    message: str
    expires_at: datetime
    events: list[OrderEvent] = field(default_factory=list, repr=False)

    def pull_events(self) -> list[OrderEvent]:
        """Hand the recorded events to the unit of work, once."""
        events, self.events = self.events, []
        return events


def new_order_link(
    *,
    actor: Actor,
    order: Order,
    now: datetime,
    recipient: Person | None,
    to: str,
    subject: str,
    message: str,
    ttl: timedelta = DEFAULT_LINK_TTL,
) -> OrderLink:
    """A link for a user of the ordering partner to finish a DRAFT; records ORDER_LINK_SENT (buyer side only)."""
    if not {Party.PARTNER, Party.VENDOR} & order.parties_of(actor):
        raise PermissionDenied("Only the ordering partner (or the vendor) sends order links.", field="orderId")
    if order.status is not OrderStatus.DRAFT:
        raise InvalidInput(
            f"Only a DRAFT order can be resumed from a link; this one is {order.status.value}.", field="orderId"
        )
    email = clean_email(to, field="to")
    if recipient is None or recipient.email != email or recipient.organisation_id != order.partner_id:
        raise InvalidInput("The link goes to a user of the ordering partner, who signs in to finish it.", field="to")
    if not recipient.active:
        raise InvalidInput(f"{email} is no longer an active user.", field="to")
    if not timedelta(hours=1) <= ttl <= MAX_LINK_TTL:
        raise InvalidInput(f"A link lasts from 1 hour to {MAX_LINK_TTL.days} days.", field="expiresInHours")
    text = message.strip()
    if len(text) > MAX_LINK_MESSAGE:
        raise InvalidInput(f"The message is at most {MAX_LINK_MESSAGE} characters.", field="message")
    clean = clean_subject(subject or f"Finish order #{order.number}: {order.name}"[:MAX_SUBJECT])
    expires_at = (now + ttl).replace(microsecond=0)
    link = OrderLink(order.id, email, clean, text, expires_at)
    link.events.append(
        OrderEvent(
            kind=EventKind.ORDER_LINK_SENT,
            order_id=order.id,
            actor_user_id=actor.user_id,
            actor_org_id=actor.organisation_id,
            occurred_at=now,
            after={"to": email, "subject": clean, "message": text, "expires_at": expires_at.isoformat()},
            audience=Audience(org_id=order.partner_id, buyer_side=True),
        )
    )
    return link


_LINK_PURPOSE: Final = b"ordergraph-order-link-v1"


def sign_order_link(order_id: UUID, expires_at: datetime, secret: bytes) -> str:
    """A URL-safe token naming the order and the expiry, with an HMAC-SHA256 over both."""
    if not secret:
        raise ValueError("an order link needs a secret")
    payload = f"{order_id.hex}.{int(expires_at.timestamp())}"
    return f"{payload}.{_b64(_mac(payload, secret))}"


def verify_order_link(token: str, secret: bytes, now: datetime) -> tuple[UUID, datetime]:
    """The order id and expiry of a genuine, unexpired token; InvalidInput (field token) otherwise."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not secret:
        raise InvalidInput("This order link is not valid.", field="token")
    order_hex, expiry, signature = parts
    payload = f"{order_hex}.{expiry}"
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        order_id = UUID(hex=order_hex)
        expires_at = datetime.fromtimestamp(int(expiry), UTC)
    except (ValueError, binascii.Error, OverflowError, OSError):
        raise InvalidInput("This order link is not valid.", field="token") from None
    if not hmac.compare_digest(given, _mac(payload, secret)):
        raise InvalidInput("This order link is not valid.", field="token")
    if now >= expires_at:
        raise InvalidInput(f"This order link expired at {expires_at.isoformat()}; ask for a new one.", field="token")
    return order_id, expires_at


def check_link_opens(order: Order) -> None:
    """A link resumes a DRAFT only: once the order has been submitted (or cancelled), the link is spent."""
    if order.status is not OrderStatus.DRAFT:
        raise InvalidInput(
            f"This order link no longer opens: order #{order.number} is {order.status.value} now, no longer a DRAFT.",
            field="token",
        )


def _mac(payload: str, secret: bytes) -> bytes:
    return hmac.new(secret, _LINK_PURPOSE + b":" + payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
