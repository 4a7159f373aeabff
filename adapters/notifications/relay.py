"""The SQL of the relay: unpublished outbox rows, and what planning an event's notifications reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.identity import identity_mapping, identity_tables
from adapters.notifications import tables
from adapters.orders import order_mapping, order_tables
from domain.identity import OrgKind
from domain.notifications import (
    Circle,
    Person,
    RecipientSide,
)
from domain.orders import Order, OrderEvent, OrderKind


async def has_unpublished(conn: AsyncConnection) -> bool:
    """True when some outbox row waits for the relay (a cheap check before taking a lock)."""
    o = order_tables.outbox
    return (await conn.execute(select(o.c.id).where(o.c.published_at.is_(None)).limit(1))).first() is not None


async def claim_unpublished(conn: AsyncConnection, limit: int) -> list[tuple[int, UUID]]:
    """The oldest unpublished outbox rows (id, event id), locked for this transaction.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent relays take disjoint batches. SQLite: the
    caller's transaction began IMMEDIATE and so holds the one write lock.
    """
    o = order_tables.outbox
    statement = select(o.c.id, o.c.event_id).where(o.c.published_at.is_(None)).order_by(o.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return [(row.id, row.event_id) for row in await conn.execute(statement)]


async def mark_published(conn: AsyncConnection, outbox_ids: Sequence[int], now: datetime) -> None:
    """Mark outbox rows done (in the transaction that planned their deliveries)."""
    if outbox_ids:
        o = order_tables.outbox
        await conn.execute(update(o).where(o.c.id.in_(list(outbox_ids))).values(published_at=now))


async def load_event(conn: AsyncConnection, event_id: UUID) -> OrderEvent | None:
    """An event from the activity timeline."""
    row = (
        await conn.execute(select(order_tables.order_activity).where(order_tables.order_activity.c.id == event_id))
    ).first()
    return None if row is None else order_mapping.event_from_row(row)


async def load_order(conn: AsyncConnection, order_id: UUID) -> Order | None:
    """An order with its quotes, as it is now."""
    row = (await conn.execute(select(order_tables.orders).where(order_tables.orders.c.id == order_id))).first()
    if row is None:
        return None
    order = order_mapping.order_from_row(row)
    q = order_tables.quotes
    quotes = await conn.execute(select(q).where(q.c.order_id == order_id).order_by(q.c.created_at, q.c.id))
    order.quotes = [order_mapping.quote_from_row(r) for r in quotes]
    return order


async def load_circle(conn: AsyncConnection, order: Order) -> Circle:
    """The users around an order (its partner's, providers', the vendor's, its watchers) and its lists.

    The providers are the order's and its quoting ones; for an open quote request, every provider of the programme.
    """
    u, o, w, r = (
        identity_tables.users,
        identity_tables.organisations,
        tables.order_watchers,
        tables.order_recipients,
    )
    org_ids = {order.partner_id, *(q.provider_id for q in order.quotes)}
    if order.provider_id is not None:
        org_ids.add(order.provider_id)
    watcher_ids = set((await conn.execute(select(w.c.user_id).where(w.c.order_id == order.id))).scalars())
    # An open quote request asks every provider of the programme; otherwise only its vendor is added.
    kinds = [OrgKind.VENDOR.value]
    if order.kind is OrderKind.QUOTED and order.provider_id is None:
        kinds.append(OrgKind.PROVIDER.value)
    conditions = [o.c.id.in_(sorted(org_ids)), and_(o.c.programme_id == order.programme_id, o.c.kind.in_(kinds))]
    if watcher_ids:
        conditions.append(u.c.id.in_(sorted(watcher_ids)))
    rows = await conn.execute(
        select(*u.c, *(c.label(f"o_{c.name}") for c in o.c))
        .join_from(u, o, o.c.id == u.c.organisation_id)
        .where(or_(*conditions))
    )
    people: dict[UUID, Person] = {}
    for row in rows.mappings():
        user = identity_mapping.user_from_row(row)
        org = identity_mapping.organisation_from_row({c.name: row[f"o_{c.name}"] for c in o.c})
        people[user.id] = Person.of(user, org)
    lists: dict[RecipientSide, list[str]] = defaultdict(list)
    for side, email in await conn.execute(
        select(r.c.side, r.c.email).where(r.c.order_id == order.id).order_by(r.c.position)
    ):
        lists[RecipientSide(side)].append(email)
    return Circle(people, frozenset(watcher_ids), {side: tuple(v) for side, v in lists.items()})
