"""BroadcastEventBus when Redis fails: a redis-server of the test's own, killed, frozen, cut off, started late."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from adapters.eventbus import BroadcastEventBus
from domain.common.ports import LiveUpdatesInterrupted
from tests.conftest import REQUIRE_SERVICES
from tests.integration._eventbus import channel, next_message

SKIP_REDIS_SERVER = "Redis outage tests start their own redis-server: install it (apt-get install redis-server)"

# Tight settings for outage tests: a frozen Redis is noticed within CHECK_INTERVAL + TIMEOUT.
TIMEOUT, CHECK_INTERVAL = 0.5, 0.2


def fast_bus(url: str) -> BroadcastEventBus:
    return BroadcastEventBus(url, timeout=TIMEOUT, check_interval=CHECK_INTERVAL, max_backoff=0.5)


class ThrowawayRedis:
    """A redis-server of the test's own on a free port: kill it and start it again on the same port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=5)
        self.process = None

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    if shutil.which("redis-server") is None:
        if REQUIRE_SERVICES:
            pytest.fail("ORDERGRAPH_REQUIRE_SERVICES=1 but redis-server is not installed")
        pytest.skip(SKIP_REDIS_SERVER)
    server = ThrowawayRedis()
    server.start()
    yield server
    if server.process is not None:
        server.signal(signal.SIGCONT)  # in case a test left it stopped
        server.kill()


async def until(condition: Any, seconds: float) -> float:
    """Wait until condition() is true; return how long it took (fails the test after `seconds`)."""
    start = time.monotonic()
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110  # polls a property; no event to wait on
            await asyncio.sleep(0.01)
    return time.monotonic() - start


# --- outages (a redis-server of the test's own) ------------------------------------------------


async def live_subscriptions(
    bus: BroadcastEventBus, names: list[str]
) -> tuple[list[asyncio.Task[float]], list[asyncio.Event]]:
    """One task per channel iterating a subscription; each returns the monotonic time it was interrupted."""
    ready = [asyncio.Event() for _ in names]

    async def consume(name: str, entered: asyncio.Event) -> float:
        async with bus.subscribe(name) as stream:
            entered.set()
            try:
                async for _ in stream:
                    pass
            except LiveUpdatesInterrupted:
                return time.monotonic()
        raise AssertionError("the iteration ended without LiveUpdatesInterrupted")

    tasks = [asyncio.create_task(consume(name, entered)) for name, entered in zip(names, ready, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), 5)
    return tasks, ready


@pytest.mark.redis
async def test_redis_killed_ends_live_subscriptions_and_recovers(throwaway_redis: ThrowawayRedis) -> None:
    async with asyncio.timeout(30):
        bus = fast_bus(throwaway_redis.url)
        await bus.connect()
        try:
            # given three live subscriptions
            names = [channel() for _ in range(3)]
            tasks, _ = await live_subscriptions(bus, names)
            # when Redis is SIGKILLed
            killed = time.monotonic()
            throwaway_redis.kill()
            # then all three iterations raise LiveUpdatesInterrupted within a few seconds
            interrupted = await asyncio.wait_for(asyncio.gather(*tasks), 5)
            assert max(interrupted) - killed < 2.0
            assert not bus.healthy
            # and publishing neither hangs nor raises; subscribing fails promptly
            started = time.monotonic()
            await bus.publish(names[0], {"lost": True})
            assert time.monotonic() - started < 1.5
            started = time.monotonic()
            with pytest.raises(LiveUpdatesInterrupted):
                async with bus.subscribe(names[0]):
                    pass
            assert time.monotonic() - started < 0.5
            # when Redis comes back on the same port
            await asyncio.sleep(1)  # let the backoff grow a little
            throwaway_redis.start()
            await until(lambda: bus.healthy, 10)
            # then a new subscription receives messages again
            async with bus.subscribe(names[0]) as stream:
                await bus.publish(names[0], {"back": True})
                assert await next_message(stream) == {"back": True}
        finally:
            await bus.disconnect()


@pytest.mark.redis
async def test_unresponsive_redis_is_detected_by_the_ping(throwaway_redis: ThrowawayRedis) -> None:
    async with asyncio.timeout(30):
        bus = fast_bus(throwaway_redis.url)
        await bus.connect()
        try:
            # given a live subscription
            tasks, _ = await live_subscriptions(bus, [channel()])
            # when Redis stops answering but keeps its connections open (as in a network partition)
            frozen = time.monotonic()
            throwaway_redis.signal(signal.SIGSTOP)
            # then the ping notices within check_interval + timeout, and the subscription ends
            [interrupted] = await asyncio.wait_for(asyncio.gather(*tasks), 5)
            assert interrupted - frozen < CHECK_INTERVAL + TIMEOUT + 0.5
            # and publish is bounded by the timeout
            started = time.monotonic()
            await bus.publish("any", {"lost": True})
            assert time.monotonic() - started < TIMEOUT + 0.5
            # when Redis answers again, the bus recovers
            throwaway_redis.signal(signal.SIGCONT)
            await until(lambda: bus.healthy, 10)
            name = channel()
            async with bus.subscribe(name) as stream:
                await bus.publish(name, {"back": True})
                assert await next_message(stream) == {"back": True}
        finally:
            await bus.disconnect()


@pytest.mark.redis
async def test_dropped_subscriber_connection_is_noticed(throwaway_redis: ThrowawayRedis) -> None:
    async with asyncio.timeout(30):
        bus = fast_bus(throwaway_redis.url)
        await bus.connect()
        admin = Redis.from_url(throwaway_redis.url)
        try:
            # given a live subscription
            tasks, _ = await live_subscriptions(bus, [channel()])
            # when only the subscriber connection is dropped, Redis staying up
            # (redis-py would reconnect it silently; messages published meanwhile would be lost)
            dropped = time.monotonic()
            assert await admin.client_kill_filter(_type="pubsub") == 1
            # then the subscription ends (the client resubscribes and re-reads), and the bus recovers at once
            [interrupted] = await asyncio.wait_for(asyncio.gather(*tasks), 5)
            assert interrupted - dropped < 1.0
            await until(lambda: bus.healthy, 5)
            name = channel()
            async with bus.subscribe(name) as stream:
                await bus.publish(name, {"back": True})
                assert await next_message(stream) == {"back": True}
        finally:
            await admin.aclose()
            await bus.disconnect()


@pytest.mark.redis
async def test_starting_while_redis_is_down(throwaway_redis: ThrowawayRedis) -> None:
    async with asyncio.timeout(30):
        throwaway_redis.kill()
        bus = fast_bus(throwaway_redis.url)
        try:
            # when the bus connects while Redis is down, connect() returns promptly, unhealthy
            started = time.monotonic()
            await bus.connect()
            assert time.monotonic() - started < 1.0
            assert not bus.healthy
            with pytest.raises(LiveUpdatesInterrupted):
                async with bus.subscribe("c"):
                    pass
            # when Redis starts, the bus connects in the background
            throwaway_redis.start()
            await until(lambda: bus.healthy, 10)
            async with bus.subscribe("c") as stream:
                await bus.publish("c", {"up": True})
                assert await next_message(stream) == {"up": True}
        finally:
            await bus.disconnect()
