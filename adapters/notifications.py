"""Notification storage: recipient lists, watchers, the delivery log, and the SQL of the relay and sender.

The delivery log (`notifications`) is the durable queue of email: one row per event and recipient
(its id is `domain.notifications.delivery_id`, so planning the same event twice finds the same rows),
PENDING until a worker has handed it to SMTP (or written its file), then SENT; FAILED when retries ran
out or the server refused it for good. Its state changes are single UPDATE statements guarded by
their preconditions, so concurrent workers (or a worker and a sweeper) never both act on a row:

- claim: PENDING and not leased -> leased for a while, attempts + 1
- sent: the claimed generation -> SENT, lease released
- failed attempt: -> PENDING again with `next_attempt_at` pushed back, or FAILED
- due: PENDING and `next_attempt_at` passed -> re-enqueued (and pushed back again)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Table, and_, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters import mapping, tables
from adapters.repositories import SqlTransaction
from domain.comments import Comment
from domain.events import Audience, EventKind, OrderEvent
from domain.identity import OrgKind
from domain.notifications import (
    Circle,
    Delivery,
    DeliveryStatus,
    NotificationSettings,
    OrderLink,
    Person,
    Planned,
    RecipientList,
    RecipientSide,
    Template,
    delivery_id,
)
from domain.orders import Order, Quote

n = tables.notifications
MAX_ERROR_CHARS = 2_000


class _HasEvents(Protocol):
    def pull_events(self) -> list[OrderEvent]: ...


# ---- rows ------------------------------------------------------------------------------------

_DELIVERY_COLUMNS = (
    *n.c,
    tables.order_activity.c.kind.label("event_kind"),
    tables.order_activity.c.audience_org_id.label("event_audience_org_id"),
    tables.order_activity.c.audience_buyer_side.label("event_audience_buyer_side"),
)


def _deliveries() -> Any:
    return select(*_DELIVERY_COLUMNS).join_from(n, tables.order_activity, tables.order_activity.c.id == n.c.event_id)


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
        audience=mapping.audience_from_row(m),
        event_audience=Audience(org_id=m["event_audience_org_id"], buyer_side=bool(m["event_audience_buyer_side"])),
        event_kind=EventKind(m["event_kind"]),
        last_error=m["last_error"],
        sent_at=m["sent_at"],
        generation=m["generation"],
    )


def _insert_ignoring_conflicts(conn: AsyncConnection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on either backend."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


# ---- the unit of work's repository ------------------------------------------------------------


class SqlNotificationRepository:
    """domain.ports.NotificationRepository in the unit of work's transaction."""

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
        statement = _insert_ignoring_conflicts(conn, tables.order_watchers)
        await conn.execute(statement.values(order_id=order_id, user_id=user_id, created_at=now))

    async def unwatch(self, order_id: UUID, user_id: UUID) -> None:
        """Remove the watcher, if it watches."""
        conn = await self._tx.for_write()
        w = tables.order_watchers
        await conn.execute(delete(w).where(w.c.order_id == order_id, w.c.user_id == user_id))

    async def add_link(self, link: OrderLink) -> None:
        """Keep the link for its event (the event is the only record of it)."""
        self._seen.append(link)

    async def delivery(self, delivery_id: UUID) -> Delivery | None:
        """One delivery with its event's audience."""
        conn = await self._tx.connection()
        row = (await conn.execute(_deliveries().where(n.c.id == delivery_id))).mappings().first()
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


# ---- reads for the API ---------------------------------------------------------------------------


