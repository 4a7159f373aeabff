"""Live fan-out: every event is prepared once per group of like subscriptions and sent to each of them.

A subscription over graphql-transport-ws joins the group of its key: the same document, operation
and variables, read by the same audience (`domain.orders.live_audience`: the organisation, its
kind and programme, as nobody in particular with the least role; the user itself when the document
selects a PERSONAL field). The group runs the subscription once, through the schema like any other, as its
audience: one bus subscription, one re-read and one execution per event, serialised once. Each
member gets the same text with its own operation id.

Each member keeps what is its own: a bounded queue (a slow connection is ended, the others go on),
the re-check of its token (revoked: the subscription ends with UNAUTHENTICATED; access changed: it
ends and asks to subscribe again), and the protocol state of its operation. Queries and mutations
over the WebSocket, and documents that do not parse, take Strawberry's own path.
The protocol side (a connection's operations, its token, its quotas) is ordergraph.fanout_protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import strawberry
from graphql import GraphQLError, OperationType, parse
from graphql.utilities import get_operation_ast
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType as StrawberryOperationType
from strawberry.utils.aio import aclosing

from domain.identity import Actor
from domain.orders import live_audience
from ordergraph.live_quotas import LiveQuotas, QuotaLimits
from schema.common import Context, PublicError
from schema.orders import selects_personal_fields

log = logging.getLogger("ordergraph.fanout")

_COMPACT: Final = (",", ":")
_CLOSE_GRACE: Final = 2.0
"""Seconds a group may take at shutdown to finish the event in hand."""
_BLOCKED: Final = 0.005
"""Seconds the group's task waits on one member's send before leaving it to the member's own task."""
_MASKED: Final = PublicError("Unexpected error; it has been logged.", code="INTERNAL_SERVER_ERROR")


@dataclass(frozen=True, slots=True)
class GroupKey:
    """What makes two subscriptions receive the same messages."""

    audience: Actor
    query: str
    operation_name: str | None
    variables: str
    """The variables as canonical JSON."""


