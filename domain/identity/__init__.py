"""Identity: programmes, organisations, users, their roles and sign-in tokens."""

from domain.identity.model import AccessToken, Actor, Organisation, OrgKind, Programme, Role, User, normalise_email
from domain.identity.ports import Directory, IdentityUnitOfWork
from domain.identity.services import SignIn, actor_for_token, create_token, revoke_token, sign_in
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
    "SignIn",
    "User",
    "actor_for_token",
    "create_token",
    "normalise_email",
    "revoke_token",
    "sign_in",
    "visible_user_kinds",
]
