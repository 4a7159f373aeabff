"""In-memory implementations of domain.common.ports, for testing the services without a database.

They behave like the SQL adapters where it matters to a service:
- a `FakeStore` is the database; each `FakeUnitOfWork` works on deep copies of it, so nothing a
  unit of work changes is visible to another until it commits, and leaving without committing
  discards everything;
- within one unit of work `orders.get` returns the same object for the same id (identity map);
- `orders.save` and `commit` check the version the order was loaded at (optimistic concurrency):
  if someone else committed it since, they raise `VersionConflict` and nothing is written;
- `commit` refuses orders changed but not saved, then pulls the events of every order and comment
  the unit of work saw into `FakeStore.events` (the outbox) in the same step as the writes.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Self
from uuid import UUID

from domain.common.errors import Duplicate, NotFound, VersionConflict
from domain.common.ports import Policy, Ports, UnitOfWork
from domain.identity.model import AccessToken, Organisation, Programme, User, normalise_email
from domain.identity.ports import Directory
from domain.orders.catalogue import Service
from domain.orders.comments import Comment
from domain.orders.events import OrderEvent
from domain.orders.order import Order
from domain.orders.ports import Catalogue, CommentRepository, OrderRepository

if TYPE_CHECKING:
    from tests.domain.world import World


@dataclass
class FakeStore:
    """The committed state: what a database would hold."""

    programmes: dict[UUID, Programme] = field(default_factory=dict)
    organisations: dict[UUID, Organisation] = field(default_factory=dict)
    users: dict[UUID, User] = field(default_factory=dict)
    services: dict[UUID, Service] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    orders: dict[UUID, Order] = field(default_factory=dict)
    comments: dict[UUID, Comment] = field(default_factory=dict)
    order_seq: dict[UUID, int] = field(default_factory=dict)
    events: list[OrderEvent] = field(default_factory=list)
    """Every committed event, in commit order (the activity timeline and the outbox)."""
    commits: int = 0
    fail_next_commit: Exception | None = None
    """Set to make the next commit raise this (as a database error would) before writing anything."""

    def seed(self, world: World) -> None:
        """Put the world's programmes, organisations, users and services in the store."""
        for programme in (world.programme, world.foreign_programme):
            self.programmes[programme.id] = copy.deepcopy(programme)
        for org in world.organisations.values():
            self.organisations[org.id] = copy.deepcopy(org)
        for user in world.users.values():
            self.users[user.id] = replace(user, email=normalise_email(user.email))
        for service in (world.service, world.inactive_service):
            self.services[service.id] = service

    def put_order(self, order: Order) -> Order:
        """Store an order built outside a unit of work (its pending events are dropped)."""
        stored = _state(order)
        self.orders[order.id] = stored
        return copy.deepcopy(stored)

    def order(self, order_id: UUID) -> Order:
        """A copy of the committed order, to assert on."""
        return copy.deepcopy(self.orders[order_id])

    def events_of(self, order_id: UUID) -> list[OrderEvent]:
        """The committed events of one order."""
        return [e for e in self.events if e.order_id == order_id]

    def snapshot(self) -> tuple[object, ...]:
        """Everything committed, to compare before and after a command that must change nothing."""
        return copy.deepcopy(
            (
                self.orders,
                self.comments,
                self.users,
                self.tokens,
                self.programmes,
                self.organisations,
                self.services,
                self.events,
            )
        )


def _state(order: Order) -> Order:
    """A deep copy of the order's state, without its pending events."""
    return copy.deepcopy(replace(order, events=[]))


