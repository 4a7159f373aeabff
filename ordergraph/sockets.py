"""The WebSocket side of the GraphQL app: closing with our reasons, and the legacy graphql-ws protocol."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Final

from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from ordergraph.fanout_protocol import TextWebSocketAdapter
from ordergraph.revocations import watch_access
from schema.common import Context

REFUSAL: Final = "ordergraph.ws_refusal"
"""ASGI scope key: why connection_init was refused, for the close frame."""


class SocketAdapter(TextWebSocketAdapter):
    """Strawberry's WebSocket adapter; a refused connection_init closes with our reason, not just 'Forbidden'."""

    async def close(self, code: int, reason: str) -> None:
        if code == 4403 and REFUSAL in self.ws.scope:
            reason = str(self.ws.scope[REFUSAL])
        await super().close(code, reason)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol, which, like graphql-transport-ws, closes a socket that never initialises.

    Strawberry's handler leaves a socket without connection_init open for ever (and so a process's
    sockets can be exhausted by clients that connect and say nothing); after the view's
    connection_init_wait_timeout it is closed with 4408, as graphql-transport-ws does.

    A connection whose token is revoked or expires is closed at once with 4403 (the reason says why):
    its subscriptions run on copies of the connection's context, which nothing else would reach.
    """

    _stop_watching: Callable[[], None] | None = None
    _closing: asyncio.Task[None] | None = None

    async def handle(self) -> None:
        watchdog = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            stop, self._stop_watching = self._stop_watching, None
            if stop is not None:
                stop()

    async def handle_connection_init(self, message: Any) -> None:
        """Strawberry's connection_init; once acknowledged, the connection's token is watched."""
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._stop_watching is None:
            self._stop_watching = watch_access(self.view, self.context, self.end_access)

    def end_access(self, message: str) -> None:
        """The token was revoked or expired: refuse what follows, and close the socket with 4403."""
        self.context.end_access(message)
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(close_reason(f"Forbidden: {message}")))

    async def _close(self, reason: str) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=4403, reason=reason)

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self.connection_acknowledged:
            with contextlib.suppress(Exception):  # the client may be gone already
                await self.websocket.close(code=4408, reason="Connection initialisation timeout")


def close_reason(text: str) -> str:
    """`text` cut to what a close frame's reason may hold: at most 123 bytes of UTF-8."""
    return text.encode()[:123].decode(errors="ignore")
