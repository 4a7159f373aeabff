"""orderUpdated: live changes to one order, or to every order you may see (the dashboard feed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import strawberry
from strawberry.types import Info

from schema.common import Context, decode_id
from schema.orders import OrderUpdate, order_updates


async def resolve(
    info: Info[Context, None],
    id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="The order to follow; leave it out for every order you may see."),
    ] = None,
) -> AsyncIterator[OrderUpdate]:
    """Subscribe to order changes."""
    return await order_updates(info, None if id is None else decode_id(id, "Order"))


field = strawberry.subscription(
    resolver=resolve,
    description=(
        "Every change to an order you may see, as it happens: the order as you may see it now, what changed, "
        "who changed it and when. Changes you may not see (internal comments of another organisation, "
        "provider notes) are never sent. Authenticate in connection_init; on an error with code "
        "LIVE_UPDATES_INTERRUPTED, subscribe again and refetch."
    ),
)
