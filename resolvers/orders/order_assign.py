"""orderAssign: assign the order to a user of its provider."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import AssignOrder, assign_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which order, and to whom.")
class OrderAssignInput:
    """Input of orderAssign."""

    id: strawberry.ID = strawberry.field(description="The order.")
    assignee_id: strawberry.ID | None = strawberry.field(description="A user of the order's provider; null to clear.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderAssign.")
class OrderAssignPayload(OrderPayload):
    """Payload of orderAssign."""


async def resolve(info: Info[Context, None], input: Annotated[OrderAssignInput, INPUT]) -> OrderAssignPayload:
    """Assign an order."""
    order, errors = await order_command(
        info,
        lambda ports, actor: assign_order(
            ports,
            actor,
            AssignOrder(
                decode_id(input.id, "Order"),
                decode_id(input.assignee_id, "User", field="assigneeId") if input.assignee_id else None,
                input.expected_version,
            ),
        ),
    )
    return OrderAssignPayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=("Assign the order to a user of its provider (provider users)."),
)
