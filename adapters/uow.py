"""The SQL unit of work: one transaction, its repositories, and the events written on commit."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self
from uuid import UUID

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.db import SqlTransaction
from adapters.identity import SqlDirectory
from adapters.notifications import SqlNotificationRepository
from adapters.orders import SqlCatalogue, SqlCommentRepository, SqlOrderRepository, order_mapping, order_tables
from domain.common import UnitOfWork
from domain.identity import Directory
from domain.notifications import NotificationRepository
from domain.orders import Catalogue, CommentRepository, Order, OrderEvent, OrderRepository

log = logging.getLogger("ordergraph.uow")

AfterCommit = Callable[[Sequence[tuple[OrderEvent, Order]]], Awaitable[None]]
"""Called after a successful commit with each committed event and its order as committed (best effort)."""


class SqlUnitOfWork:
    """domain.common.UnitOfWork over one SQLAlchemy session.

    `commit()` writes the events of every aggregate its repositories loaded or added to
    `order_activity` and `outbox`, moves `orders.last_activity_at` forward, and commits,
    all in one transaction. Leaving the block without committing rolls back. After a commit with
    events, `after_commit` (if given) is awaited with each event and its order; it cannot fail the
    commit: its errors are logged.
    """

    # Typed as the ports (protocol attributes are invariant); the Sql* objects are kept privately too.
    orders: OrderRepository
    comments: CommentRepository
    directory: Directory
    catalogue: Catalogue
    notifications: NotificationRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession], after_commit: AfterCommit | None = None) -> None:
        self._sessions = sessions
        self._after_commit = after_commit
        self._session: AsyncSession | None = None
        self._tx: SqlTransaction | None = None
        self.committed_events: list[OrderEvent] = []
        """The events of the last successful commit, for after-commit hints (pub/sub, relay nudge)."""

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is entered once")
        self._session = self._sessions()
        self._tx = SqlTransaction(self._session)
        self.orders = self._orders = SqlOrderRepository(self._tx)
        self.comments = self._comments = SqlCommentRepository(self._tx)
        self.directory = SqlDirectory(self._tx)
        self.catalogue = SqlCatalogue(self._tx)
        self.notifications = self._notifications = SqlNotificationRepository(self._tx)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, tx = self._require()
        try:
            await session.rollback()
        finally:
            tx.ended()
            await session.close()

    async def commit(self) -> None:
        """Write the pending events of every aggregate seen, then commit the transaction."""
        session, tx = self._require()
        unsaved = self._orders.unsaved()
        if unsaved:
            ids = ", ".join(str(order.id) for order in unsaved)
            raise RuntimeError(f"orders changed but not saved before commit: {ids}")
        events: list[OrderEvent] = []
        for order in self._orders.seen():
            events.extend(order.pull_events())
        for comment in self._comments.seen():
            events.extend(comment.pull_events())
        for item in self._notifications.seen():  # recipient lists, order links
            events.extend(item.pull_events())
        if events:
            await self._write_events(tx, events)
            if self._after_commit is not None:
                # The hook needs each event's order; a comment's order is normally loaded already.
                for order_id in sorted({e.order_id for e in events}):
                    await self._orders.get(order_id)
        try:
            await session.commit()
        finally:
            tx.ended()
        self.committed_events = events
        if events and self._after_commit is not None:
            await self._run_after_commit(events)

    async def _run_after_commit(self, events: list[OrderEvent]) -> None:
        assert self._after_commit is not None
        orders = {order.id: order for order in self._orders.seen()}
        try:
            await self._after_commit([(e, orders[e.order_id]) for e in events if e.order_id in orders])
        except Exception:  # the change is committed: a failed hint must not turn it into an error
            log.exception("after-commit hook failed for %d event(s)", len(events))

    async def _write_events(self, tx: SqlTransaction, events: list[OrderEvent]) -> None:
        conn = await tx.for_write()
        # Each order's timeline is numbered in the order the domain recorded its events.
        activity = order_tables.order_activity
        order_ids = sorted({e.order_id for e in events})
        last_seq: dict[UUID, int] = {
            order_id: seq
            for order_id, seq in (
                await conn.execute(
                    select(activity.c.order_id, func.max(activity.c.seq))
                    .where(activity.c.order_id.in_(order_ids))
                    .group_by(activity.c.order_id)
                )
            ).all()
        }
        rows = []
        for e in events:
            last_seq[e.order_id] = last_seq.get(e.order_id, -1) + 1
            rows.append(order_mapping.activity_values(e, last_seq[e.order_id]))
        await conn.execute(insert(activity), rows)
        await conn.execute(insert(order_tables.outbox), [order_mapping.outbox_values(e) for e in events])
        newest: dict[UUID, datetime] = {}
        # Last activity is what every party sees: events with a restricted audience do not move it,
        # or the time of an internal comment or a provider note would leak to the other side.
        for e in events:
            if not e.moves_last_activity:
                continue
            if e.order_id not in newest or e.occurred_at > newest[e.order_id]:
                newest[e.order_id] = e.occurred_at
        last = order_tables.orders.c.last_activity_at
        for order_id, when in newest.items():
            await conn.execute(
                update(order_tables.orders)
                .where(order_tables.orders.c.id == order_id, or_(last.is_(None), last < when))
                .values(last_activity_at=when)
            )

    def _require(self) -> tuple[AsyncSession, SqlTransaction]:
        if self._session is None or self._tx is None:
            raise RuntimeError("use the unit of work as `async with uow:`")
        return self._session, self._tx


if TYPE_CHECKING:
    _implements_the_port: type[UnitOfWork] = SqlUnitOfWork


def sql_uow_factory(
    sessions: async_sessionmaker[AsyncSession], after_commit: AfterCommit | None = None
) -> Callable[[], SqlUnitOfWork]:
    """A factory of fresh units of work, for `domain.common.Ports.uow`."""
    return lambda: SqlUnitOfWork(sessions, after_commit)