@dataclass(frozen=True, slots=True)
class Shared:
    """One result of a group's stream, serialised once for all its members."""

    payload: str
    """The `next` message's payload as JSON text."""
    errors: list[GraphQLError]
    initial: bool
    """A pre-execution error (validation, or refused at subscribe time): sent as `error`, nothing follows."""
    final: bool
    """No data, only errors: the stream ends after it."""

    @classmethod
    def of(cls, result: ExecutionResult) -> Shared:
        """The shareable form of one streamed result."""
        errors = list(result.errors or [])
        payload: dict[str, Any] = {"data": result.data}
        if errors:
            payload["errors"] = [error.formatted for error in errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        initial = isinstance(result, PreExecutionError)
        text = json.dumps(payload, separators=_COMPACT)
        return cls(text, errors, initial, initial or (result.data is None and bool(errors)))


def ending(error: GraphQLError) -> str:
    """The payload of a `next` message that ends a subscription with `error`."""
    return json.dumps({"data": None, "errors": [error.formatted]}, separators=_COMPACT)


class FellBehind(Exception):
    """More results waited for a member than its queue holds."""


class Direct(Protocol):
    """How the group's task may send to a member itself, sparing the member's task a wake-up."""

    def ready(self) -> bool:
        """True when a result may go out now without anything the member's own task must do first."""
        ...

    async def send(self, payload: str) -> None:
        """Send one result's payload to the member's socket."""
        ...


class Member:
    """One subscription in a group: its own bounded queue of shared results, drained by its own task.

    While the member is idle (nothing queued, nothing in its task's hands, nothing to check first),
    the group's task sends to it directly: waking a thousand tasks costs as much again as the sends.
    A send that would wait (the client does not read: the server's write buffer is full) is given up
    within _BLOCKED and the result queued instead, so one slow client never holds up the others.
    """

    def __init__(self, limit: int, direct: Direct | None = None) -> None:
        self._limit = limit
        self._direct = direct
        self._items: deque[Shared] = deque()
        self._ready = asyncio.Event()
        self._ended = False
        self._behind = False
        self._busy = False  # its task holds a result it has not finished sending

    async def deliver(self, shared: Shared) -> None:
        """Send `shared` now when the member is idle; queue it for the member's task otherwise."""
        direct = self._direct
        if (
            direct is None
            or shared.initial
            or self._items
            or self._busy
            or self._behind
            or self._ended
            or not direct.ready()
        ):
            self.offer(shared)
            return
        try:
            async with asyncio.timeout(_BLOCKED):
                await direct.send(shared.payload)
        except TimeoutError:
            # uvicorn suspends a send only before writing anything (waiting for its buffer to drain):
            # nothing went out, so the member's task sends it, in order, once the client reads again.
            self.offer(shared)
        except Exception as exc:  # the connection is gone or closing: its handler ends the operation
            log.debug("live result not sent directly, member ended: %r", exc)
            self.end()

    def offer(self, shared: Shared) -> None:
        """Queue `shared`; past the limit, the member is behind and will end with an error."""
        if self._behind or self._ended:
            return
        if len(self._items) >= self._limit:
            self._behind = True
            self._items.clear()
        else:
            self._items.append(shared)
        self._ready.set()

    def end(self) -> None:
        """No more results: iteration stops once the queue is drained."""
        self._ended = True
        self._ready.set()

    def __aiter__(self) -> Member:
        return self

    async def __anext__(self) -> Shared:
        self._busy = False  # asking for the next one: the previous one is sent
        while True:
            if self._behind:
                raise FellBehind(f"more than {self._limit} live events waiting")
            if self._items:
                self._busy = True
                return self._items.popleft()
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()


@dataclass(eq=False)
class _Group:
    key: GroupKey
    variables: dict[str, Any] | None
    context: Context
    members: set[Member] = field(default_factory=set)
    closed: bool = False
    task: asyncio.Task[None] | None = None

    async def deliver(self, shared: Shared) -> None:
        for member in list(self.members):  # a send that waits lets members come and go
            await member.deliver(shared)


class FanOut:
    """The live subscriptions of one process, grouped; built per application, shared by its connections."""

    def __init__(
        self,
        schema: strawberry.Schema,
        context_for: Callable[[Actor], Context],
        *,
        queue_size: int,
        max_tokens: int,
        quotas: LiveQuotas | None = None,
    ) -> None:
        self.quotas = quotas or LiveQuotas(QuotaLimits())
        """What each user and organisation may hold open (their subscriptions counted by fanout_protocol)."""
        self._schema = schema
        self._context_for = context_for
        self._queue_size = queue_size
        self._max_tokens = max_tokens
        self._groups: dict[GroupKey, _Group] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._plans = functools.lru_cache(maxsize=256)(self._plan)

    @property
    def groups(self) -> int:
        """How many groups are running."""
        return len(self._groups)

    @property
    def tasks(self) -> tuple[asyncio.Task[None], ...]:
        """The groups' tasks, running or finishing."""
        return tuple(self._tasks)

    @property
    def members(self) -> int:
        """How many subscriptions the groups serve."""
        return sum(len(group.members) for group in self._groups.values())

    def key(
        self, query: str, variables: dict[str, Any] | None, operation_name: str | None, actor: Actor | None
    ) -> GroupKey | None:
        """The group of a subscription by `actor`; None for anything else (it takes Strawberry's own path)."""
        if actor is None or not isinstance(query, str):
            return None
        personal = self._plans(query, operation_name)
        if personal is None:
            return None
        try:
            canonical = json.dumps(variables or {}, sort_keys=True, separators=_COMPACT)
        except (TypeError, ValueError):
            return None
        return GroupKey(actor if personal else live_audience(actor), query, operation_name, canonical)

    def _plan(self, query: str, operation_name: str | None) -> bool | None:
        """For a subscription: whether it selects personal fields; None when it is not one (or not valid)."""
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
            return None
        return selects_personal_fields(self._schema._schema, document)

    @contextlib.contextmanager
    def join(self, key: GroupKey, variables: dict[str, Any] | None, direct: Direct | None = None) -> Iterator[Member]:
        """Membership of the group of `key` (started if none runs), for the duration of the context."""
        group = self._groups.get(key)
        if group is None or group.closed:
            group = self._groups[key] = _Group(key, variables, self._context_for(key.audience))
            group.task = self._spawn(self._run(group))
        member = Member(self._queue_size, direct)
        group.members.add(member)
        try:
            yield member
        finally:
            group.members.discard(member)
            if not group.members and not group.closed:
                self._retire(group)
                self._stop(group)

    async def close(self) -> None:
        """End every group (application shutdown): between events, or cancelled after a grace period."""
        for group in list(self._groups.values()):
            self._retire(group)
            self._stop(group)
        tasks = list(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=_CLOSE_GRACE)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, group: _Group) -> None:
        key = group.key
        try:
            stream = await self._schema.stream(
                key.query,
                variable_values=group.variables,
                context_value=group.context,
                operation_name=key.operation_name,
                allowed_operation_types=(StrawberryOperationType.SUBSCRIPTION,),
            )
            async with aclosing(stream):
                async for result in stream:
                    if not isinstance(result, ExecutionResult):  # @defer/@stream frames: not over this protocol
                        _offer(group, Shared.of(ExecutionResult(data=None, errors=[_UNSUPPORTED])))
                        break
                    shared = Shared.of(result)
                    if shared.final:
                        self._retire(group)  # a subscription that joins from now on starts afresh
                    await group.deliver(shared)
                    if group.context.stop_live:  # the last member left while the event was read
                        break
        except Exception:  # a bug: every member ends with the masked error, the process goes on
            log.exception("live group %s failed", key.operation_name or "(anonymous)")
            _offer(group, Shared.of(ExecutionResult(data=None, errors=[_MASKED])))
        finally:
            self._retire(group)
            for member in group.members:
                member.end()

    @staticmethod
    def _stop(group: _Group) -> None:
        """End the group's stream: now if it waits for a hint, else once the event in hand is delivered."""
        group.context.stop_live = True
        if group.context.awaiting_hint and group.task is not None:
            group.task.cancel()  # its stream closes: the bus subscriptions end

    def _retire(self, group: _Group) -> None:
        group.closed = True
        if self._groups.get(group.key) is group:
            del self._groups[group.key]


def _offer(group: _Group, shared: Shared) -> None:
    for member in group.members:
        member.offer(shared)


_UNSUPPORTED: Final = PublicError(
    "Incremental delivery is not supported over graphql-transport-ws", code="GRAPHQL_VALIDATION_FAILED"
)
