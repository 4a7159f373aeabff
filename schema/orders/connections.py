"""Manage Orders' list types: the connection, its edges and page info, and the status counts."""

from __future__ import annotations

import strawberry

from schema.orders.enums import OrderStatus
from schema.orders.types import Order


@strawberry.type(description="Cursor pagination state.")
class PageInfo:
    """Relay PageInfo."""

    has_next_page: bool = strawberry.field(description="More items after endCursor.")
    has_previous_page: bool = strawberry.field(description="More items before startCursor.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item of the page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item of the page.")


@strawberry.type(description="An order and its position in the list.")
class OrderEdge:
    """An edge of the orders connection."""

    cursor: str = strawberry.field(description="Pass as after/before to continue from here.")
    node: Order = strawberry.field(description="The order.")


@strawberry.type(description="A page of orders.")
class OrderConnection:
    """The Manage Orders connection."""

    edges: list[OrderEdge] = strawberry.field(description="Orders with their cursors.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    total_count: int | None = strawberry.field(description="How many orders match in all (null unless asked).")

    @strawberry.field(description="The orders of this page, without cursors.")
    def nodes(self) -> list[Order]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="How many visible orders stand in one status.")
class OrderStatusCount:
    """One row of the view-by-status panel."""

    status: OrderStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Orders in it.")
