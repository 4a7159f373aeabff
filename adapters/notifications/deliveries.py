"""The delivery log (`notifications`): the durable queue of email, and the SQL of its sender.

One row per event and recipient (its id is `domain.notifications.delivery_id`, so planning the
same event twice finds the same rows), PENDING until a worker has handed it to SMTP (or written its
file), then SENT; FAILED when retries ran out or the server refused it for good. Its state changes
are single UPDATE statements guarded by their preconditions, so concurrent workers (or a worker and
a sweeper) never both act on a row:

- claim: PENDING and not leased -> leased for a while, attempts + 1
- sent: the claimed generation -> SENT, lease released
- failed attempt: -> PENDING again with `next_attempt_at` pushed back, or FAILED
- due: PENDING and `next_attempt_at` passed -> re-enqueued (and pushed back again)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.notifications import tables
from adapters.orders import order_mapping, order_tables
from domain.notifications import (
    Delivery,
    DeliveryStatus,
    Planned,
    Template,
    delivery_id,
)
from domain.orders import Audience, EventKind, OrderEvent

n = tables.notifications


MAX_ERROR_CHARS = 2_000


_DELIVERY_COLUMNS = (
    *n.c,
    order_tables.order_activity.c.kind.label("event_kind"),
    order_tables.order_activity.c.audience_org_id.label("event_audience_org_id"),
    order_tables.order_activity.c.audience_buyer_side.label("event_audience_buyer_side"),
)


def select_deliveries() -> Any:
    """The delivery log's rows with their event's order, ready for `delivery_from_row`."""
    return select(*_DELIVERY_COLUMNS).join_from(
        n, order_tables.order_activity, order_tables.order_activity.c.id == n.c.event_id
    )


def delivery_from_row(m: RowMapping | Mapping[str, Any]) -> Delivery:
    """A delivery from a `notifications` row joined with its event's kind and audience."""
    return Delivery(
        id=m["id"],
        event_id=m["event_id"],
        order_id=m["order_id"],
        recipient=m["recipient"],
        template=Template(m["template"]),
        status=DeliveryStatus(m["status"]),
        attempts=m["attempts"],
        created_at=m["created_at"],
        audience=order_mapping.audience_from_row(m),
        event_audience=Audience(org_id=m["event_audience_org_id"], buyer_side=bool(m["event_audience_buyer_side"])),
        event_kind=EventKind(m["event_kind"]),
        last_error=m["last_error"],
        sent_at=m["sent_at"],
        generation=m["generation"],
    )


def insert_ignoring_conflicts(conn: AsyncConnection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on either backend."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def insert_deliveries(
    conn: AsyncConnection, event: OrderEvent, planned: Iterable[Planned], now: datetime, due: datetime
) -> list[UUID]:
    """Create the PENDING rows of an event's deliveries; rows that exist are left as they are.

    Returns the ids of every planned delivery (new or not). `due`: when the sweeper may re-enqueue
    them if no worker has taken them by then.
    """
    rows = [
        {
            "id": delivery_id(event.id, p.recipient),
            "event_id": event.id,
            "order_id": event.order_id,
            "recipient": p.recipient,
            "template": p.template.value,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "generation": 0,
            "last_error": "",
            "created_at": now,
            "next_attempt_at": due,
            **order_mapping.audience_values(p.audience),
        }
        for p in planned
    ]
    if rows:
        await conn.execute(insert_ignoring_conflicts(conn, n), rows)
    return [row["id"] for row in rows]


async def take_due(
    conn: AsyncConnection, now: datetime, again_at: datetime, limit: int, *, all_idle: bool
) -> list[UUID]:
    """PENDING rows due for (re-)enqueueing, pushed back to `again_at` so other sweepers skip them.

    `all_idle`: take every PENDING row that no one holds a lease on, due or not (a worker starting
    up: whatever was queued in a broker that did not survive is sent now, not after the wait).
    """
    pending = n.c.status == DeliveryStatus.PENDING.value
    if all_idle:
        ready = and_(pending, or_(n.c.leased_until.is_(None), n.c.leased_until <= now))
    else:
        ready = and_(pending, n.c.next_attempt_at <= now)
    candidates = select(n.c.id).where(ready).order_by(n.c.next_attempt_at, n.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await conn.execute(candidates)).scalars())
    if ids:
        await conn.execute(update(n).where(n.c.id.in_(ids)).values(next_attempt_at=again_at))
    return ids


class ClaimResult(Enum):
    """What a worker found when it tried to take a delivery."""

    CLAIMED = "CLAIMED"
    DONE = "DONE"  # sent, failed for good, or gone: nothing to do
    BUSY = "BUSY"  # another worker holds its lease


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery a worker may now send, at this generation."""

    result: ClaimResult
    delivery: Delivery | None = None


async def claim(conn: AsyncConnection, delivery_id: UUID, now: datetime, lease_until: datetime) -> Claim:
    """Take the lease on a PENDING delivery no one else holds; counts an attempt."""
    result = await conn.execute(
        update(n)
        .where(
            n.c.id == delivery_id,
            n.c.status == DeliveryStatus.PENDING.value,
            or_(n.c.leased_until.is_(None), n.c.leased_until <= now),
        )
        .values(attempts=n.c.attempts + 1, leased_until=lease_until, next_attempt_at=lease_until)
    )
    row = (await conn.execute(select_deliveries().where(n.c.id == delivery_id))).mappings().first()
    if row is None:
        return Claim(ClaimResult.DONE)
    delivery = delivery_from_row(row)
    if result.rowcount == 1:
        return Claim(ClaimResult.CLAIMED, delivery)
    if delivery.status is DeliveryStatus.PENDING:
        return Claim(ClaimResult.BUSY, delivery)
    return Claim(ClaimResult.DONE, delivery)


async def mark_sent(conn: AsyncConnection, delivery: Delivery, now: datetime) -> bool:
    """SENT, if the row is still at the generation that was sent (a resend meanwhile stays PENDING)."""
    result = await conn.execute(
        update(n)
        .where(n.c.id == delivery.id, n.c.generation == delivery.generation)
        .values(status=DeliveryStatus.SENT.value, sent_at=now, leased_until=None, last_error="")
    )
    if result.rowcount == 1:
        return True
    await conn.execute(update(n).where(n.c.id == delivery.id).values(leased_until=None))
    return False


async def mark_attempt_failed(
    conn: AsyncConnection,
    delivery: Delivery,
    error: str,
    *,
    retry_at: datetime | None,
) -> DeliveryStatus:
    """Record a failed attempt: PENDING again from `retry_at`, or FAILED when there is no retry."""
    status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.FAILED
    values: dict[str, Any] = {"status": status.value, "last_error": error[:MAX_ERROR_CHARS], "leased_until": None}
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    await conn.execute(update(n).where(n.c.id == delivery.id, n.c.generation == delivery.generation).values(values))
    return status
