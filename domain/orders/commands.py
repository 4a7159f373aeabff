"""The commands that change an order, one frozen dataclass per mutation input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from domain.orders.comments import CommentVisibility, Upload
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.lines import Line


@dataclass(frozen=True, slots=True)
class CreateOrder:
    """Place a new DRAFT order."""

    kind: OrderKind
    name: str
    campaign_name: str = ""
    activity_type: str = ""
    provider_id: UUID | None = None
    service_id: UUID | None = None
    partner_contact_id: UUID | None = None
    end_customer: str = ""
    requested_completion: date | None = None
    lines: tuple[Line, ...] = ()
    po_number: str = ""
    po_not_required: bool = False


@dataclass(frozen=True, slots=True)
class UpdateOrder:
    """Edit fields; `changes` maps domain field names to values (UNSET ones left out)."""

    order_id: UUID
    changes: dict[str, Any]
    lines: tuple[Line, ...] | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class OrderCommand:
    """A lifecycle step on one order: submit, approve, archive."""

    order_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class ReasonedOrderCommand:
    """A lifecycle step that takes a reason: cancel, reject."""

    order_id: UUID
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class ChangeOrderStatus:
    """The provider's Change Status."""

    order_id: UUID
    status: OrderStatus
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class AssignOrder:
    """Assign to a provider user, or clear with None."""

    order_id: UUID
    assignee_id: UUID | None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class SubmitQuote:
    """A provider's quote on an open request."""

    order_id: UUID
    lines: tuple[Line, ...]
    expires_on: date | None = None
    promised_completion: date | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class DeclineQuote:
    """A provider declines to quote."""

    order_id: UUID
    message: str = ""


@dataclass(frozen=True, slots=True)
class DecideQuote:
    """The partner accepts or rejects one quote."""

    quote_id: UUID
    reason: str = ""
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class CreateComment:
    """A comment, optionally with attachments."""

    order_id: UUID
    body: str
    visibility: CommentVisibility = CommentVisibility.SHARED
    uploads: tuple[Upload, ...] = field(default_factory=tuple)
