"""Identity's operations: who you are, and signing in and out."""

import strawberry

from resolvers.identity import token_create, token_revoke, viewer


@strawberry.type
class IdentityQuery:
    """Identity's reads."""

    viewer = viewer.field


@strawberry.type
class IdentityMutation:
    """Identity's changes."""

    token_create = token_create.field
    token_revoke = token_revoke.field


__all__ = ["IdentityMutation", "IdentityQuery"]