async def deliveries_by_order(conn: AsyncConnection, order_ids: Sequence[UUID]) -> dict[UUID, list[Delivery]]:
    """Every delivery of these orders, newest first (callers filter by visibility)."""
    if not order_ids:
        return {}
    rows = await conn.execute(
        _deliveries().where(n.c.order_id.in_(list(order_ids))).order_by(n.c.created_at.desc(), n.c.recipient)
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
    r, w, u = tables.order_recipients, tables.order_watchers, tables.users
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


# ---- the relay ---------------------------------------------------------------------------------


async def has_unpublished(conn: AsyncConnection) -> bool:
    """True when some outbox row waits for the relay (a cheap check before taking a lock)."""
    o = tables.outbox
    return (await conn.execute(select(o.c.id).where(o.c.published_at.is_(None)).limit(1))).first() is not None


async def claim_unpublished(conn: AsyncConnection, limit: int) -> list[tuple[int, UUID]]:
    """The oldest unpublished outbox rows (id, event id), locked for this transaction.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent relays take disjoint batches. SQLite: the
    caller's transaction began IMMEDIATE and so holds the one write lock.
    """
    o = tables.outbox
    statement = select(o.c.id, o.c.event_id).where(o.c.published_at.is_(None)).order_by(o.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return [(row.id, row.event_id) for row in await conn.execute(statement)]


async def mark_published(conn: AsyncConnection, outbox_ids: Sequence[int], now: datetime) -> None:
    """Mark outbox rows done (in the transaction that planned their deliveries)."""
    if outbox_ids:
        o = tables.outbox
        await conn.execute(update(o).where(o.c.id.in_(list(outbox_ids))).values(published_at=now))


async def load_event(conn: AsyncConnection, event_id: UUID) -> OrderEvent | None:
    """An event from the activity timeline."""
    row = (await conn.execute(select(tables.order_activity).where(tables.order_activity.c.id == event_id))).first()
    return None if row is None else mapping.event_from_row(row)


async def load_order(conn: AsyncConnection, order_id: UUID) -> Order | None:
    """An order with its quotes, as it is now."""
    row = (await conn.execute(select(tables.orders).where(tables.orders.c.id == order_id))).first()
    if row is None:
        return None
    order = mapping.order_from_row(row)
    q = tables.quotes
    quotes = await conn.execute(select(q).where(q.c.order_id == order_id).order_by(q.c.created_at, q.c.id))
    order.quotes = [mapping.quote_from_row(r) for r in quotes]
    return order


async def load_circle(conn: AsyncConnection, order: Order) -> Circle:
    """The users around an order (its partner's, providers', the vendor's, its watchers) and its lists."""
    u, o, w, r = tables.users, tables.organisations, tables.order_watchers, tables.order_recipients
    org_ids = {order.partner_id, *(q.provider_id for q in order.quotes)}
    if order.provider_id is not None:
        org_ids.add(order.provider_id)
    watcher_ids = set((await conn.execute(select(w.c.user_id).where(w.c.order_id == order.id))).scalars())
    conditions = [
        o.c.id.in_(sorted(org_ids)),
        and_(o.c.programme_id == order.programme_id, o.c.kind == OrgKind.VENDOR.value),
    ]
    if watcher_ids:
        conditions.append(u.c.id.in_(sorted(watcher_ids)))
    rows = await conn.execute(
        select(*u.c, *(c.label(f"o_{c.name}") for c in o.c))
        .join_from(u, o, o.c.id == u.c.organisation_id)
        .where(or_(*conditions))
    )
    people: dict[UUID, Person] = {}
    for row in rows.mappings():
        user = mapping.user_from_row(row)
        org = mapping.organisation_from_row({c.name: row[f"o_{c.name}"] for c in o.c})
        people[user.id] = Person.of(user, org)
    lists: dict[RecipientSide, list[str]] = defaultdict(list)
    for side, email in await conn.execute(
        select(r.c.side, r.c.email).where(r.c.order_id == order.id).order_by(r.c.position)
    ):
        lists[RecipientSide(side)].append(email)
    return Circle(people, frozenset(watcher_ids), {side: tuple(v) for side, v in lists.items()})


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
            **mapping.audience_values(p.audience),
        }
        for p in planned
    ]
    if rows:
        await conn.execute(_insert_ignoring_conflicts(conn, n), rows)
    return [row["id"] for row in rows]


# ---- the sender's state changes ---------------------------------------------------------------


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
    row = (await conn.execute(_deliveries().where(n.c.id == delivery_id))).mappings().first()
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


# ---- what an email says -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailFacts:
    """Everything an email about one delivery may draw on (already as its recipient may see it)."""

    delivery: Delivery
    event: OrderEvent
    order: Order
    partner_name: str
    provider_name: str
    actor: Person | None
    actor_org_name: str
    comment: Comment | None = None
    quote: Quote | None = None
    assignee: Person | None = None


async def load_facts(conn: AsyncConnection, delivery: Delivery) -> EmailFacts | None:
    """The event, order and people of a delivery; None when they are gone."""
    event = await load_event(conn, delivery.event_id)
    order = await load_order(conn, delivery.order_id)
    if event is None or order is None:
        return None
    names = await _org_names(conn, [order.partner_id, order.provider_id, event.actor_org_id])
    people = await _people(conn, [event.actor_user_id, _uuid(event.after.get("assignee_id"))])
    comment = None
    if event.kind is EventKind.COMMENT_ADDED and event.subject_id is not None:
        comment = await _comment(conn, event.subject_id)
    quote = next((q for q in order.quotes if q.id == event.subject_id), None)
    actor = people.get(event.actor_user_id) if event.actor_user_id else None
    assignee_id = _uuid(event.after.get("assignee_id"))
    return EmailFacts(
        delivery=delivery,
        event=event,
        order=order,
        partner_name=names.get(order.partner_id, ""),
        provider_name=names.get(order.provider_id, "") if order.provider_id else "",
        actor=actor,
        actor_org_name=names.get(event.actor_org_id, "") if event.actor_org_id else "",
        comment=comment,
        quote=quote,
        assignee=people.get(assignee_id) if assignee_id else None,
    )


async def _org_names(conn: AsyncConnection, ids: Iterable[UUID | None]) -> dict[UUID, str]:
    wanted = sorted({i for i in ids if i is not None})
    o = tables.organisations
    rows = await conn.execute(select(o.c.id, o.c.name).where(o.c.id.in_(wanted)))
    return {row.id: row.name for row in rows}


async def _people(conn: AsyncConnection, ids: Iterable[UUID | None]) -> dict[UUID, Person]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    u, o = tables.users, tables.organisations
    rows = await conn.execute(
        select(*u.c, *(c.label(f"o_{c.name}") for c in o.c))
        .join_from(u, o, o.c.id == u.c.organisation_id)
        .where(u.c.id.in_(wanted))
    )
    found: dict[UUID, Person] = {}
    for row in rows.mappings():
        user = mapping.user_from_row(row)
        found[user.id] = Person.of(user, mapping.organisation_from_row({c.name: row[f"o_{c.name}"] for c in o.c}))
    return found


async def _comment(conn: AsyncConnection, comment_id: UUID) -> Comment | None:
    c, a = tables.comments, tables.attachments
    row = (await conn.execute(select(c).where(c.c.id == comment_id))).first()
    if row is None:
        return None
    files = await conn.execute(select(a).where(a.c.comment_id == comment_id).order_by(a.c.created_at, a.c.id))
    return mapping.comment_from_row(row, [mapping.attachment_from_row(f) for f in files])


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None
