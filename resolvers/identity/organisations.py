"""organisations: the organisations of your programme, to fill a partner or provider filter."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.identity import MAX_DIRECTORY_ROWS, OrganisationFilter, directory_search
from schema.common import DIRECTORY_PAGE, Context, DirectoryFirst, directory_page
from schema.identity import Organisation, OrganisationKind


async def resolve(
    info: Info[Context, None],
    kind: Annotated[
        OrganisationKind | None, strawberry.argument(description="Only organisations of this kind.")
    ] = None,
    search: Annotated[str | None, strawberry.argument(description="Text the name contains (any case).")] = None,
    first: DirectoryFirst = DIRECTORY_PAGE,
) -> list[Organisation]:
    """The organisations of the caller's programme, by name."""
    context = info.context
    flt = OrganisationFilter(kind=kind, search=directory_search(search))
    found = await context.queries.organisations(context.require_actor(), flt)
    return [Organisation.from_domain(o) for o in directory_page(found, first)]


field = strawberry.field(
    resolver=resolve,
    description=f"The organisations of your programme, by name: the first {DIRECTORY_PAGE}, or up to "
    f"{MAX_DIRECTORY_ROWS} with first (narrow with kind or search), e.g. for the partner and provider filters "
    "of orders.",
)
