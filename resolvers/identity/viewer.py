"""viewer: who the bearer token signs in as."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.identity import MAX_DIRECTORY_ROWS
from schema.common import DIRECTORY_PAGE, Context, DirectoryFirst, PublicError, directory_page
from schema.identity import Organisation, User
from schema.orders import Service


@strawberry.type(description="The signed-in user and what it works with.")
class Viewer:
    """The caller."""

    user: User = strawberry.field(description="You.")
    organisation: Organisation = strawberry.field(description="Your organisation.")

    @strawberry.field(
        description=f"Flat-fee services you can order in your programme: the first {DIRECTORY_PAGE}, "
        f"or up to {MAX_DIRECTORY_ROWS} with first."
    )
    async def services(
        self,
        info: Info[Context, None],
        first: DirectoryFirst = DIRECTORY_PAGE,
    ) -> list[Service]:
        rows = await info.context.queries.services_of_programme(info.context.viewer)
        return [Service.from_domain(s) for s in directory_page(rows, first)]

    @strawberry.field(
        description=f"Active users of your organisation (e.g. to pick an assignee): the first {DIRECTORY_PAGE}, "
        f"or up to {MAX_DIRECTORY_ROWS} with first."
    )
    async def colleagues(
        self,
        info: Info[Context, None],
        first: DirectoryFirst = DIRECTORY_PAGE,
    ) -> list[User]:
        context = info.context
        rows = await context.queries.users_of_organisation(context.viewer, context.require_actor().organisation_id)
        return [User.from_domain(u) for u in directory_page(rows, first)]


async def resolve(info: Info[Context, None]) -> Viewer:
    """The caller."""
    context = info.context
    actor = context.require_actor()
    user = await User.load(context, actor.user_id)
    organisation = await Organisation.load(context, actor.organisation_id)
    if user is None or organisation is None:  # pragma: no cover - the token was just checked
        raise PublicError("Your account is no longer active.", code="UNAUTHENTICATED")
    return Viewer(user=user, organisation=organisation)


field = strawberry.field(resolver=resolve, description="Who you are signed in as. Requires a bearer token.")
