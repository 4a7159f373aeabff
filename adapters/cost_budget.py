"""Per-organisation budgets of query cost, kept by the `limits` library: in memory, or in Redis when scaled out.

A budget holds `maximum` points and restores `restore_rate` points a second, as a sliding-window
counter of `maximum / restore_rate` seconds: the points spent in the current window count in full,
those of the previous one fading out as the current one passes. So what was spent comes back at the
restore rate, starting at the latest when its window ends; each budget is two counters (a moving
window would keep one entry per point spent). In memory each process keeps its own budgets; with
Redis every API process shares them. If Redis cannot be reached, requests are served without a
budget (logged once a minute): the per-request maximum still holds, and a fairness device should not
take the API down with it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Final, cast

import redis.asyncio
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, SlidingWindowCounterSupport, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from adapters.ratelimit import redis_storage

log = logging.getLogger("ordergraph.cost_budget")

NAMESPACE: Final = "ordergraph-cost"
WARN_EVERY: Final = 60.0
"""Seconds between two warnings that the budgets' store is unavailable."""


@dataclass(frozen=True, slots=True)
class BudgetState:
    """A budget after a request asked to spend from it (schema.common's `Throttle`)."""

    maximum: int
    available: int
    restore_rate: float
    retry_after: float | None
    """None when the cost was spent; else nothing was, and the seconds until it can be."""


class CostBudgets:
    """Spends query cost from per-key budgets (a key per organisation)."""

    @classmethod
    def at(cls, url: str, maximum: int, restore_rate: int) -> CostBudgets:
        """Budgets kept at `url`: memory:// or a redis:// (rediss://) URL. Connects nothing yet."""
        scheme = url.split("://", 1)[0]
        if scheme == "memory":
            return cls(MemoryStorage(), maximum, restore_rate)
        if scheme in ("redis", "rediss"):
            # a Redis that does not answer holds a request up half a second
            storage, pool = redis_storage(url, 0.5, wrap_exceptions=True)
            return cls(storage, maximum, restore_rate, pool)
        raise ValueError(f"expected memory:// or a redis:// URL, not {scheme}://")

    def __init__(
        self, storage: Storage, maximum: int, restore_rate: int, pool: redis.asyncio.ConnectionPool | None = None
    ) -> None:
        if maximum < 1 or restore_rate < 1:
            raise ValueError("a budget needs a maximum and a restore rate of at least 1")
        self.maximum = maximum
        # the window is whole seconds (limits' unit): rounded up, the rate restored is at most the one asked
        self.window = max(1, math.ceil(maximum / restore_rate))
        self.restore_rate = maximum / self.window
        self.item = RateLimitItemPerSecond(maximum, self.window, namespace=NAMESPACE)
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.counters = cast(SlidingWindowCounterSupport, storage)
        self._pool = pool
        self._warned_at = -WARN_EVERY

    async def close(self) -> None:
        """Close the connections to Redis, if any."""
        if self._pool is not None:
            await self._pool.aclose()

    async def spend(self, key: str, cost: int) -> BudgetState | None:
        """Spend `cost` from `key`'s budget if it holds that much; None when the store cannot be reached."""
        try:
            spent = cost <= 0 or await self.limiter.hit(self.item, key, cost=cost)
            window = await self.counters.get_sliding_window(self.item.key_for(key), self.window)
        except StorageError as exc:
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY:  # one line a minute, not one a request
                self._warned_at = now
                log.warning("query budgets unavailable, serving without them: %s", exc)
            return None
        previous, previous_left, current, current_left = window
        used = previous * previous_left / self.window + current
        available = max(0, math.floor(self.maximum - used))
        retry_after = None if spent else self._wait(previous, previous_left, current, current_left, cost)
        return BudgetState(self.maximum, available, self.restore_rate, retry_after)

    def _wait(self, previous: int, previous_left: float, current: int, current_left: float, cost: int) -> float:
        """Seconds until `cost` fits: the previous window fading, or the current one ending and then fading."""
        room = self.maximum - cost
        if current <= room:
            if previous == 0:
                return 0.0
            return max(0.0, previous_left - (room - current) * self.window / previous)
        # `current_left` runs to the end of the window after this one (limits keeps the counter that long)
        window_ends_in = max(0.0, current_left - self.window)
        return window_ends_in + self.window * (1 - room / current)
