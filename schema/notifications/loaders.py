"""Notifications' per-request loaders, keyed by the order as the viewer sees it.

The delivery log and the recipient lists are filtered here by the domain's rules, against each
order as loaded for the viewer; the key is that order (cached by its id).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from uuid import UUID

from domain.notifications import Delivery, VisibleSettings, delivery_visible_to, settings_visible_to
from domain.orders import Order
from schema.common import Loader


class DeliveriesByOrder(Loader[Order, list[Delivery]]):
    """Each order's delivery log, as far as the viewer may see it, newest first."""

    def key_of(self, key: Order) -> Hashable:
        """Orders are cached by id."""
        return key.id

    async def fetch(self, keys: Sequence[Order]) -> Sequence[list[Delivery]]:
        """The visible deliveries of each order of `keys`."""
        actor = self.context.require_actor()
        rows = await self.context.queries.deliveries_by_order(self.context.viewer, [o.id for o in keys])
        return [
            [d for d in per_order if delivery_visible_to(actor, order, d)]
            for order, per_order in zip(keys, rows, strict=True)
        ]


class NotificationSettingsByOrder(Loader[Order, VisibleSettings]):
    """Each order's recipient lists and watchers, as far as the viewer may see them."""

    def key_of(self, key: Order) -> Hashable:
        """Orders are cached by id."""
        return key.id

    async def fetch(self, keys: Sequence[Order]) -> Sequence[VisibleSettings]:
        """The visible settings of each order of `keys`."""
        actor = self.context.require_actor()
        ids: list[UUID] = [o.id for o in keys]
        rows = await self.context.queries.notification_settings_by_order(self.context.viewer, ids)
        return [
            settings_visible_to(actor, order, settings, people)
            for order, (settings, people) in zip(keys, rows, strict=True)
        ]
