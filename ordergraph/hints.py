"""After commit: publish a hint of every committed event on the channels of those who may see it.

And of those who could see the order just before the event (`domain.orders.live_channels`): a
subscriber that lost sight of the order with it is told so (`left_view`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from domain.common import EventBus
from domain.orders import Order, OrderEvent, live_channels
from schema.orders import Hint

log = logging.getLogger("ordergraph.hints")


class HintPublisher:
    """The unit of work's after-commit hook: best effort, never raises.

    Disabled until the application has connected the bus (in its lifespan), so that tools and tests
    that run the services without serving anything publish nothing. Events are published in commit
    order; the channels of one event concurrently.
    """

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.enabled = False

    async def __call__(self, committed: Sequence[tuple[OrderEvent, Order]]) -> None:
        """Publish one hint per committed event (a log line per failure; the change stands)."""
        if not self.enabled:
            return
        for event, order in committed:
            message = Hint.of(event).to_message()
            channels = sorted(live_channels(order, event))
            results = await asyncio.gather(
                *(self.bus.publish(channel, message) for channel in channels), return_exceptions=True
            )
            for channel, result in zip(channels, results, strict=True):
                if isinstance(result, Exception):
                    log.warning("live hint %s on %s not published: %r", event.id, channel, result)
                elif isinstance(result, BaseException):
                    raise result
