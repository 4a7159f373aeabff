"""Helpers the order services share."""

from __future__ import annotations

from uuid import UUID

from domain.common import NotFound, VersionConflict
from domain.identity import Actor
from domain.orders.order import Order
from domain.orders.ports import OrdersUnitOfWork


async def load_visible_order(
    uow: OrdersUnitOfWork, actor: Actor, order_id: UUID, expected_version: int | None
) -> Order:
    """The order as `actor` may act on it; unseen orders are simply not found."""
    order = await uow.orders.get(order_id)
    if order is None or not order.can_see(actor):
        raise NotFound("Order")
    # The caller's own version: a change it cannot see never makes the version it sends stale.
    if expected_version is not None and expected_version != (current := order.version_for(actor)):
        raise VersionConflict(expected_version, current)
    return order
