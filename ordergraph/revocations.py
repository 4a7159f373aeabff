"""Revoked and expired tokens end their WebSocket connections at once, in every API process.

Each process keeps its open connections by token digest (`Revocations.watch`, from connection_init
until the socket closes) with a timer at the token's expiry. After a commit that revoked tokens (the
unit of work's `after_revocation` hook), the connections of this process are ended at once and
the digests are published on the event bus's revocation channel; every process listens on it and
ends its own. Only digests (the stored SHA-256 of a token) travel on the bus, never a token.

The bus is best effort: a revocation published while it is down (or missed while a process was
reconnecting) still takes effect at that connection's next periodic re-check of its token
(`schema.common.LiveOptions.reauthenticate_every`), as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from domain.common import Clock, EventBus, LiveUpdatesInterrupted
from domain.identity import TokenRevoked, token_digest
from schema.common import Context

log = logging.getLogger("ordergraph.revocations")

CHANNEL: Final = "identity:revocations"
"""The event bus channel of revoked tokens: `{"digests": [<sha-256 hex>, ...]}`."""
REVOKED: Final = "The access token was revoked; create a new one with tokenCreate."
EXPIRED: Final = "The access token has expired; create a new one with tokenCreate."
_RESUBSCRIBE: Final = 0.25
"""Seconds between attempts to listen again while the bus is down (each fails fast until it is back)."""
_MAX_DIGESTS: Final = 10_000
"""Digests read from one message at most (a message from the bus is validated like any input)."""

End = Callable[[str], None]
"""How one connection is ended: called with the message its refusals carry (UNAUTHENTICATED)."""


class AccessWatch(Protocol):
    """A WebSocket view's `watch_access`: calls `end` when the connection's token is revoked or expires."""

    def __call__(self, context: Context, end: End) -> Callable[[], None]:
        """Start watching `context`'s token; the returned function stops."""
        ...


def watch_access(view: object, context: Context, end: End) -> Callable[[], None] | None:
    """Watch an acknowledged connection's token with `view.watch_access` (None: the view watches nothing)."""
    watch: AccessWatch | None = getattr(view, "watch_access", None)
    return None if watch is None else watch(context, end)


class Revocations:
    """The WebSocket connections of one process by token digest, and the revocation channel of the bus."""

    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self._connections: dict[str, set[End]] = {}
        self.enabled = False
        """Publish on the bus (set by the lifespan once the bus is connected, as for order hints)."""

    @property
    def connections(self) -> int:
        """How many connections are watched."""
        return sum(len(ends) for ends in self._connections.values())

    def watch(self, token: str, expires_at: datetime | None, end: End) -> Callable[[], None]:
        """Call `end` when `token` is revoked (anywhere) or expires; the returned function stops watching."""
        digest = token_digest(token)
        ends = self._connections.setdefault(digest, set())
        ends.add(end)
        timer: asyncio.TimerHandle | None = None
        if expires_at is not None:
            delay = max(0.0, (expires_at - self._clock.now()).total_seconds())
            timer = asyncio.get_running_loop().call_later(delay, end, EXPIRED)

        def stop() -> None:
            if timer is not None:
                timer.cancel()
            ends.discard(end)
            if not ends and self._connections.get(digest) is ends:
                del self._connections[digest]

        return stop

    def end(self, digests: Sequence[str], message: str = REVOKED) -> int:
        """End this process's connections of the tokens with these digests; how many there were."""
        ended = 0
        for digest in digests:
            for end in list(self._connections.pop(digest, ())):
                ended += 1
                try:
                    end(message)
                except Exception:  # one connection's failure must not spare the others
                    log.exception("ending a connection of a revoked token failed")
        if ended:
            log.info("ended %d connection(s) of %d revoked token(s)", ended, len(digests))
        return ended

    async def after_revocation(self, revoked: Sequence[TokenRevoked]) -> None:
        """The unit of work's hook after a commit that revoked tokens: end them here, then tell every process."""
        digests = sorted({event.digest for event in revoked})
        self.end(digests)
        if self.enabled:  # publish never raises for the bus's sake: down, it drops and logs
            await self._bus.publish(CHANNEL, {"digests": digests})

    async def listen(self) -> None:
        """Until cancelled: end this process's connections of every token revoked in any process."""
        while True:
            try:
                async with self._bus.subscribe(CHANNEL) as messages:
                    async for message in messages:
                        self.end(_digests(message))
            except LiveUpdatesInterrupted as exc:  # the bus is down: the periodic re-check covers meanwhile
                log.debug("revocation channel interrupted (%s); listening again", exc)
            except Exception:  # a bug: logged, and the process goes on listening
                log.exception("revocation listener failed; listening again")
            await asyncio.sleep(_RESUBSCRIBE)


def _digests(message: dict[str, Any]) -> list[str]:
    digests = message.get("digests")
    if not isinstance(digests, list):
        log.warning("skipped a malformed revocation message: %.200r", message)
        return []
    return [digest for digest in digests[:_MAX_DIGESTS] if isinstance(digest, str)]
