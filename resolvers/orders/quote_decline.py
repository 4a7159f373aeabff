"""quoteDecline: a provider declines to quote."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import DeclineQuote, decline_quote
from schema.common import INPUT, Context, decode_id
from schema.orders import QuotePayload, quote_command


@strawberry.input(description="Which order you decline to quote on.")
class QuoteDeclineInput:
    """Input of quoteDecline."""

    order_id: strawberry.ID = strawberry.field(description="The order open for quotes.")
    message: str = strawberry.field(default="", description="Why, for the partner.")


@strawberry.type(description="The result of quoteDecline.")
class QuoteDeclinePayload(QuotePayload):
    """Payload of quoteDecline."""


async def resolve(info: Info[Context, None], input: Annotated[QuoteDeclineInput, INPUT]) -> QuoteDeclinePayload:
    """Decline to quote."""
    quote, order, errors = await quote_command(
        info,
        lambda ports, actor: decline_quote(
            ports, actor, DeclineQuote(decode_id(input.order_id, "Order", field="orderId"), input.message)
        ),
        target="orderId",
    )
    return QuoteDeclinePayload(quote=quote, order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve, description="Decline to quote on an open request (withdraws your open quote, if any)."
)
