"""Build GraphQL objects set-wise: one batched load per relation for a whole list, before execution.

Relation fields on the hot path (an order's partner, provider, people and latest comment; a
comment's author) are plain attributes filled here, so GraphQL resolves them without a resolver
call or an awaitable per field. Which relations to load is read from the client's selection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from strawberry.types import Info

from domain import identity as di
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


def includes_for(names: frozenset[str]) -> do.OrderIncludes:
    """The relations a page can read with its orders, for a selection (see `OrderIncludes`).

    The latest comment is read with the page only when its attachments are not selected.
    """
    return do.OrderIncludes(
        parties=bool({"partner", "provider"} & names),
        people=bool({"partnerContact", "owner", "assignee"} & names),
        latest_comment="latestComment" in names and "attachments" not in names,
    )


async def _given_or_load(
    given: Mapping[UUID, Any] | None, loader: Any, ids: Iterable[UUID | None], wanted: bool
) -> dict[UUID, Any]:
    if given is not None:
        return dict(given) if wanted else {}
    return await _load(loader, ids, wanted)


async def build_orders(
    context: Context,
    orders: Sequence[do.Order],
    names: frozenset[str],
    relations: do.PageRelations | None = None,
    include: do.OrderIncludes = do.NO_INCLUDES,
) -> list[Order]:
    """GraphQL orders with every selected hot relation, each loaded in one batch.

    What `include` asked for comes read with the page, in `relations`; the rest is loaded here.
    """
    given = relations or do.PageRelations()
    organisations, people, latest = await asyncio.gather(
        _given_or_load(
            given.organisations if include.parties else None,
            OrganisationById.of(context),
            (i for o in orders for i in (o.partner_id, o.provider_id)),
            bool({"partner", "provider"} & names),
        ),
        _given_or_load(
            given.users if include.people else None,
            UserById.of(context),
            (i for o in orders for i in (o.partner_contact_id, o.owner_id, o.assignee_id)),
            bool({"partnerContact", "owner", "assignee"} & names),
        ),
        _given_or_load(
            given.latest_comments if include.latest_comment else None,
            LatestCommentByOrder.of(context),
            (o.id for o in orders),
            "latestComment" in names,
        ),
    )
    organisations = _built(Organisation, organisations)
    people = _built(User, people)
    comments = {key: c for key, c in latest.items() if c is not None}
    authors = given.users if include.latest_comment else None
    built = await build_comments(context, list(comments.values()), names, authors)
    built_comments = dict(zip(comments, built, strict=True))
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


async def build_comments(
    context: Context,
    comments: Sequence[do.Comment],
    names: frozenset[str],
    authors: Mapping[UUID, di.User] | None = None,
) -> list[Comment]:
    """GraphQL comments with their authors (given, or loaded in one batch) when selected."""
    wanted = "author" in names
    found = await _given_or_load(authors, UserById.of(context), (c.author_id for c in comments), wanted)
    built = _built(User, found)
    return [Comment.from_domain(c, author=built.get(c.author_id)) for c in comments]


async def build_one(info: Info[Context, None], order: do.Order | None) -> Order | None:
    """One GraphQL order (for `order`, `node` and mutation payloads)."""
    if order is None:
        return None
    [built] = await build_orders(info.context, [order], selected_names(info))
    return built
