"""domain.common.Counters on the storages of the `limits` library: memory in one process, Redis shared by several."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final, TypeVar

import redis.asyncio
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

log = logging.getLogger("ordergraph.ratelimit")

T = TypeVar("T")

RETRY_REDIS_AFTER: Final = 5.0
"""Seconds the counts stay in memory after Redis failed, before Redis is tried again."""
REDIS_TIMEOUT: Final = 2.0
"""Seconds one Redis command may take (a sign-in waits for it)."""


def redis_storage(
    url: str, timeout: float, *, wrap_exceptions: bool = False
) -> tuple[RedisStorage, redis.asyncio.ConnectionPool]:
    """A `limits` storage in Redis (redis-py) on a connection pool of ours, whose closing closes every connection.

    `timeout`: seconds one command (or connecting) may take.
    """
    pool = redis.asyncio.ConnectionPool.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    # limits documents `connection_pool`, though its type of **options says only float | str | bool
    options: dict[str, Any] = {"connection_pool": pool}
    return RedisStorage(url, wrap_exceptions=wrap_exceptions, implementation="redispy", **options), pool


class LimitsCounters:
    """Counters in a `limits` async storage: `MemoryStorage`, or `RedisStorage` (redis-py) shared by every process.

    The library's own strategies read the time themselves; the domain times its windows and lockouts by its own
    clock instead (domain.identity.throttle), so these are only the storage's atomic counters with a lifetime.
    Should Redis fail, the counting goes on in this process's memory (a warning is logged) rather than failing
    every sign-in or letting every attempt through: the limits then hold per process until Redis answers again.
    """

    def __init__(self, storage: Storage, *, close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._storage, self._close = storage, close
        self._memory = storage if isinstance(storage, MemoryStorage) else MemoryStorage()
        self._memory_until = 0.0

    @classmethod
    def from_url(cls, url: str) -> LimitsCounters:
        """Counters at `url`: memory:// or redis:// (rediss://). Connects nothing yet."""
        if url.startswith("memory://"):
            return cls(MemoryStorage())
        storage, pool = redis_storage(url, REDIS_TIMEOUT)
        return cls(storage, close=pool.aclose)

    async def add(self, key: str, lifetime: timedelta, amount: int = 1) -> int:
        """Add `amount` to counter `key` (kept `lifetime` from its first add) and return its new value."""
        seconds = max(1, math.ceil(lifetime.total_seconds()))
        return await self._use(lambda storage: storage.incr(key, seconds, amount))

    async def value(self, key: str) -> int:
        """The value of counter `key` (0 when absent)."""
        return await self._use(lambda storage: storage.get(key))

    async def remove(self, key: str) -> None:
        """Forget counter `key`."""
        await self._use(lambda storage: storage.clear(key))

    async def close(self) -> None:
        """Close the connections to Redis, if any."""
        if self._close is not None:
            await self._close()

    async def _use(self, operation: Callable[[Storage], Awaitable[T]]) -> T:
        if self._storage is self._memory or time.monotonic() < self._memory_until:
            return await operation(self._memory)
        try:
            result = await operation(self._storage)
        except self._storage.base_exceptions as exc:
            if not self._memory_until:
                log.warning("rate limits count in this process's memory: their storage failed (%s)", exc)
            self._memory_until = time.monotonic() + RETRY_REDIS_AFTER
            return await operation(self._memory)
        if self._memory_until:
            log.warning("rate limits count in their shared storage again")
            self._memory_until = 0.0
        return result
