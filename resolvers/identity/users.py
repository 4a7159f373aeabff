"""users: the people you may see, to pick an assignee or a recipient."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.identity import MAX_DIRECTORY_ROWS, UserFilter, directory_search
from schema.common import DIRECTORY_PAGE, Context, DirectoryFirst, decode_id, directory_page
from schema.identity import User


async def resolve(
    info: Info[Context, None],
    organisation_id: Annotated[
        strawberry.ID | None, strawberry.argument(description="Only the users of this organisation.")
    ] = None,
    search: Annotated[
        str | None, strawberry.argument(description="Text the name or the email contains (any case).")
    ] = None,
    first: DirectoryFirst = DIRECTORY_PAGE,
) -> list[User]:
    """The active users the caller may see, by name."""
    context = info.context
    actor = context.require_actor()
    organisation = decode_id(organisation_id, "Organisation", field="organisationId") if organisation_id else None
    flt = UserFilter(organisation_id=organisation, search=directory_search(search))
    found = await context.queries.users(actor, flt)
    return [User.from_domain(u) for u in directory_page(found, first)]


field = strawberry.field(
    resolver=resolve,
    description=f"Active users you may see, by name: your organisation's, and in your programme the vendor's and "
    f"your counterparts' (a partner sees providers', a provider partners'; the vendor everyone's). The first "
    f"{DIRECTORY_PAGE}, or up to {MAX_DIRECTORY_ROWS} with first (narrow with organisationId or search). "
    "An organisation you may not see lists nobody.",
)
