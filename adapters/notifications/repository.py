"""Notifications' repository over the unit of work's transaction: recipient lists, watchers, order links, resends."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from sqlalchemy import and_, case, delete, insert, or_, select, update

from adapters.db import SqlTransaction
from adapters.identity import identity_tables
from adapters.notifications import tables
from adapters.notifications.deliveries import delivery_from_row, insert_ignoring_conflicts, select_deliveries
from adapters.notifications.relay import load_circle
from adapters.orders import order_tables
from domain.notifications import (
    Circle,
    Delivery,
    DeliveryStatus,
    OrderLink,
    RecipientList,
    RecipientSide,
    Sender,
)
from domain.orders import EventKind, Order, OrderEvent

n = tables.notifications


class _HasEvents(Protocol):
    def pull_events(self) -> list[OrderEvent]: ...


class SqlNotificationRepository:
    """domain.notifications.NotificationRepository in the unit of work's transaction."""

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx
        self._seen: list[_HasEvents] = []

    async def recipients(self, order_id: UUID, side: RecipientSide) -> RecipientList:
        """One side's list, in the order it was given."""
        conn = await self._tx.connection()
        r = tables.order_recipients
        rows = await conn.execute(
            select(r.c.email).where(r.c.order_id == order_id, r.c.side == side.value).order_by(r.c.position)
        )
        return RecipientList(order_id, side, tuple(rows.scalars()))

    async def save_recipients(self, recipients: RecipientList) -> None:
        """Replace the stored list with this one."""
        conn = await self._tx.for_write()
        r = tables.order_recipients
        await conn.execute(delete(r).where(r.c.order_id == recipients.order_id, r.c.side == recipients.side.value))
        if recipients.emails:
            await conn.execute(
                insert(r),
                [
                    {"order_id": recipients.order_id, "side": recipients.side.value, "email": email, "position": i}
                    for i, email in enumerate(recipients.emails)
                ],
            )
        self._seen.append(recipients)

    async def watch(self, order_id: UUID, user_id: UUID, now: datetime) -> None:
        """Add the watcher unless it already watches."""
        conn = await self._tx.for_write()
        statement = insert_ignoring_conflicts(conn, tables.order_watchers)
        await conn.execute(statement.values(order_id=order_id, user_id=user_id, created_at=now))

    async def unwatch(self, order_id: UUID, user_id: UUID) -> None:
        """Remove the watcher, if it watches."""
        conn = await self._tx.for_write()
        w = tables.order_watchers
        await conn.execute(delete(w).where(w.c.order_id == order_id, w.c.user_id == user_id))

    async def add_link(self, link: OrderLink) -> None:
        """Keep the link for its event (the event is the only record of it)."""
        self._seen.append(link)

    async def circle(self, order: Order) -> Circle:
        """The order's circle, as the relay reads it when it plans the deliveries (the same rules)."""
        return await load_circle(await self._tx.connection(), order)

    async def hold_send_lock(self, organisation_id: UUID) -> None:
        """Serialise the organisation's sends: count, then add, with no other request in between.

        SQLite has one writer: the write lock is that. PostgreSQL: the organisation's row, locked FOR
        UPDATE until commit, so two API processes never both see room for the last message.
        """
        conn = await self._tx.for_write()
        if conn.dialect.name == "postgresql":
            o = identity_tables.organisations
            await conn.execute(select(o.c.id).where(o.c.id == organisation_id).with_for_update())

    async def recent_messages(self, sender: Sender, sender_id: UUID, since: datetime, limit: int) -> list[datetime]:
        """Follow-ups (a COMMENT_ADDED with a `message`) and order links on the timeline, newest first."""
        conn = await self._tx.connection()
        a = order_tables.order_activity
        who = a.c.actor_user_id if sender is Sender.USER else a.c.actor_org_id
        # as_string: a missing key is NULL on both backends (SQLite's JSON_QUOTE(NULL) would be 'null').
        message = or_(
            a.c.kind == EventKind.ORDER_LINK_SENT.value,
            and_(a.c.kind == EventKind.COMMENT_ADDED.value, a.c.after["message"].as_string().is_not(None)),
        )
        rows = await conn.execute(
            select(a.c.occurred_at)
            .where(who == sender_id, a.c.occurred_at > since, message)
            .order_by(a.c.occurred_at.desc())
            .limit(limit)
        )
        return list(rows.scalars())

    async def delivery(self, delivery_id: UUID) -> Delivery | None:
        """One delivery with its event's audience."""
        conn = await self._tx.connection()
        row = (await conn.execute(select_deliveries().where(n.c.id == delivery_id))).mappings().first()
        return None if row is None else delivery_from_row(row)

    async def resend(self, delivery_id: UUID, now: datetime) -> Delivery:
        """PENDING again, due now: a sent one becomes a new generation (a new email); sent or failed, it starts over."""
        conn = await self._tx.for_write()
        sent = n.c.status == DeliveryStatus.SENT.value
        failed = n.c.status == DeliveryStatus.FAILED.value
        await conn.execute(
            update(n)
            .where(n.c.id == delivery_id)
            .values(
                status=DeliveryStatus.PENDING.value,
                generation=case((sent, n.c.generation + 1), else_=n.c.generation),
                attempts=case((or_(sent, failed), 0), else_=n.c.attempts),
                sent_at=case((sent, None), else_=n.c.sent_at),
                last_error="",
                next_attempt_at=now,
            )
        )
        found = await self.delivery(delivery_id)
        if found is None:
            raise LookupError(f"notification {delivery_id} vanished while being resent")
        return found

    def seen(self) -> list[_HasEvents]:
        """The recipient lists and links whose events the unit of work writes on commit."""
        return list(self._seen)
