"""orderLinkSend: email a signed, expiring link that resumes a DRAFT order (seed 002's Send Order Link)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.common import InvalidInput
from domain.identity import Actor
from domain.notifications import OrderLink, SendOrderLink, send_order_link
from domain.orders import Order as DomainOrder
from schema.common import INPUT, AppPorts, Context, UserError, attempt, decode_id
from schema.orders import Order, build_one


@strawberry.input(description="Who gets the link, and what the email says.")
class OrderLinkSendInput:
    """Input of orderLinkSend."""

    order_id: strawberry.ID = strawberry.field(description="The DRAFT order.")
    to: str = strawberry.field(description="A user of the ordering partner; they sign in to finish the order.")
    subject: str = strawberry.field(default="", description="The subject (default: 'Finish order #N: name').")
    message: str = strawberry.field(default="", description="A note for the recipient.")
    expires_in_hours: int = strawberry.field(default=168, description="How long the link works: 1 to 720 hours.")


@strawberry.type(description="The result of orderLinkSend.")
class OrderLinkSendPayload:
    """Payload of orderLinkSend."""

    order: Order | None = strawberry.field(description="The order; null when it failed.")
    expires_at: datetime | None = strawberry.field(description="When the link stops working.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def resolve(info: Info[Context, None], input: Annotated[OrderLinkSendInput, INPUT]) -> OrderLinkSendPayload:
    """Send an order link."""

    async def call(ports: AppPorts, actor: Actor) -> tuple[DomainOrder, OrderLink]:
        if not 1 <= input.expires_in_hours <= 720:
            raise InvalidInput("A link lasts from 1 to 720 hours.", field="expiresInHours")
        command = SendOrderLink(
            order_id=decode_id(input.order_id, "Order", field="orderId"),
            to=input.to,
            subject=input.subject,
            message=input.message,
            ttl=timedelta(hours=input.expires_in_hours),
        )
        return await send_order_link(ports, actor, command)

    result = await attempt(info, call, target="orderId")
    if isinstance(result, list):
        return OrderLinkSendPayload(order=None, expires_at=None, user_errors=result)
    order, link = result
    return OrderLinkSendPayload(order=await build_one(info, order), expires_at=link.expires_at, user_errors=[])


field = strawberry.mutation(
    resolver=resolve,
    description="Email a user of the ordering partner a signed link to a DRAFT order, valid for a while, so "
    "they can finish it (see orderLink). Buyer side only. Counts towards the same limits as orderMessageSend "
    "(RATE_LIMITED, with retryAfter).",
)
