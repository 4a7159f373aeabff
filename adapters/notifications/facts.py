"""What an email says about its order, read when it is sent: names, people, the comment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.identity import identity_mapping, identity_tables
from adapters.notifications.relay import load_event, load_order
from adapters.orders import order_mapping, order_tables
from domain.notifications import (
    Delivery,
    Person,
)
from domain.orders import Comment, EventKind, Order, OrderEvent, Quote


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
    o = identity_tables.organisations
    rows = await conn.execute(select(o.c.id, o.c.name).where(o.c.id.in_(wanted)))
    return {row.id: row.name for row in rows}


async def _people(conn: AsyncConnection, ids: Iterable[UUID | None]) -> dict[UUID, Person]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    u, o = identity_tables.users, identity_tables.organisations
    rows = await conn.execute(
        select(*u.c, *(c.label(f"o_{c.name}") for c in o.c))
        .join_from(u, o, o.c.id == u.c.organisation_id)
        .where(u.c.id.in_(wanted))
    )
    found: dict[UUID, Person] = {}
    for row in rows.mappings():
        user = identity_mapping.user_from_row(row)
        found[user.id] = Person.of(
            user, identity_mapping.organisation_from_row({c.name: row[f"o_{c.name}"] for c in o.c})
        )
    return found


async def _comment(conn: AsyncConnection, comment_id: UUID) -> Comment | None:
    c, a = order_tables.comments, order_tables.attachments
    row = (await conn.execute(select(c).where(c.c.id == comment_id))).first()
    if row is None:
        return None
    files = await conn.execute(select(a).where(a.c.comment_id == comment_id).order_by(a.c.created_at, a.c.id))
    return order_mapping.comment_from_row(row, [order_mapping.attachment_from_row(f) for f in files])


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None
