"""tokenCreate: exchange email and password for a bearer token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.common import DomainError
from domain.identity import sign_in
from schema.common import INPUT, Context, UserError, user_errors
from schema.identity import User


@strawberry.input(description="Credentials.")
class TokenCreateInput:
    """Input of tokenCreate."""

    email: str = strawberry.field(description="Your sign-in email.")
    password: str = strawberry.field(description="Your password.")


@strawberry.type(description="The result of tokenCreate.")
class TokenCreatePayload:
    """Payload of tokenCreate."""

    token: str | None = strawberry.field(
        description="Send as 'Authorization: Bearer <token>'. Shown once; only its hash is stored."
    )
    expires_at: datetime | None = strawberry.field(description="When the token stops working.")
    user: User | None = strawberry.field(description="Who the token signs in as.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def resolve(info: Info[Context, None], input: Annotated[TokenCreateInput, INPUT]) -> TokenCreatePayload:
    """Sign in; the rest of the operation (this payload included) reads as the user just signed in.

    The throttle counts failures from the client's address as the ASGI server gives it (behind a proxy, uvicorn
    takes it from X-Forwarded-For only for a proxy in FORWARDED_ALLOW_IPS); the header itself is never read.
    """
    context = info.context
    client = getattr(context.request, "client", None)  # an HTTP request's or a WebSocket's
    try:
        signed_in = await sign_in(context.ports, input.email, input.password, address=getattr(client, "host", None))
    except DomainError as exc:
        return TokenCreatePayload(token=None, expires_at=None, user=None, user_errors=user_errors(exc))
    context.sign_in(signed_in.actor, signed_in.secret)
    return TokenCreatePayload(
        token=signed_in.secret,
        expires_at=signed_in.token.expires_at,
        user=User.from_domain(signed_in.user),
        user_errors=[],
    )


field = strawberry.mutation(
    resolver=resolve,
    description="Sign in: email and password for an expiring bearer token. The payload, and the rest of this "
    "operation, read as the user signed in.",
)
