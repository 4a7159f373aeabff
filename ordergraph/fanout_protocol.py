"""graphql-transport-ws whose subscriptions are served by the application's FanOut (ordergraph.fanout).

A subscription joins the group of its key and relays the group's shared results, each member re-checking
its own token and quotas; queries and mutations over the WebSocket, and documents that do not parse,
take Strawberry's own path. A connection whose token is revoked or expires is ended at once
(`FanOutHandler.end_access`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, Final

from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import CompleteMessage, ConnectionInitMessage

from domain.identity import Actor
from domain.orders import live_audience
from ordergraph.fanout import FanOut, FellBehind, GroupKey, Member, Shared, ending
from ordergraph.live_quotas import QuotaExceeded
from ordergraph.revocations import watch_access
from schema.common import Context, PublicError
from schema.orders import LIVE_UPDATES_INTERRUPTED


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's ASGI WebSocket adapter that can also send text already serialised."""

    async def send_text(self, text: str) -> None:
        """Send one text frame."""
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


_WAKE: Final = Shared(ending(PublicError("The access token no longer works.", code="UNAUTHENTICATED")), [], False, True)
"""Queued to a member to wake its task, which then re-checks its connection (and finds its access ended)."""


class FanOutHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with subscriptions served by the view's FanOut (its `fan_out` attribute).

    An acknowledged connection's token is watched by the view's `watch_access` (revocations.AccessWatch).
    """

    _vetted: Actor | None = None
    _vetted_audience: Actor | None = None
    _stop_watching: Callable[[], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._members: dict[str, Member] = {}  # this connection's live subscriptions, by operation id

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Strawberry's connection_init; once acknowledged, the connection's token is watched."""
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._stop_watching is None:
            self._stop_watching = watch_access(self.view, self.context, self.end_access)

    async def shutdown(self) -> None:
        """Stop watching the token, then Strawberry's shutdown."""
        stop, self._stop_watching = self._stop_watching, None
        if stop is not None:
            stop()
        await super().shutdown()

    def end_access(self, message: str) -> None:
        """The token was revoked or expired: each subscription ends with a last `next` carrying UNAUTHENTICATED.

        Sent by its own task after the result in hand, then `complete`; every later operation is refused
        with UNAUTHENTICATED. The socket stays open (a graphql-ws client closes it once nothing is live).
        """
        self.context.end_access(message)
        for member in list(self._members.values()):
            member.offer(_WAKE)

    @property
    def fan_out(self) -> FanOut:
        """The application's fan-out."""
        fan_out = getattr(self.view, "fan_out", None)
        assert isinstance(fan_out, FanOut), "the view serving FanOutHandler needs a fan_out"
        return fan_out

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """A subscription joins its group; any other operation runs as Strawberry runs it."""
        context = self.context
        key = self.fan_out.key(operation.query, operation.variables, operation.operation_name, context.actor)
        if key is None:
            await super().run_operation(operation)
            return
        assert context.actor is not None  # a key is only made for an actor
        try:
            admitted = self.fan_out.quotas.subscription(context.actor)
        except QuotaExceeded as refusal:
            await operation.send_initial_errors([PublicError(refusal.message, code=refusal.code)])
            return
        direct = _DirectSend(self, operation)
        try:
            with admitted, self.fan_out.join(key, operation.variables, direct) as member, self._live(operation, member):
                if not await self._relay(operation, key, member, direct):
                    return
            await operation.send_operation_message(CompleteMessage(id=operation.id, type="complete"))
        except WebSocketDisconnected:
            return
        except Exception as error:  # as Strawberry's own run_operation: logged, and the operation completes
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message(CompleteMessage(id=operation.id, type="complete"))
            self.operations.pop(operation.id, None)
            raise

    @contextlib.contextmanager
    def _live(self, operation: Operation[Context, None], member: Member) -> Iterator[None]:
        self._members[operation.id] = member  # for end_access to reach it
        if self.context.actor is None:  # the access ended after the subscription was keyed
            member.offer(_WAKE)
        try:
            yield
        finally:
            if self._members.get(operation.id) is member:
                del self._members[operation.id]

    async def _relay(
        self, operation: Operation[Context, None], key: GroupKey, member: Member, direct: _DirectSend
    ) -> bool:
        """Send the member's results until the group ends (True) or the operation was refused (False)."""
        try:
            async for shared in member:
                if shared.initial:
                    await operation.send_initial_errors(shared.errors)
                    return False
                direct.entitled = None
                refusal = await self._refusal(key)
                if refusal is not None:
                    await self._send_next(operation, ending(refusal))
                    break
                direct.entitled = self.context.actor  # the group may send directly while this actor stands
                await self._send_next(operation, shared.payload)
        except FellBehind as exc:
            error = PublicError(
                f"Live updates were interrupted ({exc}); subscribe again and refetch what you show.",
                code=LIVE_UPDATES_INTERRUPTED,
            )
            await self._send_next(operation, ending(error))
        return True

    async def _refusal(self, key: GroupKey) -> PublicError | None:
        """Why this connection may no longer receive the group's results (its token re-checked when due)."""
        context = self.context
        await context.recheck()
        actor = context.actor
        if actor is None:
            return PublicError(context.auth_error or "The access token is no longer valid.", code="UNAUTHENTICATED")
        if actor is not self._vetted:  # a new actor only comes with a new check of the token
            self._vetted, self._vetted_audience = actor, live_audience(actor)
        if key.audience != self._vetted_audience and key.audience != actor:
            return PublicError(
                "Your access has changed; subscribe again and refetch what you show.", code=LIVE_UPDATES_INTERRUPTED
            )
        return None

    async def _send_next(self, operation: Operation[Context, None], payload: str) -> None:
        if operation.completed:
            return
        websocket = self.websocket
        assert isinstance(websocket, TextWebSocketAdapter)
        await websocket.send_text(f'{{"id":{json.dumps(operation.id)},"type":"next","payload":{payload}}}')


class _DirectSend:
    """The group's way to one operation's socket (see Member): only while nothing needs checking first."""

    __slots__ = ("entitled", "handler", "operation")

    def __init__(self, handler: FanOutHandler, operation: Operation[Context, None]) -> None:
        self.handler = handler
        self.operation = operation
        self.entitled: Actor | None = None
        """The actor last found entitled to the group's results by the operation's own task."""

    def ready(self) -> bool:
        """The operation is live, its connection's actor is the one found entitled, no token check is due."""
        handler, operation = self.handler, self.operation
        context = handler.context
        return (
            self.entitled is not None
            and context.actor is self.entitled
            and not operation.completed
            and handler.operations.get(operation.id) is operation  # not completed by the client
            and not context.recheck_due()
        )

    async def send(self, payload: str) -> None:
        """Send one result."""
        await self.handler._send_next(self.operation, payload)
