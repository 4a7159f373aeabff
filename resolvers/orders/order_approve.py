"""orderApprove: vendor approval, or accepting a quote request without a quote."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import OrderCommand, approve_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which order to approve.")
class OrderApproveInput:
    """Input of orderApprove."""

    id: strawberry.ID = strawberry.field(description="The order.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderApprove.")
class OrderApprovePayload(OrderPayload):
    """Payload of orderApprove."""


async def resolve(info: Info[Context, None], input: Annotated[OrderApproveInput, INPUT]) -> OrderApprovePayload:
    """Approve an order."""
    order, errors = await order_command(
        info,
        lambda ports, actor: approve_order(
            ports, actor, OrderCommand(decode_id(input.id, "Order"), input.expected_version)
        ),
    )
    return OrderApprovePayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=(
        "PENDING_APPROVAL to APPROVED (vendor). On PENDING_QUOTES, for a request addressed to one provider: "
        "accept it without a quote (that provider, or the vendor). An open request is awarded only by accepting "
        "one of its quotes."
    ),
)
