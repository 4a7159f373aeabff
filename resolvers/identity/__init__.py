"""Identity's operations: who you are, the organisations and people you may see, and signing in and out."""

import strawberry

from resolvers.identity import organisations, token_create, token_revoke, users, viewer


@strawberry.type
class IdentityQuery:
    """Identity's reads."""

    viewer = viewer.field
    organisations = organisations.field
    users = users.field


@strawberry.type
class IdentityMutation:
    """Identity's changes."""

    token_create = token_create.field
    token_revoke = token_revoke.field


__all__ = ["IdentityMutation", "IdentityQuery"]
