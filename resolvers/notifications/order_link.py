"""orderLink: the DRAFT order an emailed order link points to, once its signature and expiry check out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.notifications import open_order_link
from schema.common import Context, UserError, attempt
from schema.orders import Order, build_one


@strawberry.type(description="What an order link leads to.")
class OrderLinkResult:
    """Result of orderLink."""

    order: Order | None = strawberry.field(description="The order; null when the link is not valid for you.")
    expires_at: datetime | None = strawberry.field(description="When the link stops working.")
    user_errors: list[UserError] = strawberry.field(description="Why the link does not work; empty when it does.")


async def resolve(
    info: Info[Context, None],
    token: Annotated[str, strawberry.argument(description="The `token` parameter of the emailed link.")],
) -> OrderLinkResult:
    """Open an order link."""
    result = await attempt(info, lambda ports, actor: open_order_link(ports, actor, token))
    if isinstance(result, list):
        return OrderLinkResult(order=None, expires_at=None, user_errors=result)
    order, expires_at = result
    return OrderLinkResult(order=await build_one(info, order), expires_at=expires_at, user_errors=[])


field = strawberry.field(
    resolver=resolve,
    description="Resume an order from an emailed link (orderLinkSend): checks the link's signature and expiry, "
    "then returns the order if you may see it (sign in first).",
)
