"""Placing an order: the new DRAFT a partner user creates, checked against its kind and service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.common import InvalidInput, PermissionDenied
from domain.identity import Actor, User
from domain.orders.catalogue import Service
from domain.orders.events import EventKind
from domain.orders.fields import validate_fields
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.lines import Line, validate_lines
from domain.orders.order import Order


def new_order(
    *,
    actor: Actor,
    now: datetime,
    number: int,
    kind: OrderKind,
    name: str,
    campaign_name: str = "",
    activity_type: str = "",
    provider_id: UUID | None = None,
    service: Service | None = None,
    partner_contact: User | None = None,
    end_customer: str = "",
    requested_completion: date | None = None,
    lines: Sequence[Line] = (),
    po_number: str = "",
    po_not_required: bool = False,
) -> Order:
    """A new DRAFT order placed by a partner user."""
    if not actor.is_partner:
        raise PermissionDenied("Only partner users place orders.", field=None)
    if kind is OrderKind.FLAT_FEE:
        if service is None or not service.active:
            raise InvalidInput("A flat-fee order needs an active service.", field="serviceId")
        provider_id = service.provider_id
        lines = (Line(service.name, Decimal(1), service.price),)
        activity_type = activity_type or service.activity_type
    elif service is not None:
        raise InvalidInput("A quoted order is not bought from a priced service.", field="serviceId")
    if partner_contact is not None and partner_contact.organisation_id != actor.organisation_id:
        raise InvalidInput("The partner contact must be a user of your organisation.", field="partnerContactId")
    fields: dict[str, Any] = {
        "name": name,
        "campaign_name": campaign_name,
        "activity_type": activity_type,
        "end_customer": end_customer,
        "po_number": po_number,
    }
    validate_fields(fields)
    order = Order(
        id=uuid4(),
        programme_id=actor.programme_id,
        number=number,
        kind=kind,
        status=OrderStatus.DRAFT,
        partner_id=actor.organisation_id,
        created_by=actor.user_id,
        created_at=now,
        provider_id=provider_id,
        service_id=service.id if service else None,
        partner_contact_id=partner_contact.id if partner_contact else actor.user_id,
        requested_completion=requested_completion,
        lines=validate_lines(lines),
        po_not_required=po_not_required,
        **fields,
    )
    after = {"status": OrderStatus.DRAFT.value, "kind": kind.value, "number": number}
    order._record(EventKind.ORDER_CREATED, actor, now, {}, after)
    return order
