"""The SQL unit of work: one transaction, its repositories, and the events written on commit."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self
from uuid import UUID

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from adapters.db import SqlTransaction
from adapters.identity import SqlDirectory
from adapters.notifications import SqlNotificationRepository
from adapters.orders import SqlCatalogue, SqlCommentRepository, SqlOrderRepository, order_mapping, order_tables
from domain.common import Clock, UnitOfWork
from domain.identity import Directory, TokenRevoked
from domain.notifications import NotificationRepository
from domain.orders import Catalogue, CommentRepository, Order, OrderEvent, OrderRepository

log = logging.getLogger("ordergraph.uow")

AfterCommit = Callable[[Sequence[tuple[OrderEvent, Order]]], Awaitable[None]]
"""Called after a successful commit with each committed event and its order as committed (best effort)."""
AfterRevocation = Callable[[Sequence[TokenRevoked]], Awaitable[None]]
"""Called after a successful commit that revoked tokens, with their revocations (best effort)."""


# The statements of every commit, built once: SQLAlchemy then reuses their cache keys and compiled
# forms. Building one per call cost as much as running it (measured loading the demo).
_activity, _orders_table = order_tables.order_activity, order_tables.orders
_LAST_SEQS: Final = (
    select(_activity.c.order_id, func.max(_activity.c.seq))
    .where(_activity.c.order_id.in_(bindparam("b_order_ids", expanding=True)))
    .group_by(_activity.c.order_id)
)
_INSERT_ACTIVITY: Final = insert(_activity)
_INSERT_OUTBOX: Final = insert(order_tables.outbox)
_last = _orders_table.c.last_activity_at
_MOVE_LAST_ACTIVITY: Final = (
    update(_orders_table)
    .where(
        _orders_table.c.id == bindparam("b_order_id"),
        or_(_last.is_(None), _last < bindparam("b_when", type_=_last.type)),
    )
    .values(last_activity_at=bindparam("b_when", type_=_last.type))
)


class SqlUnitOfWork:
    """domain.common.UnitOfWork over one SQLAlchemy session.

    `commit()` writes the events of every aggregate its repositories loaded or added to
    `order_activity` and `outbox`, moves `orders.last_activity_at` forward, and commits,
    all in one transaction. Leaving the block without committing rolls back. After a commit with
    events, `after_commit` (if given) is awaited with each event and its order; it cannot fail the
    commit: its errors are logged. Likewise `after_revocation` with the tokens the commit revoked.
    """

    # Typed as the ports (protocol attributes are invariant); the Sql* objects are kept privately too.
    orders: OrderRepository
    comments: CommentRepository
    directory: Directory
    catalogue: Catalogue
    notifications: NotificationRepository

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        after_commit: AfterCommit | None = None,
        after_revocation: AfterRevocation | None = None,
    ) -> None:
        self._sessions = sessions
        self._after_commit = after_commit
        self._after_revocation = after_revocation
        self._session: AsyncSession | None = None
        self._tx: SqlTransaction | None = None
        self.committed_events: list[OrderEvent] = []
        """The events of the last successful commit, for after-commit hints (pub/sub, relay nudge)."""

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is entered once")
        self._session = self._sessions()
        self._tx = SqlTransaction(self._session)
        self._open_repositories(self._tx)
        return self

    def _open_repositories(self, tx: SqlTransaction) -> None:
        self.orders = self._orders = SqlOrderRepository(tx)
        self.comments = self._comments = SqlCommentRepository(tx)
        self.directory = self._directory = SqlDirectory(tx)
        self.catalogue = SqlCatalogue(tx)
        self.notifications = self._notifications = SqlNotificationRepository(tx)

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
        events = await self._write_pending(tx)
        try:
            await session.commit()
        finally:
            tx.ended()
        self.committed_events = events
        revoked = self._directory.pull_revocations()
        if events and self._after_commit is not None:
            await self._run_after_commit(events)
        if revoked and self._after_revocation is not None:
            try:
                await self._after_revocation(revoked)
            except Exception:  # committed: the periodic re-check of tokens still ends their connections
                log.exception("after-commit hook failed for %d revoked token(s)", len(revoked))

    async def _write_pending(self, tx: SqlTransaction) -> list[OrderEvent]:
        """The pending events of every aggregate seen, written to the timeline and the outbox."""
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
        return events

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
        last_seq = await self._last_seqs(conn, sorted({e.order_id for e in events}))
        rows = []
        for e in events:
            last_seq[e.order_id] = last_seq.get(e.order_id, -1) + 1
            rows.append(order_mapping.activity_values(e, last_seq[e.order_id]))
        await conn.execute(_INSERT_ACTIVITY, rows)
        await conn.execute(_INSERT_OUTBOX, [order_mapping.outbox_values(e) for e in events])
        newest: dict[UUID, datetime] = {}
        # Last activity is what every party sees: events with a restricted audience do not move it,
        # or the time of an internal comment or a provider note would leak to the other side.
        for e in events:
            if not e.moves_last_activity:
                continue
            if e.order_id not in newest or e.occurred_at > newest[e.order_id]:
                newest[e.order_id] = e.occurred_at
        for order_id, when in newest.items():
            await conn.execute(_MOVE_LAST_ACTIVITY, {"b_order_id": order_id, "b_when": when})

    async def _last_seqs(self, conn: AsyncConnection, order_ids: list[UUID]) -> dict[UUID, int]:
        """The number of each order's latest timeline entry (orders without one are left out)."""
        rows = await conn.execute(_LAST_SEQS, {"b_order_ids": order_ids})
        return {order_id: seq for order_id, seq in rows.all()}

    def _require(self) -> tuple[AsyncSession, SqlTransaction]:
        if self._session is None or self._tx is None:
            raise RuntimeError("use the unit of work as `async with uow:`")
        return self._session, self._tx


