"""The ports of notifications: recipient lists, watchers, order links and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.notifications.deliveries import Delivery
from domain.notifications.links import OrderLink
from domain.notifications.planning import Circle
from domain.notifications.recipients import RecipientList, RecipientSide
from domain.notifications.sending import Sender
from domain.orders import Order, OrdersUnitOfWork


class NotificationRepository(Protocol):
    """An order's recipient lists and watchers, order links, and the delivery log's rows."""

    async def recipients(self, order_id: UUID, side: RecipientSide) -> RecipientList:
        """One side's recipient list of an order (empty when never set)."""
        ...

    async def save_recipients(self, recipients: RecipientList) -> None:
        """Write a recipient list (its events are written on commit)."""
        ...

    async def watch(self, order_id: UUID, user_id: UUID, now: datetime) -> None:
        """Make a user a watcher of an order (watching twice is watching)."""
        ...

    async def unwatch(self, order_id: UUID, user_id: UUID) -> None:
        """Stop a user watching an order (a no-op when it was not)."""
        ...

    async def add_link(self, link: OrderLink) -> None:
        """Record an order link (its ORDER_LINK_SENT event, written on commit, is the record)."""
        ...

    async def circle(self, order: Order) -> Circle:
        """The order's people (users of the organisations around it, its watchers) and its recipient lists."""
        ...

    async def hold_send_lock(self, organisation_id: UUID) -> None:
        """Until this transaction ends, no other may count or send messages of this organisation."""
        ...

    async def recent_messages(self, sender: Sender, sender_id: UUID, since: datetime, limit: int) -> list[datetime]:
        """When a user (or an organisation's users) last sent messages after `since`: newest first, at most `limit`.

        A message is a follow-up or an order link (domain.notifications.is_message), as recorded on the timeline.
        """
        ...

    async def delivery(self, delivery_id: UUID) -> Delivery | None:
        """One row of the delivery log, or None."""
        ...

    async def resend(self, delivery_id: UUID, now: datetime) -> Delivery:
        """Queue a delivery again at once: retried when pending or failed, sent once more when sent."""
        ...


class NotificationsUnitOfWork(OrdersUnitOfWork, Protocol):
    """What the notification services use of a unit of work (they act on orders too)."""

    notifications: NotificationRepository
