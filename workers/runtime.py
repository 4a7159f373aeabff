"""The notification machinery of one process: broker, actors, relay, and (where it runs) a Dramatiq worker.

Two shapes, one code path:

- embedded default (no broker URL): a StubBroker and a Dramatiq Worker inside the API process,
  started by its lifespan, so `ordergraph serve` alone delivers notifications. The broker's queue
  is in memory; durability comes from the database (outbox and delivery rows), whose sweeper
  re-enqueues whatever a stopped process left PENDING.
- scaled out (Redis or RabbitMQ URL): API processes relay and enqueue; `ordergraph worker`
  processes consume (and relay and sweep too: relays are safe to run side by side).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from dramatiq import Worker
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import create_engine
from adapters.email import Links, Mailer, Renderer, SmtpMailer, mailer_for
from domain.common import BlobStore, Clock
from workers.actors import Actors, declare_actors
from workers.blob_sweep import run_sweeps
from workers.broker import NAMESPACE, is_in_process, make_broker
from workers.delivery import DeliveryPolicy, Sender
from workers.relay import Relay

log = logging.getLogger("ordergraph.workers")


@dataclass(frozen=True, slots=True)
class NotifierConfig:
    """What the notification machinery needs from the settings."""

    database_url: str
    broker_url: str
    smtp_url: str
    mail_dir: Path
    mail_from: str
    links: Links
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    relay_interval: float = 2.0
    worker_threads: int = 4
    namespace: str = NAMESPACE


class Notifier:
    """Builds the broker and actors (connecting nothing); `start` runs the relay and, if asked, a worker."""

    def __init__(
        self, config: NotifierConfig, engine: AsyncEngine, blobs: BlobStore, clock: Clock, mailer: Mailer | None = None
    ) -> None:
        self.config = config
        self.engine = engine
        self.blobs = blobs
        self.clock = clock
        self.mailer = mailer or mailer_for(config.smtp_url, config.mail_dir)
        self.policy = config.policy
        if isinstance(self.mailer, SmtpMailer):
            # A lease must outlast the slowest send it covers, or a second worker could send the same row.
            floor = timedelta(seconds=2 * self.mailer.config.timeout + 10)
            self.policy = dataclasses.replace(self.policy, lease=max(self.policy.lease, floor))
        self.broker = make_broker(config.broker_url, namespace=config.namespace)
        self.sender: Sender | None = None
        self.actors: Actors = declare_actors(self.broker, lambda: self.sender, self.policy)
        self.relay = Relay(engine, self.enqueue, clock, redeliver_after=self.policy.redeliver_after)
        self._worker: Worker | None = None
        self._sender_engine: AsyncEngine | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._sweeps: asyncio.Task[None] | None = None

    @property
    def in_process(self) -> bool:
        """True on the embedded default (no broker URL)."""
        return is_in_process(self.broker)

    def enqueue(self, ids: Sequence[UUID]) -> None:
        """One `send_notification` message per delivery id."""
        for delivery_id in ids:
            self.actors.send_notification.send(str(delivery_id))

    def make_sender(self) -> Sender:
        """The sender this process's actors use (its own engine: actors run on Dramatiq's event loop)."""
        if self.sender is None:
            self._sender_engine = create_engine(self.config.database_url, pooled=False)
            self.sender = Sender(
                self._sender_engine,
                self.mailer,
                renderer=Renderer(),
                links=self.config.links,
                blobs=self.blobs,
                clock=self.clock,
                mail_from=self.config.mail_from,
                policy=self.policy,
            )
        return self.sender

    async def start(self, *, worker: bool | None = None, relay: bool = True, threads: int | None = None) -> None:
        """Start the relay loop, and a Dramatiq worker (default: only for the in-process broker)."""
        if worker if worker is not None else self.in_process:
            self.make_sender()
            threads = threads or self.config.worker_threads
            self._worker = Worker(self.broker, worker_threads=threads, worker_timeout=100)
            await asyncio.to_thread(self._worker.start)
        if relay:
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self.relay.run(self._stop, interval=self.config.relay_interval))
            self._sweeps = asyncio.create_task(run_sweeps(self._stop, self.engine, self.blobs))

    async def stop(self) -> None:
        """Stop the relay, then the worker (it finishes the messages in hand), then close the broker."""
        if self._stop is not None and self._task is not None:
            self._stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
                if self._sweeps is not None:
                    await self._sweeps
            self._task = self._stop = self._sweeps = None
        if self._worker is not None:
            await asyncio.to_thread(self._worker.stop, 30_000)
            self._worker = None
        await asyncio.to_thread(self.broker.close)
        if self._sender_engine is not None:
            await self._sender_engine.dispose()

    async def after_commit(self, committed: Any) -> None:
        """The unit of work's after-commit hook: the relay runs now rather than at its next tick."""
        await self.relay.after_commit(committed)
