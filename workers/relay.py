"""The outbox relay: outbox rows become delivery rows and Dramatiq messages (ids, never objects).

One batch, `Relay.run_once`:

1. claim the oldest unpublished outbox rows (PostgreSQL: FOR UPDATE SKIP LOCKED, so several
   relays take disjoint batches; SQLite: the transaction begins IMMEDIATE and holds the one
   write lock);
2. for each, plan its deliveries (domain.notifications) and INSERT them, conflicts ignored:
   a delivery's id is derived from (event, recipient), so planning twice finds the same rows;
3. mark the outbox rows published, and commit 1-3 together;
4. after the commit, enqueue `send_notification(id)` for each delivery.

A crash before 3 commits rolls everything back and the next run redoes it; after it, the
deliveries exist (PENDING) and the sweeper (`Relay.sweep`) enqueues any whose message never
arrived, was lost with an in-process broker, or whose worker died. Enqueueing twice is harmless:
the sender is idempotent. So nothing is lost and nothing is sent twice (see workers.delivery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters import notifications as store
from adapters.db import for_writing
from domain.common import Clock
from domain.notifications import Circle, plan_notifications
from domain.orders import Order

log = logging.getLogger("ordergraph.relay")

Enqueue = Callable[[Sequence[UUID]], None]
"""Sends one `send_notification` message per delivery id."""

BATCH: Final = 100


def _no_fault(_step: str) -> None:
    return None


class Relay:
    """Outbox to deliveries to messages; and the sweeper of deliveries whose message went missing."""

    def __init__(
        self,
        engine: AsyncEngine,
        enqueue: Enqueue,
        clock: Clock,
        *,
        redeliver_after: timedelta = timedelta(seconds=60),
        batch_size: int = BATCH,
        fault: Callable[[str], None] = _no_fault,
    ) -> None:
        self.engine = engine
        self.enqueue = enqueue
        self.clock = clock
        self.redeliver_after = redeliver_after
        self.batch_size = batch_size
        self._fault = fault  # tests raise here to simulate a crash at a named step
        self._wake: asyncio.Event | None = None

    async def run_once(self) -> int:
        """Relay one batch; returns how many outbox rows it published."""
        async with self.engine.connect() as conn:
            if not await store.has_unpublished(conn):  # no lock taken when there is nothing to do
                return 0
        now = self.clock.now()
        delivery_ids: list[UUID] = []
        async with for_writing(self.engine).begin() as conn:
            rows = await store.claim_unpublished(conn, self.batch_size)
            seen: dict[UUID, tuple[Order, Circle] | None] = {}
            for _outbox_id, event_id in rows:
                event = await store.load_event(conn, event_id)
                if event is None:
                    log.error("outbox event %s has no timeline entry; nothing to notify", event_id)
                    continue
                if event.order_id not in seen:
                    order = await store.load_order(conn, event.order_id)
                    seen[event.order_id] = (order, await store.load_circle(conn, order)) if order else None
                found = seen[event.order_id]
                if found is None:
                    continue
                try:
                    planned = plan_notifications(event, *found)
                except Exception:  # a bug in the rules must not block the outbox forever
                    log.exception("cannot plan the notifications of event %s; skipped", event_id)
                    continue
                due = now + self.redeliver_after
                delivery_ids += await store.insert_deliveries(conn, event, planned, now, due)
                self._fault("planned")
            await store.mark_published(conn, [outbox_id for outbox_id, _ in rows], now)
            self._fault("marked")
        self._fault("committed")
        await self._send(delivery_ids)
        self._fault("enqueued")
        return len(rows)

    async def drain(self) -> int:
        """Relay batches until the outbox is empty; returns how many rows were published."""
        total = 0
        while published := await self.run_once():
            total += published
        return total

    async def sweep(self, *, all_idle: bool = False) -> int:
        """Enqueue PENDING deliveries whose message is overdue (all idle ones with `all_idle`)."""
        now = self.clock.now()
        async with for_writing(self.engine).begin() as conn:
            ids = await store.take_due(conn, now, now + self.redeliver_after, self.batch_size, all_idle=all_idle)
        await self._send(ids)
        return len(ids)

    async def _send(self, ids: Sequence[UUID]) -> None:
        if not ids:
            return
        try:
            # A broker's client blocks (redis-py, pika): keep it off the event loop.
            await asyncio.to_thread(self.enqueue, ids)
        except Exception:  # the broker is down: the rows are PENDING, the sweeper sends them later
            log.exception("could not enqueue %d notification(s); the sweeper will retry", len(ids))

    def nudge(self) -> None:
        """Ask the running loop to relay now (after a commit), instead of at its next tick."""
        if self._wake is not None:
            self._wake.set()

    async def after_commit(self, _committed: Any) -> None:
        """The unit of work's after-commit hook: a nudge."""
        self.nudge()

    async def run(self, stop: asyncio.Event, *, interval: float = 2.0) -> None:
        """Relay and sweep until `stop` is set: at once when nudged, else every `interval` seconds."""
        self._wake = asyncio.Event()
        first = True
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.drain()
                # At start, whatever an earlier process left PENDING is sent now, not after the wait.
                await self.sweep(all_idle=first)
                first = False
            except Exception:  # the database is away: try again at the next tick
                log.exception("notification relay failed; retrying in %.0f s", interval)
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
