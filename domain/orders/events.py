"""Domain events: every change to an order, with actor, time, before and after.

The same record feeds the order's activity timeline and the outbox, written in the
transaction of the change; `audience` says who may ever see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

from domain.identity import Actor


class EventKind(Enum):
    """What happened to the order."""

    ORDER_CREATED = "ORDER_CREATED"
    STATUS_CHANGED = "STATUS_CHANGED"
    FIELDS_UPDATED = "FIELDS_UPDATED"
    ASSIGNED = "ASSIGNED"
    QUOTE_SUBMITTED = "QUOTE_SUBMITTED"
    QUOTE_DECLINED = "QUOTE_DECLINED"
    QUOTE_ACCEPTED = "QUOTE_ACCEPTED"
    QUOTE_REJECTED = "QUOTE_REJECTED"
    COMMENT_ADDED = "COMMENT_ADDED"  # also a follow-up emailed from the order: `after["message"]`
    ORDER_LINK_SENT = "ORDER_LINK_SENT"  # a signed link to resume a DRAFT was emailed


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may see an event: everyone who sees the order, or one organisation (plus the buyer side)."""

    org_id: UUID | None = None
    buyer_side: bool = False

    def admits(self, actor: Actor, order_partner_id: UUID) -> bool:
        """True when `actor` may see an event with this audience on an order it can see."""
        if self.org_id is None or actor.organisation_id == self.org_id:
            return True
        return self.buyer_side and (actor.is_vendor or actor.organisation_id == order_partner_id)


EVERYONE = Audience()


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One change to one order."""

    kind: EventKind
    order_id: UUID
    actor_user_id: UUID | None
    actor_org_id: UUID | None
    occurred_at: datetime
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    audience: Audience = EVERYONE
    subject_id: UUID | None = None  # the quote or comment the event is about
    id: UUID = field(default_factory=uuid4)
    known_to_all: bool = field(default=False, compare=False)
    """Everyone who sees the order learns of this change, in this event or in its twin of the same command
    for the other audience (see `Order.update`); so its time may show as the order's last activity."""

    @property
    def seen_by_everyone(self) -> bool:
        """True when everyone who sees the order learns of this change (in this event, or in its twin)."""
        return self.audience.org_id is None or self.known_to_all

    @property
    def moves_last_activity(self) -> bool:
        """True when the order's "last activity", which everyone who sees the order sees, may take this time.

        Events of a restricted audience do not move it, or the time of an internal comment or a
        provider note would reach the other side; unless the change is known to all anyway.
        """
        return self.seen_by_everyone


def jsonable(value: object) -> object:
    """A JSON-ready form of a domain value, for before/after snapshots."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
