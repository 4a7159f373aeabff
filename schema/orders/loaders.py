"""Orders' per-request loaders: every relation of an order fetched in one batched, viewer-scoped read.

They return domain objects; `schema.orders.build` and the types turn them into GraphQL objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.orders import Comment, LeftView, Order, OrderEvent, Quote
from schema.common import Loader


class OrderById(Loader[UUID, Order | None]):
    """Orders as the viewer may see them; None where absent or not visible."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[Order | None]:
        """Orders in the order of `keys`."""
        return await self.context.queries.orders_by_id(self.context.viewer, keys)


class LatestCommentByOrder(Loader[UUID, Comment | None]):
    """Each order's newest comment the viewer may see."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[Comment | None]:
        """The latest comment of each order of `keys`."""
        return await self.context.queries.latest_comment_by_order(self.context.viewer, keys)


class CommentsByOrder(Loader[UUID, list[Comment]]):
    """Each order's comments the viewer may see, oldest first."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[list[Comment]]:
        """The comments of each order of `keys`."""
        return await self.context.queries.comments_by_order(self.context.viewer, keys)


class QuotesByOrder(Loader[UUID, list[Quote]]):
    """Each order's quotes the viewer may see."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[list[Quote]]:
        """The quotes of each order of `keys`."""
        return await self.context.queries.quotes_by_order(self.context.viewer, keys)


class ActivityByOrder(Loader[UUID, list[OrderEvent]]):
    """Each order's timeline as the viewer may see it, oldest first."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[list[OrderEvent]]:
        """The timeline of each order of `keys`."""
        return await self.context.queries.activity_by_order(self.context.viewer, keys)


class ActivityEntryById(Loader[UUID, OrderEvent | None]):
    """Timeline entries the viewer may see; None for the rest."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[OrderEvent | None]:
        """Timeline entries in the order of `keys`."""
        return await self.context.queries.activity_by_id(self.context.viewer, keys)


class LeftViewByEvent(Loader[UUID, LeftView | None]):
    """For each event, the order it took out of the viewer's view (its id and the time), else None."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[LeftView | None]:
        """The departures of the events of `keys`."""
        return await self.context.queries.left_view_by_event(self.context.require_actor(), keys)
