"""orderSubmit: send a DRAFT for quotes (QUOTED) or for approval (FLAT_FEE)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import OrderCommand, submit_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which draft to submit.")
class OrderSubmitInput:
    """Input of orderSubmit."""

    id: strawberry.ID = strawberry.field(description="The order.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderSubmit.")
class OrderSubmitPayload(OrderPayload):
    """Payload of orderSubmit."""


async def resolve(info: Info[Context, None], input: Annotated[OrderSubmitInput, INPUT]) -> OrderSubmitPayload:
    """Submit a draft order (partner)."""
    order, errors = await order_command(
        info,
        lambda ports, actor: submit_order(
            ports, actor, OrderCommand(decode_id(input.id, "Order"), input.expected_version)
        ),
    )
    return OrderSubmitPayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=("Submit a DRAFT: QUOTED orders open for quotes, FLAT_FEE ones wait for vendor approval."),
)
