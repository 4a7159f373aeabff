"""The read side of notifications: an order's delivery log and notification settings, batched per order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from domain.notifications.deliveries import Delivery
from domain.notifications.recipients import NotificationSettings
from domain.orders import Viewer


class NotificationQueries(Protocol):
    """View-shaped reads of the notification side, batched by order."""

    async def deliveries_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[Delivery]]:
        """Delivery-log rows per order, newest first.

        Not yet filtered by audience: callers keep only `domain.notifications.delivery_visible_to`
        rows, which needs each order (schema.common.loaders does it before anything reaches a type).
        """
        ...

    async def notification_settings_by_order(
        self, viewer: Viewer, order_ids: Sequence[UUID]
    ) -> list[tuple[NotificationSettings, dict[UUID, UUID]]]:
        """Recipient lists and watchers per order (watcher id to organisation id); callers filter likewise."""
        ...
