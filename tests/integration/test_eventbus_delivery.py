"""BroadcastEventBus on the real memory backend and a real Redis: envelope, fan-out, bounds, upstream bugs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from broadcaster import Broadcast
from redis.asyncio import Redis

from adapters.eventbus import TOO_SLOW, BroadcastEventBus, RedisPubSubBackend
from domain.common.ports import LiveUpdatesInterrupted
from tests.integration._eventbus import channel, next_message

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]


@pytest.fixture(params=BACKENDS)
def bus_url(request: pytest.FixtureRequest) -> str:
    """Each fan-out test runs once in-process (memory://) and once on Redis."""
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
async def bus(bus_url: str) -> AsyncIterator[BroadcastEventBus]:
    bus = BroadcastEventBus(bus_url, queue_size=8)
    await bus.connect()
    assert bus.healthy
    yield bus
    await bus.disconnect()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain redis-py client on the shared Redis, to look at the wire."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


# --- envelope and round trip --------------------------------------------------------------------


async def test_round_trip(bus: BroadcastEventBus) -> None:
    async with asyncio.timeout(10):
        # given a subscriber
        name = channel()
        async with bus.subscribe(name) as stream:
            # when messages are published
            await bus.publish(name, {"kind": "order.changed", "id": "o-1"})
            await bus.publish(name, {"kind": "order.changed", "id": "o-2", "nested": {"n": [1, 2]}})
            # then the subscriber gets the data back, in order
            assert await next_message(stream) == {"kind": "order.changed", "id": "o-1"}
            assert await next_message(stream) == {"kind": "order.changed", "id": "o-2", "nested": {"n": [1, 2]}}
        # and leaving the context ends the iteration cleanly
        with pytest.raises(StopAsyncIteration):
            await next_message(stream)


@pytest.mark.redis
async def test_envelope_on_the_wire(redis_url: str, redis: Redis) -> None:
    async with asyncio.timeout(10):
        name = channel()
        bus = BroadcastEventBus(redis_url)
        await bus.connect()
        try:
            async with redis.pubsub() as raw:
                await raw.subscribe(name)
                assert (await raw.get_message(timeout=2))["type"] == "subscribe"
                before = time.time()
                await bus.publish(name, {"id": 7})
                message = await raw.get_message(timeout=2)
            envelope = json.loads(message["data"])
            assert envelope["v"] == 1
            assert envelope["data"] == {"id": 7}
            assert isinstance(envelope["ts"], float)
            assert before - 1 <= envelope["ts"] <= time.time() + 1
        finally:
            await bus.disconnect()


async def test_publish_rejects_what_is_not_a_json_object() -> None:
    async with asyncio.timeout(10):
        bus = BroadcastEventBus("memory://")
        await bus.connect()
        try:
            with pytest.raises(TypeError):
                await bus.publish("c", ["not", "a", "dict"])  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                await bus.publish("c", {"when": object()})
            with pytest.raises(ValueError, match="JSON"):
                await bus.publish("c", {"x": float("nan")})
        finally:
            await bus.disconnect()


def test_unsupported_url_fails_fast() -> None:
    with pytest.raises(ValueError, match="memory://, redis://"):
        BroadcastEventBus("kafka://localhost:9092")
    with pytest.raises(ValueError, match=r"\*\*\*"):  # the password is not echoed
        BroadcastEventBus("postgres://user:secret@db/x")


@pytest.mark.redis
async def test_malformed_payloads_are_logged_and_skipped(
    redis_url: str, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with asyncio.timeout(10):
        # given a subscriber on Redis
        name = channel()
        bus = BroadcastEventBus(redis_url)
        await bus.connect()
        try:
            async with bus.subscribe(name) as stream:
                # when another publisher sends garbage, then a well-formed message
                with caplog.at_level(logging.WARNING, logger="adapters.eventbus"):
                    for garbage in [
                        b"not json",
                        b"[1, 2]",
                        b'{"v": 2, "data": {}, "ts": 1.0}',
                        b'{"v": 1, "data": [1], "ts": 1.0}',
                        b'{"v": 1, "data": {}, "ts": "yesterday"}',
                        b"\xff\xfe not utf-8",
                    ]:
                        await redis.publish(name, garbage)
                    await bus.publish(name, {"ok": True})
                    # then only the good one arrives, and the bus stays up
                    assert await next_message(stream) == {"ok": True}
                assert bus.healthy
                assert sum("skipped" in r.getMessage() for r in caplog.records) == 6
                # and it keeps delivering
                await bus.publish(name, {"ok": 2})
                assert await next_message(stream) == {"ok": 2}
        finally:
            await bus.disconnect()


@pytest.mark.redis
async def test_two_processes_on_one_redis_see_each_others_messages(redis_url: str) -> None:
    async with asyncio.timeout(10):
        # given two bus instances, as two API processes would have
        first, second = BroadcastEventBus(redis_url), BroadcastEventBus(redis_url)
        await first.connect()
        await second.connect()
        try:
            name = channel()
            async with first.subscribe(name) as on_first, second.subscribe(name) as on_second:
                # when each publishes
                await first.publish(name, {"from": "first"})
                await second.publish(name, {"from": "second"})
                # then both subscribers see both messages
                for stream in (on_first, on_second):
                    assert [await next_message(stream), await next_message(stream)] == [
                        {"from": "first"},
                        {"from": "second"},
                    ]
        finally:
            await first.disconnect()
            await second.disconnect()


# --- concurrency, cleanup, bounded queues ---------------------------------------------------------


async def test_fifty_concurrent_first_subscribers_all_receive(bus: BroadcastEventBus) -> None:
    async with asyncio.timeout(15):
        # given 50 subscribers arriving at once on a channel nobody listens to yet
        name = channel()
        entered = 0
        all_in = asyncio.Event()
        release = asyncio.Event()

        async def subscriber() -> dict[str, Any]:
            nonlocal entered
            async with bus.subscribe(name) as stream:
                entered += 1
                if entered == 50:
                    all_in.set()
                received = await next_message(stream, 5)
                await release.wait()
                return received

        tasks = [asyncio.create_task(subscriber()) for _ in range(50)]
        await asyncio.wait_for(all_in.wait(), 5)
        # when the first message is published
        await bus.publish(name, {"n": 1})
        release.set()
        # then every one receives it, and every one leaves cleanly (no KeyError)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results == [{"n": 1}] * 50


@pytest.mark.redis
async def test_leaving_unsubscribes_the_channel(redis_url: str, redis: Redis) -> None:
    async def subscribers_of(name: str) -> int:
        [(_, count)] = await redis.pubsub_numsub(name)
        return int(count)

    async with asyncio.timeout(10):
        name = channel()
        bus = BroadcastEventBus(redis_url)
        await bus.connect()
        try:
            # given two local subscribers: one Redis subscription shared by both
            async with bus.subscribe(name) as first:
                async with bus.subscribe(name):
                    assert await subscribers_of(name) == 1
                # when one leaves, the channel stays subscribed for the other
                assert await subscribers_of(name) == 1
                await bus.publish(name, {"still": "here"})
                assert await next_message(first) == {"still": "here"}
            # when the last leaves, the channel is unsubscribed
            assert await subscribers_of(name) == 0
            # and subscribing again works
            async with bus.subscribe(name) as again:
                await bus.publish(name, {"again": True})
                assert await next_message(again) == {"again": True}
            assert await subscribers_of(name) == 0
        finally:
            await bus.disconnect()


async def test_leaving_while_subscribing_is_clean(bus: BroadcastEventBus) -> None:
    async with asyncio.timeout(10):
        # given subscribers cancelled while their SUBSCRIBE is in flight
        name = channel()

        async def enter() -> None:
            async with bus.subscribe(name):
                await asyncio.sleep(10)

        tasks = [asyncio.create_task(enter()) for _ in range(10)]
        await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # then the bus is unharmed and the channel works
        assert bus.healthy
        async with bus.subscribe(name) as stream:
            await bus.publish(name, {"after": "cancel"})
            assert await next_message(stream) == {"after": "cancel"}


async def test_slow_consumer_is_ended_and_others_keep_receiving(bus: BroadcastEventBus) -> None:
    async with asyncio.timeout(10):
        # given a subscriber that never reads and one that reads everything (queue_size=8)
        name = channel()
        async with bus.subscribe(name) as slow, bus.subscribe(name) as fast:
            # when more than 8 messages arrive
            for n in range(20):
                await bus.publish(name, {"n": n})
                assert await next_message(fast) == {"n": n}
            # then the slow one is ended with "too slow" (not an ever-growing queue)
            with pytest.raises(LiveUpdatesInterrupted, match=f"^{TOO_SLOW}$"):
                await next_message(slow)
            with pytest.raises(LiveUpdatesInterrupted):  # and stays ended
                await next_message(slow)
            # and the fast one keeps receiving
            await bus.publish(name, {"n": 20})
            assert await next_message(fast) == {"n": 20}
            assert bus.healthy


async def test_disconnect_ends_live_subscriptions() -> None:
    async with asyncio.timeout(10):
        bus = BroadcastEventBus("memory://")
        await bus.connect()
        async with bus.subscribe("c") as stream:
            reading = asyncio.create_task(next_message(stream, 5))
            await asyncio.sleep(0.01)
            await bus.disconnect()
            with pytest.raises(LiveUpdatesInterrupted):
                await reading
        assert not bus.healthy
        with pytest.raises(LiveUpdatesInterrupted):
            async with bus.subscribe("c"):
                pass
        await bus.publish("c", {"dropped": True})  # no error: best effort


# --- UPSTREAM BUGS in plain broadcaster 0.3.1 ------------------------------------------------------
# These assert the CORRECT behaviour and are expected to fail while the bugs exist. When one
# XPASSes (strict: the run fails), broadcaster fixed it: revisit adapters/eventbus.py, which works
# around it, and drop the workaround if it is no longer needed.


@pytest.mark.redis
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="UPSTREAM BUG (a): broadcaster's RedisBackend marks itself ready before SUBSCRIBE completes; "
    "with redis-py 8 its listener then stops and nothing is delivered",
)
async def test_upstream_redis_backend_delivers(redis_url: str) -> None:
    async with asyncio.timeout(10):
        name = channel()
        async with Broadcast(redis_url) as broadcast, broadcast.subscribe(name) as subscriber:
            await broadcast.publish(name, "hello")
            try:
                event = await asyncio.wait_for(subscriber.get(), 1.0)
            except TimeoutError:
                event = None
            assert event is not None, "nothing delivered"


@pytest.mark.redis
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="UPSTREAM BUG (b): Broadcast.subscribe registers a channel's first subscriber after awaiting the "
    "backend; concurrent first subscribers overwrite each other (one receives, the rest hang, KeyError on exit)",
)
async def test_upstream_concurrent_first_subscribers_all_receive(redis_url: str) -> None:
    async with asyncio.timeout(15):
        name = channel()
        # Our Redis backend (bug (a) fixed, broadcaster's public backend interface) isolates bug (b).
        async with Broadcast(backend=RedisPubSubBackend(redis_url)) as broadcast:
            entered = 0
            all_in = asyncio.Event()

            async def subscriber() -> bool:
                nonlocal entered
                async with broadcast.subscribe(name) as sub:
                    entered += 1
                    if entered == 50:
                        all_in.set()
                    try:
                        await asyncio.wait_for(sub.get(), 1.0)
                    except TimeoutError:
                        return False
                    return True

            tasks = [asyncio.create_task(subscriber()) for _ in range(50)]
            await asyncio.wait_for(all_in.wait(), 5)
            await broadcast.publish(name, "first")
            results = await asyncio.gather(*tasks, return_exceptions=True)
        received = sum(result is True for result in results)
        errors = [repr(result) for result in results if isinstance(result, BaseException)]
        assert (received, errors) == (50, []), f"{received}/50 received; errors: {errors[:1]} x{len(errors)}"
