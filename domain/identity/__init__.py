"""Identity: programmes, organisations, users, their roles and sign-in tokens."""

from domain.identity.model import AccessToken, Actor, Organisation, OrgKind, Programme, Role, User, normalise_email
from domain.identity.ports import Directory, IdentityUnitOfWork
from domain.identity.services import actor_for_token, create_token, revoke_token
from domain.identity.visibility import visible_user_kinds

__all__ = [
    "AccessToken",
    "Actor",
    "Directory",
    "IdentityUnitOfWork",
    "OrgKind",
    "Organisation",
    "Programme",
    "Role",
    "User",
    "actor_for_token",
    "create_token",
    "normalise_email",
    "revoke_token",
    "visible_user_kinds",
]
