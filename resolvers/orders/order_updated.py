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
    left_view: Annotated[
        bool,
        strawberry.argument(
            description=(
                "Also tell me when an order leaves what I may see (a LEFT_VIEW update, with only orderId and "
                "occurredAt: order and activity are null on it). Off by default, so that order and activity "
                "are never null for a subscription that does not ask."
            )
        ),
    ] = False,
) -> AsyncIterator[OrderUpdate]:
    """Subscribe to order changes."""
    return await order_updates(info, None if id is None else decode_id(id, "Order"), left_view=left_view)


field = strawberry.subscription(
    resolver=resolve,
    description=(
        "Every change to an order you may see, as it happens: the order as you may see it now, what changed, "
        "who changed it and when. Changes you may not see (internal comments of another organisation, "
        "provider notes) are never sent; with leftView, an order that leaves what you may see is said to have "
        "left it, and nothing more of it. Authenticate in connection_init; on an error with code "
        "LIVE_UPDATES_INTERRUPTED, subscribe again and refetch."
    ),
)
