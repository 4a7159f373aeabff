"""The ports: what the domain needs from the outside world, as Protocols adapters implement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from domain.comments import Comment
from domain.identity import AccessToken, Organisation, Programme, User
from domain.notifications import Delivery, OrderLink, RecipientList, RecipientSide
from domain.orders import Order, Service


class Clock(Protocol):
    """The current time (UTC, timezone-aware)."""

    def now(self) -> datetime:
        """Now."""
        ...


class PasswordHasher(Protocol):
    """One-way password hashing (argon2 in production)."""

    def hash(self, password: str) -> str:
        """The stored form of `password`."""
        ...

    def verify(self, stored: str, password: str) -> bool:
        """True when `password` matches `stored`."""
        ...


class BlobStore(Protocol):
    """Content-addressed file storage: each distinct content is stored once, by SHA-256."""

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


class OrderRepository(Protocol):
    """Orders as aggregates (with their quotes)."""

    async def get(self, order_id: UUID) -> Order | None:
        """The order, or None."""
        ...

    async def add(self, order: Order) -> None:
        """Insert a new order."""
        ...

    async def order_id_of_quote(self, quote_id: UUID) -> UUID | None:
        """The id of the order a quote belongs to, or None."""
        ...

    async def save(self, order: Order) -> None:
        """Write a changed order; raises VersionConflict if someone else wrote it first."""
        ...

    async def next_number(self, programme_id: UUID) -> int:
        """The next human-readable order number of the programme."""
        ...


class CommentRepository(Protocol):
    """Comments with their attachments (append-only)."""

    async def add(self, comment: Comment) -> None:
        """Insert a comment and its attachments."""
        ...


class Directory(Protocol):
    """Programmes, organisations, users, services and access tokens."""

    async def programme(self, programme_id: UUID) -> Programme | None:
        """A programme by id."""
        ...

    async def organisation(self, organisation_id: UUID) -> Organisation | None:
        """An organisation by id."""
        ...

    async def user(self, user_id: UUID) -> User | None:
        """A user by id."""
        ...

    async def user_by_email(self, email: str) -> User | None:
        """A user by normalised email."""
        ...

    async def service(self, service_id: UUID) -> Service | None:
        """A provider's flat-fee service by id."""
        ...

    async def token(self, digest: str) -> AccessToken | None:
        """An access token by digest."""
        ...

    async def token_holder(self, digest: str) -> tuple[AccessToken, User, Organisation] | None:
        """An access token with its user and the user's organisation (one lookup, for every request)."""
        ...

    async def add_programme(self, programme: Programme) -> None:
        """Insert a programme."""
        ...

    async def add_organisation(self, organisation: Organisation) -> None:
        """Insert an organisation."""
        ...

    async def add_user(self, user: User) -> None:
        """Insert a user; raises Duplicate when the email is taken."""
        ...

    async def add_service(self, service: Service) -> None:
        """Insert a flat-fee service."""
        ...

    async def add_token(self, token: AccessToken) -> None:
        """Insert an access token."""
        ...

    async def revoke_token(self, digest: str, when: datetime) -> None:
        """Mark a token revoked."""
        ...


class NotificationRepository(Protocol):
    """An order's recipient lists and watchers, order links, and the delivery log's rows."""

    async def recipients(self, order_id: UUID, side: RecipientSide) -> RecipientList:
        """One side's recipient list of an order (empty when never set)."""
        ...

    async def save_recipients(self, recipients: RecipientList) -> None:
        """Write a recipient list (its events are written on commit)."""
        ...

    async def watch(self, order_id: UUID, user_id: UUID, now: datetime) -> None:
        """Make a user a watcher of an order (watching twice is watching)."""
        ...

    async def unwatch(self, order_id: UUID, user_id: UUID) -> None:
        """Stop a user watching an order (a no-op when it was not)."""
        ...

    async def add_link(self, link: OrderLink) -> None:
        """Record an order link (its ORDER_LINK_SENT event, written on commit, is the record)."""
        ...

    async def delivery(self, delivery_id: UUID) -> Delivery | None:
        """One row of the delivery log, or None."""
        ...

    async def resend(self, delivery_id: UUID, now: datetime) -> Delivery:
        """Queue a delivery again at once: retried when pending or failed, sent once more when sent."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories share it; nothing is written until `commit`.

    On commit, the events recorded by the aggregates it saw are written to the activity
    timeline and the outbox in the same transaction.
    """

    orders: OrderRepository
    comments: CommentRepository
    directory: Directory
    notifications: NotificationRepository

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
    order_link_key: Callable[[], bytes] = field(default=lambda: b"", repr=False)
    """The key order links are signed with, loaded on first use (empty: no link verifies)."""


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything a service needs from outside the domain."""

    uow: Callable[[], UnitOfWork]
    clock: Clock
    passwords: PasswordHasher
    blobs: BlobStore
    sniffer: ContentSniffer
    policy: Policy = Policy()
