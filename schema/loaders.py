"""Per-request DataLoaders: every relation is fetched in one batched, viewer-scoped query.

Orders and comments come back as domain objects; schema.build turns them into GraphQL objects
with their selected relations loaded set-wise.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from strawberry.dataloader import DataLoader

from domain import comments as dc
from domain import notifications as dn
from domain import orders as do
from domain.identity import Actor
from domain.queries import OrderQueries, Viewer
from schema.types import ActivityEntry, Organisation, Quote, User


class Loaders:
    """The `<Thing>By<Key>` loaders of one request; never shared between requests."""

    def __init__(self, queries: OrderQueries, viewer: Viewer, actor: Actor) -> None:
        self._q = queries
        self._viewer = viewer
        self._actor = actor
        self.order = DataLoader[UUID, do.Order | None](load_fn=self._orders)
        self.organisation = DataLoader[UUID, Organisation | None](load_fn=self._organisations)
        self.user = DataLoader[UUID, User | None](load_fn=self._users)
        self.latest_comment = DataLoader[UUID, dc.Comment | None](load_fn=self._latest_comments)
        self.comments = DataLoader[UUID, list[dc.Comment]](load_fn=self._comments)
        self.quotes = DataLoader[UUID, list[Quote]](load_fn=self._quotes)
        self.activity = DataLoader[UUID, list[ActivityEntry]](load_fn=self._activity)
        self.activity_entry = DataLoader[UUID, ActivityEntry | None](load_fn=self._activity_entries)
        self.deliveries = DataLoader[UUID, list[dn.Delivery]](load_fn=self._deliveries)
        self.notification_settings = DataLoader[UUID, dn.VisibleSettings](load_fn=self._notification_settings)

    async def _orders(self, ids: Sequence[UUID]) -> list[do.Order | None]:
        return await self._q.orders_by_id(self._viewer, ids)

    async def _organisations(self, ids: Sequence[UUID]) -> list[Organisation | None]:
        rows = await self._q.organisations_by_id(self._viewer, ids)
        return [Organisation.from_domain(o) if o else None for o in rows]

    async def _users(self, ids: Sequence[UUID]) -> list[User | None]:
        rows = await self._q.users_by_id(self._viewer, ids)
        return [User.from_domain(u) if u else None for u in rows]

    async def _latest_comments(self, ids: Sequence[UUID]) -> list[dc.Comment | None]:
        return await self._q.latest_comment_by_order(self._viewer, ids)

    async def _comments(self, ids: Sequence[UUID]) -> list[list[dc.Comment]]:
        return await self._q.comments_by_order(self._viewer, ids)

    async def _quotes(self, ids: Sequence[UUID]) -> list[list[Quote]]:
        rows = await self._q.quotes_by_order(self._viewer, ids)
        return [[Quote.from_domain(q) for q in per_order] for per_order in rows]

    async def _activity(self, ids: Sequence[UUID]) -> list[list[ActivityEntry]]:
        rows = await self._q.activity_by_order(self._viewer, ids)
        return [[ActivityEntry.from_domain(e) for e in per_order] for per_order in rows]

    async def _activity_entries(self, ids: Sequence[UUID]) -> list[ActivityEntry | None]:
        rows = await self._q.activity_by_id(self._viewer, ids)
        return [ActivityEntry.from_domain(e) if e is not None else None for e in rows]

    async def _deliveries(self, ids: Sequence[UUID]) -> list[list[dn.Delivery]]:
        # Filtered here, by the domain's rule, against each order as the viewer may see it.
        orders = await self.order.load_many(ids)
        rows = await self._q.deliveries_by_order(self._viewer, ids)
        return [
            [d for d in per_order if order is not None and dn.delivery_visible_to(self._actor, order, d)]
            for order, per_order in zip(orders, rows, strict=True)
        ]

    async def _notification_settings(self, ids: Sequence[UUID]) -> list[dn.VisibleSettings]:
        orders = await self.order.load_many(ids)
        rows = await self._q.notification_settings_by_order(self._viewer, ids)
        hidden = dn.VisibleSettings(None, None, False, ())
        return [
            dn.settings_visible_to(self._actor, order, settings, people) if order is not None else hidden
            for order, (settings, people) in zip(orders, rows, strict=True)
        ]
