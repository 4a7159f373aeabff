"""Helpers the order services share: loading the order a caller may act on, at the version it expects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from domain.common import NotFound, VersionConflict
from domain.identity import Actor
from domain.orders.order import Order
from domain.orders.ports import OrdersUnitOfWork

T = TypeVar("T")


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


@dataclass(slots=True)
class VersionCheck:
    """The version a command expects its order at, as its caller sees it (None: any), and the one it found."""

    actor: Actor
    expected: int | None
    seen: int | None = None

    async def load(self, uow: OrdersUnitOfWork, order_id: UUID) -> Order:
        """`load_visible_order` at the expected version, noting the version the caller sees."""
        order = await load_visible_order(uow, self.actor, order_id, self.expected)
        self.seen = order.version_for(self.actor)
        return order


async def at_callers_version(actor: Actor, expected: int | None, attempt: Callable[[VersionCheck], Awaitable[T]]) -> T:
    """Run a command's unit of work (`attempt`); when its save loses a race, run it once more from a fresh load.

    A save checks the row against every command that committed since the load, so it also loses to one the
    caller cannot see (the provider's notes beside a partner's rename). The second attempt expects the order
    at the version the caller saw in the first: it is refused, with the caller's own versions, only when what
    changed meanwhile is something the caller may see. So no caller overwrites unawares a change it could
    see, and none is refused for one it cannot. Losing a second race in a row is a conflict.
    """
    first = VersionCheck(actor, expected)
    try:
        return await attempt(first)
    except VersionConflict:
        if first.seen is None:  # refused at its load: stale as the caller sees it
            raise
        seen = first.seen
    second = VersionCheck(actor, seen)
    try:
        return await attempt(second)
    except VersionConflict as conflict:
        if second.seen is None:
            raise
        raise VersionConflict(seen) from conflict  # the row's own counters are nobody's version
