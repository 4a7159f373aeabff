"""The per-request (per-connection, for WebSockets) context the resolvers see."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from strawberry.extensions import SchemaExtension

from domain.common import EventBus, Ports, Unauthenticated
from domain.identity import Actor, IdentityQueries, IdentityUnitOfWork
from domain.notifications import NotificationQueries, NotificationsUnitOfWork
from domain.orders import OrderQueries, Viewer, viewer_for

if TYPE_CHECKING:
    from schema.common.loaders import AnyLoader

L = TypeVar("L", bound="AnyLoader")


class AppUnitOfWork(NotificationsUnitOfWork, IdentityUnitOfWork, Protocol):
    """The unit of work the API opens: every context's repositories in one transaction."""


class AppQueries(OrderQueries, NotificationQueries, IdentityQueries, Protocol):
    """The read side the API serves: every context's queries."""


AppPorts = Ports[AppUnitOfWork]
"""The ports of the API: services of every context take these."""

_SPREAD = 0.2
"""Re-checks fall due between 80% and 100% of `reauthenticate_every` after the previous one."""


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """What subscriptions need: the bus, each subscriber's queue bound, re-authentication, turns to read."""

    bus: EventBus
    authenticate: Callable[[str | None], Awaitable[tuple[Actor | None, str | None]]]
    queue_size: int = 256
    reauthenticate_every: float = 60.0
    """Seconds after which a WebSocket connection checks its token again (revoked or expired: it ends).

    The fallback: a revocation ends the token's connections at once (ordergraph.revocations) and an
    expiry at its time, but a revocation the event bus could not carry is caught only by this check.
    """
    readings: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    """How many live events are read and prepared at once in the process (ORDERGRAPH_LIVE_READINGS);
    the others wait their turn, in order, holding no database connection meanwhile."""


@dataclass
class Context:
    """Who is calling and the ports to serve them; built fresh for every request.

    Over a WebSocket one context serves the whole connection (Strawberry builds it once): the actor
    comes from `connection_init`, and `recheck` runs before every operation (FreshOperation) and every
    subscription event, so that no cache outlives what it was filled for and a revoked token stops
    working on an open connection too. Each operation on the connection then runs in its own copy
    (`for_operation`), so that what one operation does to its context (a sign-in, its loaders) stays
    in that operation.
    """

    ports: AppPorts
    queries: AppQueries
    actor: Actor | None = None
    token: str | None = None
    request: Any = None
    response: Any = None
    auth_error: str | None = None
    live: LiveOptions | None = None
    connection_params: dict[str, Any] | None = None
    """The `connection_init` payload of a WebSocket connection (set by Strawberry)."""
    authenticated_at: float = 0.0
    """When the actor was last checked against its token (time.monotonic), for live re-checks."""
    token_expires_at: datetime | None = None
    """When the token of a WebSocket connection expires (its connection ends then)."""
    awaiting_hint: bool = False
    """A live subscription on this context is waiting for its next hint, or for its turn to read one
    (`live_reading`): nothing of an event in hand, so it may be cancelled."""
    stop_live: bool = False
    """Set to end this context's live subscriptions the next time they would wait for a hint."""
    per_connection: bool = False
    """True for the context of a WebSocket connection: its operations each run in a copy (`for_operation`)."""
    _loaders: dict[type[Any], Any] = field(default_factory=dict, repr=False)

    def require_actor(self) -> Actor:
        """The authenticated actor, or the UNAUTHENTICATED error."""
        if self.actor is None:
            raise Unauthenticated(
                self.auth_error
                or "Authentication required: send 'Authorization: Bearer <token>' (get one with tokenCreate)."
            )
        return self.actor

    @property
    def viewer(self) -> Viewer:
        """The read-side scopes of the authenticated actor."""
        return viewer_for(self.require_actor())

    def loader(self, kind: type[L]) -> L:
        """The request's instance of a loader class (see `schema.common.loaders`), created on first use."""
        found = self._loaders.get(kind)
        if found is None:
            found = self._loaders[kind] = kind(self)
        return found

    def sign_in(self, actor: Actor, token: str) -> None:
        """Act as `actor`, just signed in with `token`, for the rest of this operation, with fresh loaders."""
        self.actor, self.token, self.auth_error = actor, token, None
        self.mark_authenticated()
        self._loaders.clear()

    def end_access(self, message: str) -> None:
        """The token stopped working (revoked, expired): from now on every operation is refused with `message`.

        No re-check brings it back, not even one under way (see `recheck`).
        """
        self.actor, self.token, self.auth_error = None, None, message
        self._loaders.clear()

    def for_operation(self) -> Context:
        """A copy of this connection's context for one of its operations: the same caller, loaders of its own."""
        return dataclasses.replace(self, per_connection=False, _loaders={})

    def renew_loaders(self) -> None:
        """Drop the DataLoaders (and their caches); the next use builds fresh ones for the current actor."""
        self._loaders.clear()

    async def recheck(self) -> None:
        """Fresh DataLoaders, and the token checked again when its last check is older than allowed.

        A context without a token (a live audience's) has nothing to check again.
        """
        self._loaders.clear()
        live = self.live
        if live is None or not self.recheck_due():
            return
        token = self.token
        actor, error = await live.authenticate(token)
        if self.token is token:  # else the access ended while the token was checked: it stays ended
            self.actor, self.auth_error = actor, error
            self.mark_authenticated()

    @contextlib.asynccontextmanager
    async def live_reading(self) -> AsyncIterator[None]:
        """One of the process's turns to read for a live subscription, waited for while `awaiting_hint`."""
        live = self.live
        if live is None:
            yield
            return
        self.awaiting_hint = True
        try:
            await live.readings.acquire()
        finally:
            self.awaiting_hint = False
        try:
            yield
        finally:
            live.readings.release()

    def recheck_due(self) -> bool:
        """True when the next `recheck` would check the token again."""
        live = self.live
        return (
            live is not None
            and self.actor is not None
            and self.token is not None
            and time.monotonic() - self.authenticated_at >= live.reauthenticate_every
        )

    def mark_authenticated(self) -> None:
        """Record a check of the token now; spread, so that connections opened together check again apart."""
        every = self.live.reauthenticate_every if self.live is not None else 0.0
        self.authenticated_at = time.monotonic() - random.uniform(0.0, _SPREAD) * every  # noqa: S311 (not a secret)


class FreshOperation(SchemaExtension):
    """Every operation starts with `Context.recheck`; on a WebSocket connection, in a copy of its context."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.recheck()
            if context.per_connection:
                self.execution_context.context = context.for_operation()
        yield
