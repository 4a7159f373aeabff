"""quoteAccept: the ordering partner decides on a quote."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import DecideQuote, accept_quote
from schema.common import INPUT, Context, decode_id
from schema.orders import QuotePayload, quote_command


@strawberry.input(description="Which quote.")
class QuoteAcceptInput:
    """Input of quoteAccept."""

    id: strawberry.ID = strawberry.field(description="The quote.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of quoteAccept.")
class QuoteAcceptPayload(QuotePayload):
    """Payload of quoteAccept."""


async def resolve(info: Info[Context, None], input: Annotated[QuoteAcceptInput, INPUT]) -> QuoteAcceptPayload:
    """Accept a quote."""
    quote, order, errors = await quote_command(
        info,
        lambda ports, actor: accept_quote(
            ports, actor, DecideQuote(decode_id(input.id, "Quote"), "", input.expected_version)
        ),
    )
    return QuoteAcceptPayload(quote=quote, order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=(
        "Accept a quote (the ordering partner): the others close, and the order goes to that provider, "
        "APPROVED or, above the programme's threshold, PENDING_APPROVAL. An expired quote cannot be "
        "accepted."
    ),
)