class FakeOrderRepository:
    """Orders by id over the store, with an identity map and version checks."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self._orders: dict[UUID, Order] = {}  # the objects handed out (identity map)
        self._loaded: dict[UUID, Order] = {}  # their state as loaded or last saved
        self._base: dict[UUID, int | None] = {}  # the committed version each was loaded at (None: new)
        self.staged: dict[UUID, Order] = {}  # saved or added, written on commit

    async def get(self, order_id: UUID) -> Order | None:
        """The order, the same object for the same id in this unit of work."""
        if order_id in self._orders:
            return self._orders[order_id]
        stored = self._uow.store.orders.get(order_id)
        if stored is None:
            return None
        order = copy.deepcopy(stored)
        self._track(order, base=stored.version)
        await asyncio.sleep(0)  # let concurrent units of work interleave here, as they would on I/O
        return order

    async def add(self, order: Order) -> None:
        """Insert a new order."""
        if order.id in self._orders or order.id in self._uow.store.orders:
            raise ValueError(f"order {order.id} already exists")
        self._track(order, base=None)
        self.staged[order.id] = _state(order)

    async def order_id_of_quote(self, quote_id: UUID) -> UUID | None:
        """The id of the order a quote belongs to (committed or in this unit of work), or None."""
        for order in (*self._orders.values(), *self._uow.store.orders.values()):
            if any(q.id == quote_id for q in order.quotes):
                return order.id
        return None

    async def save(self, order: Order) -> None:
        """Stage the order's changes if nobody committed it since it was loaded, else VersionConflict."""
        if self._orders.get(order.id) is not order:
            raise ValueError("save() takes an order this unit of work loaded or added")
        if _state(order) == self._loaded[order.id]:
            return
        self._check_version(order.id)
        self.staged[order.id] = _state(order)
        self._loaded[order.id] = _state(order)
        await asyncio.sleep(0)

    async def next_number(self, programme_id: UUID) -> int:
        """The next order number of the programme (like a sequence: never reused, gaps on rollback)."""
        if programme_id not in self._uow.store.programmes:
            raise NotFound("Programme", field=None)
        number = self._uow.store.order_seq.get(programme_id, 0) + 1
        self._uow.store.order_seq[programme_id] = number
        return number

    def seen(self) -> list[Order]:
        """Every order loaded or added."""
        return list(self._orders.values())

    def unsaved(self) -> list[Order]:
        """Orders changed in memory but not saved."""
        return [o for o in self._orders.values() if _state(o) != self._loaded[o.id]]

    def _check_version(self, order_id: UUID) -> None:
        base = self._base[order_id]
        if base is None:
            return
        current = self._uow.store.orders[order_id].version
        if current != base:
            raise VersionConflict(expected=base, current=current)

    def _track(self, order: Order, *, base: int | None) -> None:
        self._orders[order.id] = order
        self._loaded[order.id] = _state(order)
        self._base[order.id] = base


class FakeCommentRepository:
    """Comments, append-only."""

    def __init__(self) -> None:
        self.staged: list[Comment] = []

    async def add(self, comment: Comment) -> None:
        """Insert a comment with its attachments."""
        self.staged.append(comment)


