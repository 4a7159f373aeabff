"""orderReject: the vendor rejects a pending order (it is cancelled, reason REJECTED)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import ReasonedOrderCommand, reject_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which order to reject, and why.")
class OrderRejectInput:
    """Input of orderReject."""

    id: strawberry.ID = strawberry.field(description="The order.")
    reason: str = strawberry.field(default="", description="Why (shown to the partner).")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderReject.")
class OrderRejectPayload(OrderPayload):
    """Payload of orderReject."""


async def resolve(info: Info[Context, None], input: Annotated[OrderRejectInput, INPUT]) -> OrderRejectPayload:
    """Reject an order."""
    order, errors = await order_command(
        info,
        lambda ports, actor: reject_order(
            ports, actor, ReasonedOrderCommand(decode_id(input.id, "Order"), input.reason, input.expected_version)
        ),
    )
    return OrderRejectPayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve, description="Reject a PENDING_APPROVAL order (vendor): it becomes CANCELLED, marked rejected."
)
