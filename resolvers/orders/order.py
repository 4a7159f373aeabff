"""order: one order by ID."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from schema.common import Context, decode_id
from schema.orders import Order, OrderById, build_one


async def resolve(
    info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="The order's ID.")]
) -> Order | None:
    """One order, if you may see it."""
    return await build_one(info, await OrderById.of(info.context).load(decode_id(id, "Order")))


field = strawberry.field(resolver=resolve, description="One order by ID; null when absent or not visible to you.")
