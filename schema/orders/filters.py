"""Manage Orders' inputs and cursors: the filter and sort inputs, decoded into the domain's, and keyset cursors."""

from __future__ import annotations

from typing import Final
from uuid import UUID

import strawberry

from domain.common import Keyset, search_text
from domain.orders import OrderFilter, OrderSort, OrderSortField
from schema.common import SortDirection, ValueKind, decode_id
from schema.common import decode_cursor as decode_any_cursor
from schema.common import encode_cursor as encode_any_cursor
from schema.orders.enums import OrderSortField as OrderSortFieldEnum
from schema.orders.enums import OrderStatus


@strawberry.input(description="Manage Orders filters; every one given must match.")
class OrderFilterInput:
    """Filters of the orders list."""

    partner_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Placed by these partners.")
    provider_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Addressed to these.")
    statuses: list[OrderStatus] | None = strawberry.field(default=None, description="In any of these statuses.")
    activity_types: list[str] | None = strawberry.field(default=None, description="Of these activity types.")
    assignee_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Assigned to these users.")
    archived: bool | None = strawberry.field(
        default=False, description="false (default): hide ARCHIVED; true: only ARCHIVED; null: both."
    )


@strawberry.input(description="How to sort Manage Orders.")
class OrderSortInput:
    """Sort of the orders list."""

    field: OrderSortFieldEnum = strawberry.field(
        default=OrderSortField.LAST_ACTIVITY_AT, description="The sort key; ties are broken by ID."
    )
    direction: SortDirection = strawberry.field(default=SortDirection.DESC, description="ASC or DESC.")


SEARCH = strawberry.argument(
    description="Text to find in the number, name, campaign, partner, provider or partner contact (any case)."
)
FILTER = strawberry.argument(description="Filters; every one given must match.")


def to_filter(flt: OrderFilterInput | None, search: str | None) -> OrderFilter:
    """The domain filter for the inputs."""
    text = search_text(search)
    if flt is None:
        return OrderFilter(search=text)

    def ids(values: list[strawberry.ID] | None, type_name: str, field: str) -> tuple[UUID, ...]:
        return tuple(decode_id(v, type_name, field=f"filter.{field}") for v in values or ())

    return OrderFilter(
        partner_ids=ids(flt.partner_ids, "Organisation", "partnerIds"),
        provider_ids=ids(flt.provider_ids, "Organisation", "providerIds"),
        statuses=tuple(flt.statuses or ()),
        activity_types=tuple(flt.activity_types or ()),
        assignee_ids=ids(flt.assignee_ids, "User", "assigneeIds"),
        archived=flt.archived,
        search=text,
    )


def to_sort(sort: OrderSortInput | None) -> OrderSort:
    """The domain sort for the input."""
    return OrderSort() if sort is None else OrderSort(field=sort.field, direction=sort.direction)


_KIND: Final[dict[OrderSortField, ValueKind]] = {
    OrderSortField.SUBMITTED_AT: "datetime",
    OrderSortField.LAST_ACTIVITY_AT: "datetime",
    OrderSortField.ESTIMATED_COMPLETION: "date",
    OrderSortField.NUMBER: "int",
}


def encode_cursor(sort: OrderSort, key: Keyset) -> str:
    """An opaque cursor for a position in Manage Orders sorted by `sort`."""
    return encode_any_cursor(sort.field.value, key)


def decode_cursor(sort: OrderSort, cursor: str, field: str) -> Keyset:
    """The position a cursor names; it must come from Manage Orders sorted by the same key."""
    return decode_any_cursor(sort.field.value, _KIND[sort.field], cursor, field)