class FakeDirectory:
    """Programmes, organisations, users, services and tokens; writes are staged until commit."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._store = uow.store
        self.added: list[Programme | Organisation | User | Service | AccessToken] = []
        self.revoked: list[tuple[str, datetime]] = []

    def _staged(self, kind: type[object], key: object, attr: str = "id") -> object | None:
        return next((o for o in self.added if isinstance(o, kind) and getattr(o, attr) == key), None)

    async def programme(self, programme_id: UUID) -> Programme | None:
        """A programme by id."""
        found = self._staged(Programme, programme_id) or self._store.programmes.get(programme_id)
        return copy.deepcopy(found) if isinstance(found, Programme) else None

    async def organisation(self, organisation_id: UUID) -> Organisation | None:
        """An organisation by id."""
        found = self._staged(Organisation, organisation_id) or self._store.organisations.get(organisation_id)
        return copy.deepcopy(found) if isinstance(found, Organisation) else None

    async def user(self, user_id: UUID) -> User | None:
        """A user by id."""
        found = self._staged(User, user_id) or self._store.users.get(user_id)
        return copy.deepcopy(found) if isinstance(found, User) else None

    async def user_by_email(self, email: str) -> User | None:
        """A user by email (normalised)."""
        email = normalise_email(email)
        users = [o for o in self.added if isinstance(o, User)] + list(self._store.users.values())
        found = next((u for u in users if u.email == email), None)
        return copy.deepcopy(found)

    async def token(self, digest: str) -> AccessToken | None:
        """A token by digest."""
        found = self._staged(AccessToken, digest, "digest") or self._store.tokens.get(digest)
        return copy.deepcopy(found) if isinstance(found, AccessToken) else None

    async def token_holder(self, digest: str) -> tuple[AccessToken, User, Organisation] | None:
        """A token with its user and organisation."""
        token = await self.token(digest)
        user = await self.user(token.user_id) if token else None
        org = await self.organisation(user.organisation_id) if user else None
        return (token, user, org) if token and user and org else None

    async def add_programme(self, programme: Programme) -> None:
        """Insert a programme."""
        self.added.append(copy.deepcopy(programme))

    async def add_organisation(self, organisation: Organisation) -> None:
        """Insert an organisation."""
        self.added.append(copy.deepcopy(organisation))

    async def add_user(self, user: User) -> None:
        """Insert a user with its email normalised; Duplicate when the email is taken."""
        if await self.user_by_email(user.email) is not None:
            raise Duplicate("A user with this email already exists.", field="email")
        self.added.append(replace(user, email=normalise_email(user.email)))

    async def add_token(self, token: AccessToken) -> None:
        """Insert a token."""
        self.added.append(copy.deepcopy(token))

    async def revoke_token(self, digest: str, when: datetime) -> bool:
        """Mark a token revoked (an unknown or revoked one is left as it is); True when it was live."""
        found = await self.token(digest)
        if found is None or found.revoked_at is not None or any(d == digest for d, _ in self.revoked):
            return False
        self.revoked.append((digest, when))
        return True

    def apply(self) -> None:
        """Write the staged changes to the store (on commit)."""
        store = self._store
        for item in self.added:
            if isinstance(item, Programme):
                store.programmes[item.id] = item
            elif isinstance(item, Organisation):
                store.organisations[item.id] = item
            elif isinstance(item, User):
                store.users[item.id] = item
            elif isinstance(item, Service):
                store.services[item.id] = item
            else:
                store.tokens[item.digest] = item
        for digest, when in self.revoked:
            token = store.tokens.get(digest)
            if token is not None and token.revoked_at is None:
                token.revoked_at = when


class FakeCatalogue:
    """The programme's services; new ones are staged in the directory's writes until commit."""

    def __init__(self, directory: FakeDirectory) -> None:
        self._directory = directory
        self._store = directory._store
        self.added = directory.added

    def _staged(self, kind: type[object], key: object, attr: str = "id") -> object | None:
        return self._directory._staged(kind, key, attr)

    async def service(self, service_id: UUID) -> Service | None:
        """A flat-fee service by id."""
        found = self._staged(Service, service_id) or self._store.services.get(service_id)
        return found if isinstance(found, Service) else None

    async def add_service(self, service: Service) -> None:
        """Insert a service."""
        self.added.append(service)


class FakeUnitOfWork:
    """domain.common.UnitOfWork in memory; see the module docstring for what it guarantees."""

    # Typed as the ports (protocol attributes are invariant); the fakes are kept privately too.
    orders: OrderRepository
    comments: CommentRepository
    directory: Directory
    catalogue: Catalogue

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.orders = self._orders = FakeOrderRepository(self)
        self.comments = self._comments = FakeCommentRepository()
        self.directory = self._directory = FakeDirectory(self)
        self.catalogue = FakeCatalogue(self._directory)
        self.committed_events: list[OrderEvent] = []
        self._entered = False

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a unit of work is entered once")
        self._entered = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Roll back: nothing was written to the store before commit, so forgetting the staged writes is enough.
        self._orders.staged.clear()
        self._comments.staged.clear()
        self._directory.added.clear()
        self._directory.revoked.clear()

    async def commit(self) -> None:
        """Check versions, then write orders, comments, directory changes and events in one step."""
        if not self._entered:
            raise RuntimeError("use the unit of work as `async with uow:`")
        if self.store.fail_next_commit is not None:
            error, self.store.fail_next_commit = self.store.fail_next_commit, None
            raise error
        unsaved = self._orders.unsaved()
        if unsaved:
            raise RuntimeError(f"orders changed but not saved before commit: {[str(o.id) for o in unsaved]}")
        for order_id in self._orders.staged:
            self._orders._check_version(order_id)  # someone may have committed between our save and now
        events: list[OrderEvent] = []
        for order in self._orders.seen():
            events.extend(order.pull_events())
        for comment in self._comments.staged:
            events.extend(comment.pull_events())
        for order_id, state in self._orders.staged.items():
            self.store.orders[order_id] = state
            self._orders._base[order_id] = state.version
        for comment in self._comments.staged:
            self.store.comments[comment.id] = copy.deepcopy(comment)
        self._directory.apply()
        self.store.events.extend(events)
        self.store.commits += 1
        self.committed_events = events
        self._orders.staged.clear()
        self._comments.staged.clear()
        self._directory.added.clear()
        self._directory.revoked.clear()


class FakeClock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        """Now."""
        return self.current

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move time forward by `delta` (or timedelta(**kwargs)) and return the new now."""
        self.current += delta if delta is not None else timedelta(**kwargs)
        return self.current


