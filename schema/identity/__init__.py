"""Identity's GraphQL layer: organisations and users, their enums and loaders."""

from schema.identity.enums import OrganisationKind, Role
from schema.identity.loaders import OrganisationById, UserById
from schema.identity.types import Organisation, User

__all__ = ["Organisation", "OrganisationById", "OrganisationKind", "Role", "User", "UserById"]
