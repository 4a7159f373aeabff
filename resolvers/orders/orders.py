"""orders: the Manage Orders connection."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.common import MAX_PAGE_SIZE, InvalidInput, PageRequest
from schema.common import Context, selects
from schema.orders import (
    FILTER,
    SEARCH,
    OrderConnection,
    OrderEdge,
    OrderFilterInput,
    OrderSortInput,
    PageInfo,
    build_orders,
    decode_cursor,
    encode_cursor,
    includes_for,
    selected_names,
    to_filter,
    to_sort,
)

DEFAULT_PAGE_SIZE = 20


async def resolve(
    info: Info[Context, None],
    search: Annotated[str | None, SEARCH] = None,
    filter: Annotated[OrderFilterInput | None, FILTER] = None,
    sort_by: Annotated[OrderSortInput | None, strawberry.argument(description="Sort key and direction.")] = None,
    first: Annotated[int | None, strawberry.argument(description="Page size, forward.")] = None,
    after: Annotated[str | None, strawberry.argument(description="Continue after this cursor.")] = None,
    last: Annotated[int | None, strawberry.argument(description="Page size, backward.")] = None,
    before: Annotated[str | None, strawberry.argument(description="Continue before this cursor.")] = None,
) -> OrderConnection:
    """A page of the orders you may see."""
    context = info.context
    context.require_actor()
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"{name} must be between 0 and {MAX_PAGE_SIZE}.", field=name)
    if first is not None and last is not None:
        raise InvalidInput("Give first or last, not both.", field="last")
    sort = to_sort(sort_by)
    page = PageRequest(
        first=first if first is not None or last is not None else DEFAULT_PAGE_SIZE,
        after=decode_cursor(sort, after, "after") if after else None,
        last=last,
        before=decode_cursor(sort, before, "before") if before else None,
        with_total=selects(info, "totalCount"),
    )
    names = selected_names(info)
    include = includes_for(names)
    result = await context.queries.order_page(context.viewer, to_filter(filter, search), sort, page, include)
    nodes = await build_orders(context, result.orders, names, result.relations, include)
    edges = [
        OrderEdge(cursor=encode_cursor(sort, key), node=node) for node, key in zip(nodes, result.keys, strict=True)
    ]
    return OrderConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=result.has_next,
            has_previous_page=result.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=result.total_count,
    )


field = strawberry.field(
    resolver=resolve,
    description=(
        f"Manage Orders: search, filter, sort and page (keyset cursors; first/last at most {MAX_PAGE_SIZE}, "
        f"default {DEFAULT_PAGE_SIZE}). Archived orders only when the filter asks for them."
    ),
)
