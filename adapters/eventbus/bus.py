"""The EventBus port on broadcaster: JSON hints over memory:// or redis://, supervised, bounded per subscriber.

broadcaster 0.3.1 is used for its backend interface (`BroadcastBackend`, `Event`) and its memory
backend; the fan-out to subscribers (its `Broadcast` class) and the Redis backend are replaced here,
because that is where its defects live (stack notes, "broadcaster 0.3.1: two bugs on networked backends"):

- its Redis backend marks itself ready before SUBSCRIBE completes, so with redis-py 8 nothing is ever
  delivered; its listener is a hidden task that dies silently when Redis drops (encode/broadcaster#144),
  leaving `next_published` waiting forever; a non-UTF-8 payload kills that task too;
- `Broadcast.subscribe` registers a channel's first subscriber only after awaiting the backend, so
  concurrent first subscribers overwrite each other (all but one hang, then KeyError on exit);
- its subscriber queues are unbounded and nothing ends them when the backend is lost.

Lifecycle: `connect()` starts a watchdog that owns a *session* (one connected backend and the
subscriptions opened on it). When the listener ends or the backend stops answering a ping, the
session is lost: every live subscription's iterator raises LiveUpdatesInterrupted (clients
resubscribe and re-read from the database, which is the truth), `healthy` turns False, subscribe()
fails fast, publish() drops and logs, and the watchdog reconnects with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from broadcaster import BroadcastBackend
from broadcaster._backends.memory import MemoryBackend

from domain.common import LiveUpdatesInterrupted

if TYPE_CHECKING:
    from domain.common import EventBus
if TYPE_CHECKING:  # mypy checks that the adapter satisfies the port

    def _conforms(bus: BroadcastEventBus) -> EventBus:
        return bus


from adapters.eventbus.redis_backend import RedisPubSubBackend

log = logging.getLogger(__name__)


T = TypeVar("T")


ENVELOPE_VERSION: Final = 1


TOO_SLOW: Final = "too slow"
"""The LiveUpdatesInterrupted message of a subscriber whose queue overflowed."""


BACKEND_LOST: Final = "live updates backend lost; subscribe again"


UNAVAILABLE: Final = "live updates are unavailable right now; subscribe again later"


SHUT_DOWN: Final = "live updates stopped: the server is shutting down"


_MIN_BACKOFF: Final = 0.1


_SCHEMES: Final = frozenset({"memory", "redis", "rediss"})


def encode(message: dict[str, Any]) -> str:
    """The envelope broadcaster carries: `{"v": 1, "data": message, "ts": unix time}` as compact JSON."""
    if not isinstance(message, dict):
        raise TypeError(f"an event bus message is a dict, not {type(message).__name__}")
    envelope = {"v": ENVELOPE_VERSION, "data": message, "ts": time.time()}
    # Strict JSON (no NaN): other processes, maybe other languages, decode it.
    return json.dumps(envelope, separators=(",", ":"), allow_nan=False)


def decode(payload: str) -> dict[str, Any] | None:
    """The `data` of a well-formed envelope, or None (an unknown version counts as malformed)."""
    try:
        envelope = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get("v") != ENVELOPE_VERSION:
        return None
    data, ts = envelope.get("data"), envelope.get("ts")
    if not isinstance(data, dict) or isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    return cast(dict[str, Any], data)


class _Subscription:
    """One subscriber: a bounded mailbox of validated payloads, decoded as the subscriber iterates."""

    __slots__ = ("_closed", "_error", "_items", "_limit", "_wakeup")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._error: str | None = None
        self._closed = False

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while True:
            if self._error is not None:
                raise LiveUpdatesInterrupted(self._error)
            if self._items:
                # Decoded per subscriber: nobody can mutate another subscriber's message.
                return cast(dict[str, Any], json.loads(self._items.popleft())["data"])
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def offer(self, payload: str) -> bool:
        """Queue `payload`; False when the mailbox is full (the subscriber is too slow)."""
        if self._error is not None or self._closed:
            return True
        if len(self._items) >= self._limit:
            return False
        self._items.append(payload)
        self._wakeup.set()
        return True

    def interrupt(self, reason: str) -> None:
        """End the iteration with LiveUpdatesInterrupted(reason), dropping what is queued."""
        if self._error is None and not self._closed:
            self._error = reason
            self._items.clear()
            self._wakeup.set()

    def close(self) -> None:
        """End the iteration (the context was left)."""
        self._closed = True
        self._items.clear()
        self._wakeup.set()


class _Channel:
    """The subscribers of one channel in one session, and the backend subscription they share."""

    __slots__ = ("ready", "subscribers")

    def __init__(self, ready: asyncio.Task[bool]) -> None:
        self.ready = ready
        self.subscribers: set[_Subscription] = set()


class _Session:
    """One connected backend and everything that lives and dies with it."""

    def __init__(self, backend: BroadcastBackend) -> None:
        self.backend = backend
        self.channels: dict[str, _Channel] = {}
        # Serialises SUBSCRIBE/UNSUBSCRIBE so a channel's operations reach the backend in order.
        self.lock = asyncio.Lock()
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.tasks: set[asyncio.Task[Any]] = set()  # strong references: the loop keeps only weak ones
        self.closing: asyncio.Task[None] | None = None

    def lose(self, reason: str) -> None:
        """Mark the session lost (the watchdog then ends its subscriptions and reconnects)."""
        if not self.lost.done():
            self.lost.set_result(reason)

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `coroutine` as a task of this session (cancelled when the session closes)."""
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


