"""A provider's quote on an order: its lines, validity and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

from domain.orders.events import Audience
from domain.orders.lines import Line, total_of


class QuoteStatus(Enum):
    """Where a provider's quote stands."""

    SUBMITTED = "SUBMITTED"
    DECLINED = "DECLINED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    CLOSED = "CLOSED"  # another quote was accepted, or the request ended without one


@dataclass(slots=True)
class Quote:
    """A provider's answer to a quoted order (or its refusal to quote)."""

    id: UUID
    order_id: UUID
    provider_id: UUID
    status: QuoteStatus
    lines: tuple[Line, ...]
    expires_on: date | None
    promised_completion: date | None
    message: str
    created_by: UUID
    created_at: datetime
    decided_at: datetime | None = None

    @property
    def total(self) -> Decimal:
        """The quoted amount."""
        return total_of(self.lines)

    @property
    def audience(self) -> Audience:
        """A quote is seen by its provider and the buyer side, never by competing providers."""
        return Audience(org_id=self.provider_id, buyer_side=True)
