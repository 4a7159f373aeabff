"""orderStatusCounts: the view-by-status panel."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from schema.common import Context
from schema.orders import FILTER, SEARCH, OrderFilterInput, OrderStatusCount, to_filter


async def resolve(
    info: Info[Context, None],
    search: Annotated[str | None, SEARCH] = None,
    filter: Annotated[OrderFilterInput | None, FILTER] = None,
) -> list[OrderStatusCount]:
    """Counts per status under the filter."""
    context = info.context
    counts = await context.queries.status_counts(context.viewer, to_filter(filter, search))
    return [OrderStatusCount(status=row.status, count=row.count) for row in counts]


field = strawberry.field(
    resolver=resolve,
    description="How many orders you may see stand in each status, under the same search and filter as orders "
    "(its statuses filter ignored): every status, in lifecycle order, 0 where none stands. ARCHIVED is listed "
    "only when the archived filter counts archived orders (null: all statuses; true: ARCHIVED alone); by "
    "default, as in the list, it is left out.",
)
