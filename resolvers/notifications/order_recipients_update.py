"""orderRecipientsUpdate: set the provider's or the partner's notification addresses on an order."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.identity import Actor
from domain.notifications import UpdateRecipients, update_recipients
from domain.orders import Order as DomainOrder
from schema.common import INPUT, AppPorts, Context, decode_id
from schema.notifications import RecipientSide
from schema.orders import OrderPayload, order_command


@strawberry.input(description="One side's notification addresses (the whole list: it replaces the old one).")
class OrderRecipientsUpdateInput:
    """Input of orderRecipientsUpdate."""

    order_id: strawberry.ID = strawberry.field(description="The order.")
    side: RecipientSide = strawberry.field(
        description="PROVIDER: the order's provider's own list (its users only). PARTNER: the partner's (or vendor's)."
    )
    emails: list[str] = strawberry.field(
        description="The addresses, at most 20; empty clears the list. An address new to the list is one of the "
        "order's people unless your organisation may email outside addresses (RECIPIENT_NOT_ALLOWED names it)."
    )


@strawberry.type(description="The result of orderRecipientsUpdate.")
class OrderRecipientsUpdatePayload(OrderPayload):
    """Payload of orderRecipientsUpdate."""


async def resolve(
    info: Info[Context, None], input: Annotated[OrderRecipientsUpdateInput, INPUT]
) -> OrderRecipientsUpdatePayload:
    """Replace one side's notification addresses."""

    async def call(ports: AppPorts, actor: Actor) -> DomainOrder:
        command = UpdateRecipients(decode_id(input.order_id, "Order", field="orderId"), input.side, tuple(input.emails))
        order, _ = await update_recipients(ports, actor, command)
        return order

    order, errors = await order_command(info, call, target="orderId")
    return OrderRecipientsUpdatePayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description="Set who else is emailed about an order: the provider's list (provider users) or the partner's "
    "(partner users and the vendor). Their addresses get the order's news for that side.",
)
