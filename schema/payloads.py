"""Shared payload shape and the one place domain errors become typed user errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from domain import orders as do
from domain.errors import DomainError
from domain.identity import Actor
from domain.ports import Ports
from schema.build import build_one
from schema.context import Context
from schema.errors import UserError, user_errors
from schema.types import Order, Quote

T = TypeVar("T")

INPUT = strawberry.argument(description="What to do; see the input type's fields.")


@strawberry.type(description="The result of a mutation on an order.")
class OrderPayload:
    """Base of the order mutations' payloads."""

    order: Order | None = strawberry.field(description="The order after the change; null when it failed.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def attempt(info: Info[Context, None], call: Callable[[Ports, Actor], Awaitable[T]]) -> T | list[UserError]:
    """Run a service call as the authenticated actor; expected errors come back as typed user errors."""
    context = info.context
    actor = context.require_actor()
    try:
        return await call(context.ports, actor)
    except DomainError as exc:
        return user_errors(exc)


async def order_command(
    info: Info[Context, None], call: Callable[[Ports, Actor], Awaitable[do.Order]]
) -> tuple[Order | None, list[UserError]]:
    """Run an order service call; the order as the actor may see it, or the errors."""
    result = await attempt(info, call)
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
    info: Info[Context, None], call: Callable[[Ports, Actor], Awaitable[tuple[do.Order, do.Quote]]]
) -> tuple[Quote | None, Order | None, list[UserError]]:
    """Run a quote service call; the quote and order as the actor may see them, or the errors."""
    result = await attempt(info, call)
    if isinstance(result, list):
        return None, None, result
    order, quote = result
    return Quote.from_domain(quote), await build_one(info, order), []
