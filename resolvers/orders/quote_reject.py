"""quoteReject: the ordering partner decides on a quote."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import DecideQuote, reject_quote
from schema.common import INPUT, Context, decode_id
from schema.orders import QuotePayload, quote_command


@strawberry.input(description="Which quote.")
class QuoteRejectInput:
    """Input of quoteReject."""

    id: strawberry.ID = strawberry.field(description="The quote.")
    reason: str = strawberry.field(default="", description="Why, for the provider.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of quoteReject.")
class QuoteRejectPayload(QuotePayload):
    """Payload of quoteReject."""


async def resolve(info: Info[Context, None], input: Annotated[QuoteRejectInput, INPUT]) -> QuoteRejectPayload:
    """Reject a quote."""
    quote, order, errors = await quote_command(
        info,
        lambda ports, actor: reject_quote(
            ports, actor, DecideQuote(decode_id(input.id, "Quote"), input.reason, input.expected_version)
        ),
    )
    return QuoteRejectPayload(quote=quote, order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=("Reject a quote (the ordering partner); the order stays open for other quotes."),
)
