"""tokenCreate: exchange email and password for a bearer token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.common import DomainError
from domain.identity import create_token
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
    """Sign in."""
    try:
        secret, token, user = await create_token(info.context.ports, input.email, input.password)
    except DomainError as exc:
        return TokenCreatePayload(token=None, expires_at=None, user=None, user_errors=user_errors(exc))
    return TokenCreatePayload(token=secret, expires_at=token.expires_at, user=User.from_domain(user), user_errors=[])


field = strawberry.mutation(resolver=resolve, description="Sign in: email and password for an expiring bearer token.")
