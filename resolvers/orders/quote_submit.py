"""quoteSubmit: a provider quotes on an open request."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.orders import SubmitQuote, submit_quote
from schema.common import INPUT, Context, decode_id
from schema.orders import LineItemInput, QuotePayload, quote_command


@strawberry.input(description="A quote: services and costs, expiry, promised completion, a message.")
class QuoteSubmitInput:
    """Input of quoteSubmit."""

    order_id: strawberry.ID = strawberry.field(description="The order open for quotes.")
    line_items: list[LineItemInput] = strawberry.field(description="At least one line.")
    expires_on: date | None = strawberry.field(default=None, description="Last day it may be accepted.")
    promised_completion: date | None = strawberry.field(default=None, description="When you would complete.")
    message: str = strawberry.field(default="", description="To the partner.")


@strawberry.type(description="The result of quoteSubmit.")
class QuoteSubmitPayload(QuotePayload):
    """Payload of quoteSubmit."""


async def resolve(info: Info[Context, None], input: Annotated[QuoteSubmitInput, INPUT]) -> QuoteSubmitPayload:
    """Submit a quote."""
    quote, order, errors = await quote_command(
        info,
        lambda ports, actor: submit_quote(
            ports,
            actor,
            SubmitQuote(
                order_id=decode_id(input.order_id, "Order", field="orderId"),
                lines=tuple(line.to_domain() for line in input.line_items),
                expires_on=input.expires_on,
                promised_completion=input.promised_completion,
                message=input.message,
            ),
        ),
        target="orderId",
    )
    return QuoteSubmitPayload(quote=quote, order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve, description="Quote on a PENDING_QUOTES order (providers it is open to); one open quote each."
)
