"""Identity's GraphQL object types: organisations and users."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from domain import identity as di
from schema.common import Context, Node, to_global_id
from schema.identity.enums import OrganisationKind, Role
from schema.identity.loaders import OrganisationById, UserById


@strawberry.type(description="A vendor, partner or provider in the programme.")
class Organisation(Node):
    """An organisation."""

    name: str = strawberry.field(description="Display name.")
    kind: OrganisationKind = strawberry.field(description="Vendor, partner or provider.")

    @classmethod
    def from_domain(cls, org: di.Organisation) -> Organisation:
        """The GraphQL view of an organisation."""
        return cls(id=strawberry.ID(to_global_id("Organisation", org.id)), name=org.name, kind=org.kind)

    @classmethod
    async def load(cls, context: Context, organisation_id: UUID) -> Organisation | None:
        """The organisation as the viewer may see it (None when not), through the request's loader."""
        found = await OrganisationById.of(context).load(organisation_id)
        return None if found is None else cls.from_domain(found)


@strawberry.type(description="A person who signs in; belongs to one organisation.")
class User(Node):
    """A user."""

    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="Sign-in and notification address.")
    role: Role = strawberry.field(description="Role inside the organisation.")
    organisation_id: strawberry.Private[UUID]

    @strawberry.field(description="The organisation the user belongs to.")
    async def organisation(self, info: Info[Context, None]) -> Organisation | None:
        return await Organisation.load(info.context, self.organisation_id)

    @classmethod
    def from_domain(cls, user: di.User) -> User:
        """The GraphQL view of a user."""
        return cls(
            id=strawberry.ID(to_global_id("User", user.id)),
            name=user.name,
            email=user.email,
            role=user.role,
            organisation_id=user.organisation_id,
        )

    @classmethod
    async def load(cls, context: Context, user_id: UUID) -> User | None:
        """The user as the viewer may see them (None when not), through the request's loader."""
        found = await UserById.of(context).load(user_id)
        return None if found is None else cls.from_domain(found)

    @classmethod
    async def load_many(cls, context: Context, user_ids: list[UUID]) -> list[User]:
        """The users the viewer may see among `user_ids`, in their order, through the request's loader."""
        return [cls.from_domain(u) for u in await UserById.of(context).load_many(user_ids) if u is not None]
