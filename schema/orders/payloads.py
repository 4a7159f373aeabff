"""Orders' mutation payloads: an order or a quote, or the user errors that kept it from changing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from domain import orders as do
from domain.identity import Actor
from schema.common import AppPorts, Context, UserError, attempt
from schema.orders.build import build_one
from schema.orders.types import Order, Quote


@strawberry.type(description="The result of a mutation on an order.")
class OrderPayload:
    """Base of the order mutations' payloads."""

    order: Order | None = strawberry.field(description="The order after the change; null when it failed.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def order_command(
    info: Info[Context, None], call: Callable[[AppPorts, Actor], Awaitable[do.Order]], *, target: str = "id"
) -> tuple[Order | None, list[UserError]]:
    """Run an order service call; the order as the actor may see it, or the errors (`target`: see `attempt`)."""
    result = await attempt(info, call, target=target)
    if isinstance(result, list):
        return None, result
    return await build_one(info, result), []


@strawberry.type(description="The result of a mutation on a quote.")
class QuotePayload:
    """Base of the quote mutations' payloads."""

    quote: Quote | None = strawberry.field(description="The quote after the change; null when it failed.")
    order: Order | None = strawberry.field(description="Its order after the change; null when it failed.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def quote_command(
    info: Info[Context, None],
    call: Callable[[AppPorts, Actor], Awaitable[tuple[do.Order, do.Quote]]],
    *,
    target: str = "id",
) -> tuple[Quote | None, Order | None, list[UserError]]:
    """Run a quote service call; the quote and order as the actor may see them, or the errors.

    `target`: see `attempt`.
    """
    result = await attempt(info, call, target=target)
    if isinstance(result, list):
        return None, None, result
    order, quote = result
    return Quote.from_domain(quote), await build_one(info, order), []
