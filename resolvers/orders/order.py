"""order: one order by ID."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from schema.build import build_one
from schema.context import Context
from schema.ids import decode_id
from schema.types import Order


async def resolve(
    info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="The order's ID.")]
) -> Order | None:
    """One order, if you may see it."""
    return await build_one(info, await info.context.loaders.order.load(decode_id(id, "Order")))


field = strawberry.field(resolver=resolve, description="One order by ID; null when absent or not visible to you.")
