"""orderCreate: a partner user places a DRAFT order."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import CreateOrder, create_order
from schema.common import INPUT, Context, decode_id
from schema.orders import LineItemInput, OrderKind, OrderPayload, order_command


@strawberry.input(description="A new order. FLAT_FEE orders name a service; QUOTED ones may name a provider.")
class OrderCreateInput:
    """Input of orderCreate."""

    kind: OrderKind = strawberry.field(description="QUOTED (open-ended) or FLAT_FEE (a priced service).")
    name: str = strawberry.field(description="The order's name.")
    campaign_name: str = strawberry.field(default="", description="The campaign it belongs to.")
    activity_type: str = strawberry.field(default="", description="The kind of activity (defaults to the service's).")
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="QUOTED: ask this provider only (default: every provider may quote)."
    )
    service_id: strawberry.ID | None = strawberry.field(default=None, description="FLAT_FEE: the service bought.")
    partner_contact_id: strawberry.ID | None = strawberry.field(
        default=None, description="Your organisation's contact person (default: you)."
    )
    end_customer: str = strawberry.field(default="", description="The end customer it is for.")
    requested_completion: date | None = strawberry.field(default=None, description="When you need it done.")
    line_items: list[LineItemInput] = strawberry.field(default_factory=list, description="QUOTED: what you ask for.")
    po_number: str = strawberry.field(default="", description="Purchase-order number.")
    po_not_required: bool = strawberry.field(default=False, description="You use no purchase orders.")


@strawberry.type(description="The result of orderCreate.")
class OrderCreatePayload(OrderPayload):
    """Payload of orderCreate."""


def _command(input: Annotated[OrderCreateInput, INPUT]) -> CreateOrder:
    return CreateOrder(
        kind=input.kind,
        name=input.name,
        campaign_name=input.campaign_name,
        activity_type=input.activity_type,
        provider_id=decode_id(input.provider_id, "Organisation", field="providerId") if input.provider_id else None,
        service_id=decode_id(input.service_id, "Service", field="serviceId") if input.service_id else None,
        partner_contact_id=(
            decode_id(input.partner_contact_id, "User", field="partnerContactId") if input.partner_contact_id else None
        ),
        end_customer=input.end_customer,
        requested_completion=input.requested_completion,
        lines=tuple(line.to_domain() for line in input.line_items),
        po_number=input.po_number,
        po_not_required=input.po_not_required,
    )


async def resolve(info: Info[Context, None], input: Annotated[OrderCreateInput, INPUT]) -> OrderCreatePayload:
    """Create a draft order."""
    order, errors = await order_command(info, lambda ports, actor: create_order(ports, actor, _command(input)))
    return OrderCreatePayload(order=order, user_errors=errors)


field = strawberry.mutation(resolver=resolve, description="Place a new DRAFT order (partner users).")
