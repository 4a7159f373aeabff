"""tokenRevoke: sign out (revoke the token used for this request)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.identity import revoke_token
from schema.common import Context, UserError


@strawberry.type(description="The result of tokenRevoke.")
class TokenRevokePayload:
    """Payload of tokenRevoke."""

    revoked: bool = strawberry.field(description="True once the token no longer works.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def resolve(info: Info[Context, None]) -> TokenRevokePayload:
    """Sign out."""
    context = info.context
    context.require_actor()
    assert context.token is not None  # an actor implies the token it came from
    await revoke_token(context.ports, context.token)
    return TokenRevokePayload(revoked=True, user_errors=[])


field = strawberry.mutation(
    resolver=resolve,
    description=(
        "Revoke the bearer token this request was made with. Its open WebSocket connections, on every API "
        "process, end within a second: each subscription with a last error of code UNAUTHENTICATED."
    ),
)
