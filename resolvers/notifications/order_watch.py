"""orderWatch: subscribe to an order (seed 002's Subscribe)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.notifications import watch_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which order to watch.")
class OrderWatchInput:
    """Input of orderWatch."""

    order_id: strawberry.ID = strawberry.field(description="The order.")


@strawberry.type(description="The result of orderWatch.")
class OrderWatchPayload(OrderPayload):
    """Payload of orderWatch."""


async def resolve(info: Info[Context, None], input: Annotated[OrderWatchInput, INPUT]) -> OrderWatchPayload:
    """Watch an order."""
    order, errors = await order_command(
        info,
        lambda ports, actor: watch_order(ports, actor, decode_id(input.order_id, "Order", field="orderId")),
        target="orderId",
    )
    return OrderWatchPayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description="Watch an order you can see: you get an email copy of every comment and follow-up you may see. "
    "Watching twice is watching.",
)
