"""commentAdded: live new comments on one order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import strawberry
from strawberry.types import Info

from schema.common import Context, decode_id
from schema.orders import Comment, comments_added


async def resolve(
    info: Info[Context, None],
    order_id: Annotated[strawberry.ID, strawberry.argument(description="The order.")],
) -> AsyncIterator[Comment]:
    """Subscribe to new comments."""
    return await comments_added(info, decode_id(order_id, "Order", field="orderId"))


field = strawberry.subscription(
    resolver=resolve,
    description=(
        "New comments on an order you may see, as they are written: shared ones, and internal ones of your "
        "own organisation. Authenticate in connection_init."
    ),
)
