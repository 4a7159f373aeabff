"""The Dramatiq actors, declared on a broker the entry point made (ids in, never objects)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

import dramatiq
from dramatiq import Broker

from workers.delivery import DeliveryPolicy, RetryLater, Sender

log = logging.getLogger("ordergraph.notifications")

QUEUE: Final = "notifications"
SEND_NOTIFICATION: Final = "send_notification"


@dataclass(frozen=True, slots=True)
class Actors:
    """The actors of one broker."""

    send_notification: Any  # dramatiq.Actor[[str], None]


def declare_actors(broker: Broker, sender: Callable[[], Sender | None], policy: DeliveryPolicy) -> Actors:
    """Declare the actors on `broker`; `sender()` gives the process's Sender (None where none runs)."""

    async def send_notification(delivery_id: str) -> None:
        """Send one notification (idempotent: a sent one is skipped)."""
        found = sender()
        if found is None:
            raise RuntimeError("this process sends no notifications; run `ordergraph worker`")
        try:
            outcome = await found.deliver(UUID(delivery_id))
        except RetryLater as exc:
            # Retried after exactly our backoff, without an error in the log.
            raise dramatiq.Retry(str(exc), delay=int(exc.delay.total_seconds() * 1000)) from exc
        # Logged, not returned: without a results backend Dramatiq warns of every returned value.
        log.info("notification %s: %s", delivery_id, outcome.value)

    declare = dramatiq.actor(
        broker=broker,
        actor_name=SEND_NOTIFICATION,
        queue_name=QUEUE,
        # Retries are counted by the row (attempts, max_attempts); leases and sweeps may add a few more.
        max_retries=policy.max_attempts * 2 + 10,
        min_backoff=int(policy.min_backoff.total_seconds() * 1000),
        max_backoff=int(policy.max_backoff.total_seconds() * 1000),
    )
    return Actors(send_notification=declare(send_notification))
