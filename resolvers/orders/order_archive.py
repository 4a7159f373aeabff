"""orderArchive: archive a COMPLETE or CANCELLED order."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import OrderCommand, archive_order
from schema.common import INPUT, Context, decode_id
from schema.orders import OrderPayload, order_command


@strawberry.input(description="Which order to archive.")
class OrderArchiveInput:
    """Input of orderArchive."""

    id: strawberry.ID = strawberry.field(description="The order.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderArchive.")
class OrderArchivePayload(OrderPayload):
    """Payload of orderArchive."""


async def resolve(info: Info[Context, None], input: Annotated[OrderArchiveInput, INPUT]) -> OrderArchivePayload:
    """Archive an order."""
    order, errors = await order_command(
        info,
        lambda ports, actor: archive_order(
            ports, actor, OrderCommand(decode_id(input.id, "Order"), input.expected_version)
        ),
    )
    return OrderArchivePayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description="Archive a COMPLETE or CANCELLED order (its provider, or the vendor); it leaves the default view.",
)
