"""broadcaster's backend interface over redis-py's pub/sub, with the defects of broadcaster 0.3.1's own mended.

Its Redis backend marks itself ready before SUBSCRIBE completes, so with redis-py 8 nothing is ever
delivered; its listener is a hidden task that dies silently when Redis drops (encode/broadcaster#144),
leaving `next_published` waiting forever; a non-UTF-8 payload kills that task too. This one answers
each SUBSCRIBE before it returns and ends `next_published` with an error when the connection is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from broadcaster import BroadcastBackend, Event
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

if TYPE_CHECKING:
    pass
log = logging.getLogger(__name__)


class RedisPubSubBackend(BroadcastBackend):
    """broadcaster's backend interface on redis-py, fixed: subscribe returns once Redis confirmed it.

    A replacement rather than a subclass of broadcaster's RedisBackend: fixing that one means overriding
    its constructor, subscribe, next_published, disconnect and private listener, and reaching into five
    private attributes, and its design (a hidden reader task gated by a ready flag) is the cause of both
    the readiness bug and the silent death. Here
    `next_published` reads the subscriber connection itself, so a dropped connection raises straight
    into the caller's (supervised) task; no silent reconnects, so a drop can never go unnoticed.
    """

    def __init__(self, url: str, *, timeout: float = 1.0) -> None:
        # BroadcastBackend.__init__ only raises NotImplementedError: not called.
        self._timeout = timeout
        # Commands (publish) retry once, so a stale pooled connection is replaced quietly.
        self._commands = Redis.from_url(
            url, retry=Retry(NoBackoff(), 1), socket_timeout=timeout, socket_connect_timeout=timeout
        )
        # The subscriber connection never reconnects by itself: redis-py would resubscribe and the
        # messages published in between would be lost without anyone knowing.
        self._subscriber = Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._pubsub = self._subscriber.pubsub()
        self._confirmations: dict[str, deque[asyncio.Future[None]]] = {}
        self._pongs: deque[asyncio.Future[None]] = deque()

    async def connect(self) -> None:
        await self._commands.ping()
        await self._pubsub.connect()  # type: ignore[no-untyped-call]  # unannotated in redis-py

    async def disconnect(self) -> None:
        try:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated in redis-py
            await self._subscriber.aclose()
        finally:
            await self._commands.aclose()

    async def subscribe(self, channel: str) -> None:
        """Subscribe, and return once Redis confirmed (a message published after that is delivered)."""
        await self._request(self._confirmations.setdefault(channel, deque()), self._pubsub.subscribe(channel))

    async def unsubscribe(self, channel: str) -> None:
        await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: str) -> None:
        await self._commands.publish(channel, message)

    async def ping(self) -> None:
        """Round trip on the subscriber connection, answered through next_published (proves all of it alive)."""
        await self._request(self._pongs, self._pubsub.ping())

    async def next_published(self) -> Event:
        try:
            while True:
                message = await self._pubsub.get_message(timeout=None)
                if message is None:
                    continue
                kind, channel = message["type"], message["channel"]
                if kind == "message":
                    try:
                        return Event(channel=channel.decode(), message=message["data"].decode())
                    except UnicodeDecodeError:
                        log.warning("skipped a non-UTF-8 message on Redis channel %r", channel)
                elif kind == "subscribe":
                    name = channel.decode()
                    _resolve(self._confirmations.get(name))
                    if not self._confirmations.get(name, True):
                        del self._confirmations[name]  # one key per channel ever subscribed would leak
                elif kind == "pong":
                    _resolve(self._pongs)
        except BaseException:
            # Whoever waits for a confirmation or a pong learns now, not at its timeout.
            lost = ConnectionError("Redis subscriber connection closed")
            for waiting in [*self._pongs, *(f for q in self._confirmations.values() for f in q)]:
                if not waiting.done():
                    waiting.set_exception(lost)
            self._pongs.clear()
            self._confirmations.clear()
            raise

    async def _request(self, answers: deque[asyncio.Future[None]], command: Awaitable[object]) -> None:
        # Send `command`, then wait until next_published (which must be running) reads its answer.
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        answers.append(answer)
        try:
            await command
        except BaseException:
            if answer in answers:  # not sent: no answer will come for it
                answers.remove(answer)
            raise
        try:
            await asyncio.wait_for(answer, self._timeout)
        except TimeoutError:
            raise TimeoutError(f"Redis did not answer within {self._timeout}s") from None


def _resolve(answers: deque[asyncio.Future[None]] | None) -> None:
    # Redis answers a connection's commands in order: each answer belongs to the oldest request,
    # even one whose waiter has given up.
    if answers:
        answer = answers.popleft()
        if not answer.done():
            answer.set_result(None)