if TYPE_CHECKING:
    _implements_the_port: type[UnitOfWork] = SqlUnitOfWork


class _HistoryTransaction(SqlTransaction):
    """The history's one transaction as one of its units of work sees it, noting whether that one wrote."""

    def __init__(self, session: AsyncSession, connection: AsyncConnection) -> None:
        super().__init__(session)
        self._shared = connection
        self.wrote = False

    async def connection(self) -> AsyncConnection:
        return self._shared

    async def for_write(self) -> AsyncConnection:
        self.wrote = True  # the history holds the write lock already
        return self._shared

    def ended(self) -> None:
        """Nothing ends with one unit of work: the history commits or rolls back the whole."""


class _HistoryUnitOfWork(SqlUnitOfWork):
    """A unit of work inside a SqlHistory: a share of the history's transaction, committed with it."""

    def __init__(self, history: _OpenHistory) -> None:
        super().__init__(history.sessions)
        self._history = history
        self._committed = False

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is entered once")
        self._session = self._history.session
        self._tx = _HistoryTransaction(self._session, await self._history.connection())
        self._open_repositories(self._tx)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(self._tx, _HistoryTransaction) and self._tx.wrote and not self._committed:
            # Its writes cannot be undone alone (no savepoint: they would double the statements).
            self._history.broken = True

    async def _last_seqs(self, conn: AsyncConnection, order_ids: list[UUID]) -> dict[UUID, int]:
        # The history holds the write lock: what it numbered last is still the latest, no need to ask.
        known = self._history.last_seqs
        unknown = [order_id for order_id in order_ids if order_id not in known]
        if unknown:
            found = await super()._last_seqs(conn, unknown)
            known.update({order_id: found.get(order_id, -1) for order_id in unknown})
        return {order_id: known[order_id] for order_id in order_ids if known[order_id] >= 0}

    async def _write_pending(self, tx: SqlTransaction) -> list[OrderEvent]:
        events = await super()._write_pending(tx)
        for e in events:
            self._history.last_seqs[e.order_id] += 1
        return events

    async def commit(self) -> None:
        """Write the pending events; the history commits them, with everything else, at its end."""
        _session, tx = self._require()
        if self._committed:
            raise RuntimeError("a unit of work commits once")
        events = await self._write_pending(tx)
        self._committed = True
        self._history.event_ids.extend(e.id for e in events)
        self.committed_events = events


class _OpenHistory:
    """The state of an open SqlHistory: its session and transaction, the events written so far."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.session = sessions()
        self.tx = SqlTransaction(self.session)
        self.event_ids: list[UUID] = []
        self.last_seqs: dict[UUID, int] = {}
        """The number of each order's latest timeline entry written so far (-1: none)."""
        self.broken = False
        """True once a unit of work wrote and left without committing: the history must not commit."""

    async def connection(self) -> AsyncConnection:
        return await self.tx.for_write()  # BEGIN IMMEDIATE on SQLite: the write lock until the end


_MARK_AT_ONCE: Final = 500
"""Outbox rows marked published per UPDATE (well under every backend's limit of bound parameters)."""


class SqlHistory:
    """Units of work that write the past: all in one transaction, and never notified.

    For loading history in bulk (the demo). Every unit of work shares one transaction, which holds
    the write lock from its start, so one commit (not one per command) ends it all. Every event
    is written to the timeline and the outbox as any commit writes it, and its outbox row is marked
    published in that same final transaction: the relay never plans deliveries for the past, so no
    email is sent for it, while whatever is committed after it is notified as usual. No
    after-commit hook runs (nobody is live to hear about the past). It is all or nothing: leaving
    the block by an exception, or a unit of work that wrote and left without committing, rolls
    the whole history back.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[Callable[[], SqlUnitOfWork]]:
        """A factory of units of work in the history's transaction, committed when the block ends."""
        history = _OpenHistory(self._sessions)
        try:
            conn = await history.connection()
            yield lambda: _HistoryUnitOfWork(history)
            if history.broken:
                raise RuntimeError("a unit of work wrote part of the history and did not commit; nothing was kept")
            outbox = order_tables.outbox
            now = self._clock.now()
            for start in range(0, len(history.event_ids), _MARK_AT_ONCE):
                chunk = history.event_ids[start : start + _MARK_AT_ONCE]
                await conn.execute(update(outbox).where(outbox.c.event_id.in_(chunk)).values(published_at=now))
            await history.session.commit()
        finally:
            history.tx.ended()
            await history.session.close()


def sql_uow_factory(
    sessions: async_sessionmaker[AsyncSession],
    after_commit: AfterCommit | None = None,
    after_revocation: AfterRevocation | None = None,
) -> Callable[[], SqlUnitOfWork]:
    """A factory of fresh units of work, for `domain.common.Ports.uow`."""
    return lambda: SqlUnitOfWork(sessions, after_commit, after_revocation)
