"""The read side of notifications: the delivery log and the recipient settings of orders, for the API."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.identity import identity_tables
from adapters.notifications import tables
from adapters.notifications.deliveries import delivery_from_row, select_deliveries
from domain.notifications import (
    Delivery,
    NotificationSettings,
    RecipientSide,
)
from domain.orders import Viewer

n = tables.notifications


async def deliveries_by_order(conn: AsyncConnection, order_ids: Sequence[UUID]) -> dict[UUID, list[Delivery]]:
    """Every delivery of these orders, newest first (callers filter by visibility)."""
    if not order_ids:
        return {}
    rows = await conn.execute(
        select_deliveries().where(n.c.order_id.in_(list(order_ids))).order_by(n.c.created_at.desc(), n.c.recipient)
    )
    found: dict[UUID, list[Delivery]] = defaultdict(list)
    for row in rows.mappings():
        found[row["order_id"]].append(delivery_from_row(row))
    return found


async def settings_by_order(
    conn: AsyncConnection, order_ids: Sequence[UUID]
) -> dict[UUID, tuple[NotificationSettings, dict[UUID, UUID]]]:
    """Recipient lists and watchers per order, with each watcher's organisation (two statements)."""
    ids = list(order_ids)
    if not ids:
        return {}
    r, w, u = tables.order_recipients, tables.order_watchers, identity_tables.users
    lists: dict[UUID, dict[RecipientSide, list[str]]] = defaultdict(lambda: defaultdict(list))
    for order_id, side, email in await conn.execute(
        select(r.c.order_id, r.c.side, r.c.email).where(r.c.order_id.in_(ids)).order_by(r.c.position)
    ):
        lists[order_id][RecipientSide(side)].append(email)
    watchers: dict[UUID, dict[UUID, UUID]] = defaultdict(dict)
    for order_id, user_id, org_id in await conn.execute(
        select(w.c.order_id, w.c.user_id, u.c.organisation_id)
        .join_from(w, u, u.c.id == w.c.user_id)
        .where(w.c.order_id.in_(ids))
    ):
        watchers[order_id][user_id] = org_id
    return {
        order_id: (
            NotificationSettings(
                order_id,
                {side: tuple(emails) for side, emails in lists[order_id].items()},
                frozenset(watchers[order_id]),
            ),
            watchers[order_id],
        )
        for order_id in ids
    }


class SqlNotificationQueries:
    """`domain.notifications.NotificationQueries` over SQLAlchemy Core; one pooled connection per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def deliveries_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[Delivery]]:
        """Delivery-log rows per order (one statement); filtered by the caller (see the port)."""
        async with self._engine.connect() as conn:
            found = await deliveries_by_order(conn, list(dict.fromkeys(order_ids)))
        return [found.get(i, []) for i in order_ids]

    async def notification_settings_by_order(
        self, viewer: Viewer, order_ids: Sequence[UUID]
    ) -> list[tuple[NotificationSettings, dict[UUID, UUID]]]:
        """Recipient lists and watchers per order (two statements); filtered by the caller (see the port)."""
        async with self._engine.connect() as conn:
            found = await settings_by_order(conn, list(dict.fromkeys(order_ids)))
        return [found.get(i, (NotificationSettings(i), {})) for i in order_ids]
