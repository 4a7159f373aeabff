"""orderUpdate: edit an order's fields; who may edit which field is domain policy."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from domain.orders import UNSET as DOMAIN_UNSET
from domain.orders import UpdateOrder, update_order
from schema.common import INPUT, Context, decode_id
from schema.orders import LineItemInput, OrderPayload, Priority, order_command


@strawberry.input(description="Fields to change; leave a field out to keep it.")
class OrderUpdateInput:
    """Input of orderUpdate."""

    id: strawberry.ID = strawberry.field(description="The order.")
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    campaign_name: str | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    activity_type: str | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    partner_contact_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    end_customer: str | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    requested_completion: date | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    po_number: str | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    po_not_required: bool | None = strawberry.field(default=strawberry.UNSET, description="Buyer side.")
    line_items: list[LineItemInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Buyer side, DRAFT only: replaces every line item."
    )
    priority: Priority | None = strawberry.field(default=strawberry.UNSET, description="Either side.")
    planned_completion: date | None = strawberry.field(default=strawberry.UNSET, description="The provider.")
    estimated_completion: date | None = strawberry.field(default=strawberry.UNSET, description="The provider.")
    provider_notes: str | None = strawberry.field(
        default=strawberry.UNSET, description="The provider; only its users ever see them."
    )
    owner_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The provider: one of its users, or null."
    )


_TEXT = ("name", "campaign_name", "activity_type", "end_customer", "po_number", "provider_notes")
_VALUES = ("requested_completion", "planned_completion", "estimated_completion", "po_not_required", "priority")


def _command(input: Annotated[OrderUpdateInput, INPUT]) -> UpdateOrder:
    changes: dict[str, Any] = {}
    for name in (*_TEXT, *_VALUES):
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            # Null clears a text field; booleans and priority cannot be null.
            changes[name] = "" if value is None and name in _TEXT else value
    for name, type_name in (("partner_contact_id", "User"), ("owner_id", "User")):
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            changes[name] = decode_id(value, type_name, field=name) if value else None
    for name in ("po_not_required", "priority"):
        if changes.get(name, DOMAIN_UNSET) is None:
            del changes[name]
    lines = None if input.line_items in (None, strawberry.UNSET) else input.line_items
    return UpdateOrder(
        order_id=decode_id(input.id, "Order"),
        changes=changes,
        lines=tuple(line.to_domain() for line in lines) if lines is not None else None,
        expected_version=input.expected_version,
    )


@strawberry.type(description="The result of orderUpdate.")
class OrderUpdatePayload(OrderPayload):
    """Payload of orderUpdate."""


async def resolve(info: Info[Context, None], input: Annotated[OrderUpdateInput, INPUT]) -> OrderUpdatePayload:
    """Edit an order's fields."""
    order, errors = await order_command(info, lambda ports, actor: update_order(ports, actor, _command(input)))
    return OrderUpdatePayload(order=order, user_errors=errors)


field = strawberry.mutation(
    resolver=resolve,
    description=(
        "Edit fields. The buyer side (partner, vendor) edits the order's description; the provider edits provider "
        "notes, planned and estimated completion and the owner; either side the priority. CANCELLED and ARCHIVED "
        "orders are read-only."
    ),
)
