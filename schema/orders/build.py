"""Build GraphQL objects set-wise: one batched load per relation for a whole list, before execution.

Relation fields on the hot path (an order's partner, provider, people and latest comment; a
comment's author) are plain attributes filled here, so GraphQL resolves them without a resolver
call or an awaitable per field. Which relations to load is read from the client's selection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from strawberry.types import Info

from domain import orders as do
from schema.common import Context
from schema.identity import Organisation, OrganisationById, User, UserById
from schema.orders.loaders import LatestCommentByOrder
from schema.orders.types import Comment, Order


def selected_names(info: Info[Context, None]) -> frozenset[str]:
    """Every field name selected anywhere below the current field (fragments included)."""
    names: set[str] = set()
    stack: list[Any] = list(info.selected_fields)
    while stack:
        selection = stack.pop()
        name = getattr(selection, "name", None)
        if name is not None:
            names.add(name)
        stack.extend(getattr(selection, "selections", ()))
    return frozenset(names)


async def _load(loader: Any, ids: Iterable[UUID | None], wanted: bool) -> dict[UUID, Any]:
    keys = sorted({i for i in ids if i is not None}) if wanted else []
    if not keys:
        return {}
    return dict(zip(keys, await loader.load_many(keys), strict=True))


def _built(kind: Any, found: dict[UUID, Any]) -> dict[UUID, Any]:
    """GraphQL objects of the domain objects found (each built once however many orders share it)."""
    return {key: kind.from_domain(value) for key, value in found.items() if value is not None}


async def build_orders(context: Context, orders: Sequence[do.Order], names: frozenset[str]) -> list[Order]:
    """GraphQL orders with every selected hot relation loaded in one batch per relation."""
    want_people = bool({"partnerContact", "owner", "assignee"} & names)
    organisations, people, latest = await asyncio.gather(
        _load(
            OrganisationById.of(context),
            (i for o in orders for i in (o.partner_id, o.provider_id)),
            bool({"partner", "provider"} & names),
        ),
        _load(
            UserById.of(context),
            (i for o in orders for i in (o.partner_contact_id, o.owner_id, o.assignee_id)),
            want_people,
        ),
        _load(LatestCommentByOrder.of(context), (o.id for o in orders), "latestComment" in names),
    )
    organisations = _built(Organisation, organisations)
    people = _built(User, people)
    comments = {key: c for key, c in latest.items() if c is not None}
    built_comments = dict(zip(comments, await build_comments(context, list(comments.values()), names), strict=True))
    actor = context.require_actor()
    return [
        Order.from_domain(
            order,
            actor,
            partner=organisations.get(order.partner_id),
            provider=organisations.get(order.provider_id) if order.provider_id else None,
            partner_contact=people.get(order.partner_contact_id) if order.partner_contact_id else None,
            owner=people.get(order.owner_id) if order.owner_id else None,
            assignee=people.get(order.assignee_id) if order.assignee_id else None,
            latest_comment=built_comments.get(order.id),
        )
        for order in orders
    ]


async def build_comments(context: Context, comments: Sequence[do.Comment], names: frozenset[str]) -> list[Comment]:
    """GraphQL comments with their authors loaded in one batch when selected."""
    authors = _built(User, await _load(UserById.of(context), (c.author_id for c in comments), "author" in names))
    return [Comment.from_domain(c, author=authors.get(c.author_id)) for c in comments]


async def build_one(info: Info[Context, None], order: do.Order | None) -> Order | None:
    """One GraphQL order (for `order`, `node` and mutation payloads)."""
    if order is None:
        return None
    [built] = await build_orders(info.context, [order], selected_names(info))
    return built
