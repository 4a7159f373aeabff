"""orderCancel: cancel within the cancel window, with a reason."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import ReasonedOrderCommand, cancel_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which order to cancel, and why.")
class OrderCancelInput:
    """Input of orderCancel."""

    id: strawberry.ID = strawberry.field(description="The order.")
    reason: str = strawberry.field(description="Why it is cancelled (required).")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderCancel.")
class OrderCancelPayload(OrderPayload):
    """Payload of orderCancel."""


async def resolve(info: Info[Context, None], input: Annotated[OrderCancelInput, INPUT]) -> OrderCancelPayload:
    """Cancel an order."""
    order, errors = await order_command(
        info,
        lambda ports, actor: cancel_order(
            ports, actor, ReasonedOrderCommand(decode_id(input.id, "Order"), input.reason, input.expected_version)
        ),
    )
    return OrderCancelPayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=(
        "Cancel an order: the partner or vendor while PENDING_QUOTES, PENDING_APPROVAL, APPROVED or NOT_STARTED "
        "(the partner also a DRAFT); the order's provider while APPROVED or NOT_STARTED. A reason is required."
    ),
)
