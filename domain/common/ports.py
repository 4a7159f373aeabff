"""The ports every context shares: time, files, hashing, counters, live hints, and the unit of work's shape.

Each context declares the unit of work its services need (`OrdersUnitOfWork` and so on) as a
protocol over `UnitOfWork`; one SQL unit of work satisfies them all. `Ports` is generic in it,
so a service states exactly which repositories it may touch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar


class Clock(Protocol):
    """The current time (UTC, timezone-aware)."""

    def now(self) -> datetime:
        """Now."""
        ...


class BlobStore(Protocol):
    """Content-addressed file storage: each distinct content is stored once, by SHA-256."""

    async def digest(self, data: bytes) -> str:
        """The SHA-256 hex digest `put` would store `data` under, storing nothing (checks come first)."""
        ...

    async def put(self, data: bytes) -> str:
        """Store `data` (idempotently) and return its SHA-256 hex digest."""
        ...

    async def get(self, digest: str) -> bytes | None:
        """The content with this digest, or None."""
        ...


class ContentSniffer(Protocol):
    """Tells a file's type from its bytes."""

    def detect(self, data: bytes) -> str | None:
        """The MIME type the content is, or None when unrecognised."""
        ...


class PasswordHasher(Protocol):
    """One-way password hashing (argon2 in production)."""

    def hash(self, password: str) -> str:
        """The stored form of `password`."""
        ...

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`.

        `stored` None (no such user) does the same work against a hash of nothing and is False: one
        verification either way, so the time of an answer never tells which emails exist.
        """
        ...


class Counters(Protocol):
    """Whole-number counters that forget themselves, shared by every API process: what rate limits count with.

    A counter starts at 0; the first `add` gives it a lifetime (measured by the store, not the domain's
    clock: a lifetime only bounds how long a counter is kept, so the domain keys anything that must end at
    a time of its own clock, such as a window, by that time). Adds are atomic across processes.
    """

    async def add(self, key: str, lifetime: timedelta, amount: int = 1) -> int:
        """Add `amount` (may be negative) to counter `key`, and return its new value."""
        ...

    async def value(self, key: str) -> int:
        """The value of counter `key` (0 when it was never added to, was removed or has lived its lifetime)."""
        ...

    async def remove(self, key: str) -> None:
        """Forget counter `key`."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories share it; nothing is written until `commit`.

    On commit, the events recorded by the aggregates it saw are written to the activity
    timeline and the outbox in the same transaction. Each context's protocol adds the
    repositories its services use.
    """

    async def __aenter__(self) -> Self:
        """Begin."""
        ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back anything not committed."""
        ...

    async def commit(self) -> None:
        """Write the events and commit."""
        ...


class LiveUpdatesInterrupted(Exception):
    """A live event stream ended abnormally (backend lost, or the consumer fell too far behind)."""


class EventBus(Protocol):
    """Publish/subscribe of small JSON hints between processes (broadcaster behind it).

    Messages are hints (ids and kinds), never the data itself: subscribers re-read what they
    may see. Iterating a subscription raises LiveUpdatesInterrupted when the backend is lost or
    the subscriber's bounded queue overflows; it never hangs silently.
    """

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send `message` to every subscriber of `channel` (best effort)."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Subscribe to `channel` for the duration of the context; iterate for messages."""
        ...


@dataclass(frozen=True, slots=True)
class Policy:
    """Tunable rules the services apply."""

    token_ttl: timedelta = timedelta(days=7)
    sign_in_failures_per_email: int = 10
    """Failed sign-ins an email may have from one client address in a minute (domain.identity.throttle)."""
    sign_in_failures_per_address: int = 100
    """Failed sign-ins one client address may have in a minute, whatever the emails."""
    order_link_key: Callable[[], bytes] = field(default=lambda: b"", repr=False)
    """The key order links are signed with, loaded on first use (empty: no link verifies)."""
    messages_per_user_per_hour: int = 60
    """Follow-ups and order links one user may send in any hour (domain.notifications.SEND_WINDOWS)."""
    messages_per_organisation_per_day: int = 1000
    """The same for all the users of one organisation together, in any 24 hours."""
    recipients_per_message: int = 10
    """Most addresses one follow-up's `to` may name."""


U_co = TypeVar("U_co", bound=UnitOfWork, covariant=True)


@dataclass(frozen=True, slots=True)
class Ports(Generic[U_co]):
    """Everything a service needs from outside the domain; `uow` opens the context's unit of work."""

    uow: Callable[[], U_co]
    clock: Clock
    passwords: PasswordHasher
    blobs: BlobStore
    sniffer: ContentSniffer
    counters: Counters
    policy: Policy = Policy()
