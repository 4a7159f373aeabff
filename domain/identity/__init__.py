"""Identity: programmes, organisations, users, their roles and sign-in tokens."""

from domain.identity.events import TokenRevoked
from domain.identity.model import (
    AccessToken,
    Actor,
    Organisation,
    OrgKind,
    Programme,
    Role,
    User,
    normalise_email,
    token_digest,
)
from domain.identity.ports import Directory, IdentityUnitOfWork, TokenHolders
from domain.identity.queries import (
    MAX_DIRECTORY_ROWS,
    IdentityQueries,
    OrganisationFilter,
    UserFilter,
    directory_search,
)
from domain.identity.services import (
    SignIn,
    actor_for_token,
    bearer_for_token,
    create_token,
    revoke_token,
    sign_in,
)
from domain.identity.throttle import SignInThrottle
from domain.identity.visibility import visible_user_kinds

__all__ = [
    "MAX_DIRECTORY_ROWS",
    "AccessToken",
    "Actor",
    "Directory",
    "IdentityQueries",
    "IdentityUnitOfWork",
    "OrgKind",
    "Organisation",
    "OrganisationFilter",
    "Programme",
    "Role",
    "SignIn",
    "SignInThrottle",
    "TokenHolders",
    "TokenRevoked",
    "User",
    "UserFilter",
    "actor_for_token",
    "bearer_for_token",
    "create_token",
    "directory_search",
    "normalise_email",
    "revoke_token",
    "sign_in",
    "token_digest",
    "visible_user_kinds",
]
