"""orderStatusChange: the provider's Change Status among the working statuses."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import ChangeOrderStatus, change_order_status
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, OrderStatus, order_command


@strawberry.input(description="Which order, and the status to move it to.")
class OrderStatusChangeInput:
    """Input of orderStatusChange."""

    id: strawberry.ID = strawberry.field(description="The order.")
    status: OrderStatus = strawberry.field(description="The new status.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderStatusChange.")
class OrderStatusChangePayload(OrderPayload):
    """Payload of orderStatusChange."""


async def resolve(
    info: Info[Context, None], input: Annotated[OrderStatusChangeInput, INPUT]
) -> OrderStatusChangePayload:
    """Change an order's working status."""
    order, errors = await order_command(
        info,
        lambda ports, actor: change_order_status(
            ports, actor, ChangeOrderStatus(decode_id(input.id, "Order"), input.status, input.expected_version)
        ),
    )
    return OrderStatusChangePayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=(
        "The provider moves an order APPROVED to NOT_STARTED, then among NOT_STARTED, IN_PROGRESS, "
        "WAITING_FOR_PARTNER, SCHEDULED, EXECUTING (forward or back) and on to COMPLETE. Use orderCancel, "
        "orderArchive, orderApprove and orderReject for those moves."
    ),
)
