"""orderUnwatch: stop watching an order."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.notifications import unwatch_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which order to stop watching.")
class OrderUnwatchInput:
    """Input of orderUnwatch."""

    order_id: strawberry.ID = strawberry.field(description="The order.")


@strawberry.type(description="The result of orderUnwatch.")
class OrderUnwatchPayload(OrderPayload):
    """Payload of orderUnwatch."""


async def resolve(info: Info[Context, None], input: Annotated[OrderUnwatchInput, INPUT]) -> OrderUnwatchPayload:
    """Stop watching an order."""
    order, errors = await order_command(
        info,
        lambda ports, actor: unwatch_order(ports, actor, decode_id(input.order_id, "Order", field="orderId")),
        target="orderId",
    )
    return OrderUnwatchPayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve, description="Stop watching an order (a no-op when you were not watching it)."
)
