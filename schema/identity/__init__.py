"""Identity's GraphQL layer: organisations and users, their enums and loaders."""

from schema.identity.enums import OrganisationKind, Role
from schema.identity.errors import IDENTITY_ERROR_TYPES, TooManyAttemptsError
from schema.identity.loaders import OrganisationById, UserById
from schema.identity.types import Organisation, User

__all__ = [
    "IDENTITY_ERROR_TYPES",
    "Organisation",
    "OrganisationById",
    "OrganisationKind",
    "Role",
    "TooManyAttemptsError",
    "User",
    "UserById",
]