class FakePasswordHasher:
    """Not a hash at all: `plain$<password>`. Counts verifications (to check the timing equaliser)."""

    PREFIX = "plain$"

    def __init__(self) -> None:
        self.verifications = 0
        self.hashes = 0

    def hash(self, password: str) -> str:
        """The stored form."""
        self.hashes += 1
        return self.PREFIX + password

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` is the one stored (never for no hash)."""
        self.verifications += 1
        return stored is not None and stored == self.PREFIX + password


class FakeCounters:
    """Counters in a dict, each forgotten when its lifetime has passed on the fake clock (as a store's would)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.counters: dict[str, tuple[int, datetime]] = {}

    async def add(self, key: str, lifetime: timedelta, amount: int = 1) -> int:
        """Add `amount` to `key`; a new counter lives `lifetime` from now."""
        value, expires = self.counters.get(key, (0, self.clock.now() + lifetime))
        if expires <= self.clock.now():
            value, expires = 0, self.clock.now() + lifetime
        self.counters[key] = (value + amount, expires)
        return value + amount

    async def value(self, key: str) -> int:
        """The counter's value, 0 once forgotten."""
        value, expires = self.counters.get(key, (0, self.clock.now()))
        return value if expires > self.clock.now() else 0

    async def remove(self, key: str) -> None:
        """Forget the counter."""
        self.counters.pop(key, None)


class FakeBlobStore:
    """Content-addressed bytes in a dict."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.puts = 0

    async def digest(self, data: bytes) -> str:
        """The SHA-256 of `data`; nothing stored."""
        return hashlib.sha256(data).hexdigest()

    async def put(self, data: bytes) -> str:
        """Store `data` once; its SHA-256."""
        self.puts += 1
        digest = hashlib.sha256(data).hexdigest()
        self.blobs.setdefault(digest, data)
        return digest

    async def get(self, digest: str) -> bytes | None:
        """The bytes with this digest, or None."""
        return self.blobs.get(digest)


class FakeSniffer:
    """Detects whatever type it was told to: per content if listed in `by_content`, else `detected`."""

    def __init__(self, detected: str | None = "application/pdf", by_content: dict[bytes, str | None] | None = None):
        self.detected = detected
        self.by_content = dict(by_content or {})

    def detect(self, data: bytes) -> str | None:
        """The preset type."""
        return self.by_content.get(data, self.detected)


@dataclass
class Fakes:
    """The fakes behind one `Ports`, kept at hand for assertions."""

    store: FakeStore
    clock: FakeClock
    passwords: FakePasswordHasher
    blobs: FakeBlobStore
    sniffer: FakeSniffer
    counters: FakeCounters
    ports: Ports


def make_fakes(store: FakeStore, now: datetime, *, policy: Policy | None = None) -> Fakes:
    """Ports over fresh fakes and `store`."""
    clock, passwords, blobs, sniffer = FakeClock(now), FakePasswordHasher(), FakeBlobStore(), FakeSniffer()
    counters = FakeCounters(clock)
    ports = Ports(
        uow=lambda: FakeUnitOfWork(store),
        clock=clock,
        passwords=passwords,
        blobs=blobs,
        sniffer=sniffer,
        counters=counters,
        policy=policy or Policy(),
    )
    return Fakes(store, clock, passwords, blobs, sniffer, counters, ports)


if TYPE_CHECKING:
    from domain.common import PasswordHasher
    from domain.common.ports import BlobStore, Clock, ContentSniffer, Counters

    _uow: type[UnitOfWork] = FakeUnitOfWork
    _clock: type[Clock] = FakeClock
    _passwords: type[PasswordHasher] = FakePasswordHasher
    _blobs: type[BlobStore] = FakeBlobStore
    _sniffer: type[ContentSniffer] = FakeSniffer
    _counters: type[Counters] = FakeCounters
