"""The Dramatiq broker, chosen from ORDERGRAPH_BROKER_URL when an entry point asks for it.

Nothing here runs at import time: `make_broker` is called by the composition root (the app's
lifespan or the `ordergraph worker` command), and actors are declared on the broker it returns
(see workers.actors), never on Dramatiq's global default broker, which would connect to Redis.
"""

from __future__ import annotations

from typing import Any, Final

from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import default_middleware
from dramatiq.middleware.asyncio import AsyncIO

NAMESPACE: Final = "ordergraph"
"""Prefix of the broker's keys in Redis (so ordergraph shares a Redis with other users safely)."""


def make_broker(url: str, *, namespace: str = NAMESPACE) -> Broker:
    """RedisBroker for redis:// (rediss://), RabbitmqBroker for amqp:// (amqps://), else an in-process StubBroker.

    Every broker gets the AsyncIO middleware (our actors are `async def`). Creating a broker does
    not connect: Redis and RabbitMQ are reached when a message is first sent or consumed.
    """
    middleware: list[Any] = [m() for m in default_middleware]
    middleware.append(AsyncIO())
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not url:
        return StubBroker(middleware=middleware)
    if scheme in ("redis", "rediss"):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=namespace, middleware=middleware)  # type: ignore[no-untyped-call]
    if scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=middleware)
    raise ValueError(f"unsupported broker URL scheme {scheme!r}: use redis://, rediss://, amqp:// or amqps://")


def is_in_process(broker: Broker) -> bool:
    """True for the embedded default: messages live in this process only (the database keeps them durable)."""
    return isinstance(broker, StubBroker)