class BroadcastEventBus:
    """The EventBus port: JSON hints over broadcaster (memory:// in-process, redis:// across processes).

    Every subscriber has a queue of `queue_size` messages; one that falls further behind gets
    LiveUpdatesInterrupted("too slow") and is removed. Every backend operation is bounded by
    `timeout` seconds; the backend is pinged every `check_interval` seconds; reconnection backs off
    exponentially up to `max_backoff` seconds. publish() never raises for the backend's sake: while
    the backend is down or slow the hint is dropped and logged (hints are best effort).
    """

    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 256,
        timeout: float = 1.0,
        check_interval: float = 0.5,
        max_backoff: float = 5.0,
    ) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in _SCHEMES:
            raise ValueError(f"event bus URL must be memory://, redis:// or rediss://, not {_redact(url)!r}")
        if queue_size < 1 or timeout <= 0 or check_interval <= 0 or max_backoff < _MIN_BACKOFF:
            raise ValueError("queue_size >= 1, timeout > 0, check_interval > 0 and max_backoff >= 0.1 are required")
        self._url = url
        self._queue_size = queue_size
        self._timeout = timeout
        self._check_interval = check_interval
        self._max_backoff = max_backoff
        self._session: _Session | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._dropped = 0

    def __repr__(self) -> str:
        return f"<BroadcastEventBus {_redact(self._url)} healthy={self.healthy}>"

    @property
    def healthy(self) -> bool:
        """True while connected: subscribe() works and publish() reaches the backend."""
        session = self._session
        return session is not None and not session.lost.done()

    @property
    def subscribers(self) -> int:
        """How many subscriptions of this process are registered (0 while disconnected)."""
        session = self._session
        return 0 if session is None else sum(len(entry.subscribers) for entry in session.channels.values())

    async def connect(self) -> None:
        """Connect and start the watchdog; never fails for an unreachable backend (it retries in the background)."""
        if self._supervisor is not None:
            raise RuntimeError("BroadcastEventBus.connect() was already called")
        try:
            self._session = await self._open()
        except Exception as exc:
            log.warning(
                "event bus %s unreachable at start-up, retrying in the background: %s", _redact(self._url), _why(exc)
            )
        self._supervisor = asyncio.create_task(self._supervise(), name=f"event bus watchdog {_redact(self._url)}")

    async def disconnect(self) -> None:
        """End every live subscription (LiveUpdatesInterrupted), stop the watchdog, close the backend."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.wait({supervisor})
        if self._session is not None:
            await self._close(self._session, SHUT_DOWN)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send `message` to `channel`'s subscribers in every process; dropped and logged when the backend is down."""
        payload = encode(message)  # a message that is not JSON is the caller's bug: raises
        session = self._session
        if session is None or session.lost.done():
            self._drop(channel, "backend down")
            return
        try:
            await asyncio.wait_for(session.backend.publish(channel, payload), self._timeout)
        except Exception as exc:
            # The watchdog decides whether the backend is lost; one failed publish is not proof.
            self._drop(channel, _why(exc))

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Subscribe to `channel` for the duration of the context; raises LiveUpdatesInterrupted when unhealthy."""
        return self._subscribe(channel)

    @asynccontextmanager
    async def _subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        session = self._session
        if session is None or session.lost.done():
            raise LiveUpdatesInterrupted(UNAVAILABLE)
        subscription = _Subscription(self._queue_size)
        entry = session.channels.get(channel)
        if entry is None:
            entry = _Channel(session.spawn(self._backend_op(session, session.backend.subscribe, channel)))
            session.channels[channel] = entry
        # Registered before any await, so concurrent first subscribers all receive (upstream bug 2).
        entry.subscribers.add(subscription)
        try:
            # asyncio.wait never cancels what it waits for: a cancelled subscriber leaves the shared
            # SUBSCRIBE running (cancelling a redis-py write would drop the whole connection).
            ready: set[asyncio.Future[Any]] = {entry.ready, session.lost}
            await asyncio.wait(ready, return_when=asyncio.FIRST_COMPLETED)
            if session.lost.done() or not entry.ready.result():
                raise LiveUpdatesInterrupted(UNAVAILABLE)
            yield subscription
        finally:
            subscription.close()
            entry.subscribers.discard(subscription)
            if not entry.subscribers and session.channels.get(channel) is entry:
                del session.channels[channel]
                unsubscribed = session.spawn(self._backend_op(session, session.backend.unsubscribe, channel))
                done: set[asyncio.Future[Any]] = {unsubscribed, session.lost}
                await asyncio.wait(done, return_when=asyncio.FIRST_COMPLETED)

    async def _backend_op(self, session: _Session, op: Callable[[str], Awaitable[None]], channel: str) -> bool:
        async with session.lock:
            if session.lost.done():
                return False
            try:
                await asyncio.wait_for(op(channel), self._timeout)
            except Exception as exc:
                # SUBSCRIBE/UNSUBSCRIBE state is now unknown: start over on a fresh connection.
                session.lose(f"{getattr(op, '__name__', 'operation')}({channel!r}) failed: {_why(exc)}")
                return False
        return True

    async def _open(self) -> _Session:
        backend: BroadcastBackend
        if urlsplit(self._url).scheme == "memory":
            backend = MemoryBackend(self._url)
        else:
            backend = RedisPubSubBackend(self._url, timeout=self._timeout)
        try:
            await asyncio.wait_for(backend.connect(), self._timeout)
        except BaseException:
            await _quietly(backend.disconnect(), self._timeout)
            raise
        session = _Session(backend)
        listener = session.spawn(self._listen(session))
        listener.add_done_callback(lambda task: session.lose(_ended(task)))
        return session

    async def _listen(self, session: _Session) -> None:
        while True:
            event = await session.backend.next_published()
            entry = session.channels.get(event.channel)
            if entry is None or not entry.subscribers:
                continue
            if decode(event.message) is None:
                log.warning("skipped a malformed event bus message on %r: %.200r", event.channel, event.message)
                continue
            for subscription in list(entry.subscribers):
                if not subscription.offer(event.message):
                    entry.subscribers.discard(subscription)
                    subscription.interrupt(TOO_SLOW)
                    log.warning("a subscriber of %r fell %d messages behind: ended", event.channel, self._queue_size)

    async def _supervise(self) -> None:
        delay, attempts = _MIN_BACKOFF, 0
        while True:
            session = self._session
            if session is None:
                try:
                    session = await self._open()
                except Exception as exc:
                    attempts += 1
                    log.log(
                        logging.WARNING if attempts == 1 else logging.DEBUG,
                        "event bus %s unreachable (attempt %d, next in %.1fs): %s",
                        *(_redact(self._url), attempts, delay, _why(exc)),
                    )
                    # Jitter spreads the reconnections of many API processes (not security-sensitive).
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311
                    delay = min(delay * 2, self._max_backoff)
                    continue
                self._session = session
                log.warning(
                    "event bus %s connected after %d failed attempts (%d hints dropped meanwhile)",
                    *(_redact(self._url), attempts, self._dropped),
                )
                delay, attempts, self._dropped = _MIN_BACKOFF, 0, 0
            reason = await self._watch(session)
            live = self.subscribers
            log.warning("event bus %s lost (%s): ending %d live subscriptions", _redact(self._url), reason, live)
            await self._close(session, BACKEND_LOST)

    async def _watch(self, session: _Session) -> str:
        backend = session.backend
        ping = backend.ping if isinstance(backend, RedisPubSubBackend) else None
        while not session.lost.done():
            await asyncio.wait({session.lost}, timeout=self._check_interval if ping else None)
            if ping is not None and not session.lost.done():
                try:
                    await asyncio.wait_for(ping(), self._timeout)
                except Exception as exc:
                    session.lose(f"ping failed: {_why(exc)}")
        return session.lost.result()

    async def _close(self, session: _Session, reason: str) -> None:
        if self._session is session:
            self._session = None
        session.lose(reason)
        if session.closing is None:
            for entry in session.channels.values():
                for subscription in entry.subscribers:
                    subscription.interrupt(reason)
            session.channels.clear()
            session.closing = asyncio.create_task(self._shut(session))
        await asyncio.wait({session.closing})

    async def _shut(self, session: _Session) -> None:
        tasks = set(session.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._timeout)
        await _quietly(session.backend.disconnect(), self._timeout)

    def _drop(self, channel: str, why: str) -> None:
        self._dropped += 1
        # The first drop of an outage is a warning; the rest would flood the log.
        level = logging.WARNING if self._dropped == 1 or self._dropped % 1000 == 0 else logging.DEBUG
        log.log(level, "event bus hint on %r dropped (%s); %d dropped so far", channel, why, self._dropped)


async def _quietly(closing: Awaitable[None], seconds: float) -> None:
    try:
        await asyncio.wait_for(closing, seconds)
    except Exception as exc:
        log.warning("event bus backend did not close cleanly: %s", _why(exc))


def _ended(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "listener cancelled"
    exc = task.exception()
    return f"listener stopped: {_why(exc)}" if exc else "listener stopped"


def _why(exc: BaseException) -> str:
    # redis-py 8's exception reprs hide the message ("network:ConnectionError").
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
