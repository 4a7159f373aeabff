"""Live updates: the hint format, each subscriber's feed of hints, and the subscription payloads.

After a commit, the composition root publishes a small `Hint` (ids and a kind, never data) on the
channels of the organisations that may see the event (`domain.orders.event_channels`). A
subscriber listens on its own channels (`subscriber_channels`) and, for every hint, re-reads the
order and the event as itself, with fresh DataLoaders: the message is a hint, the database is the
truth. What the subscriber may not see is skipped silently, so not even the time of an internal
change reaches the other side.

One thing is said of an order a subscriber may no longer see, and only when it asked for it
(`orderUpdated(leftView: true)`): that the order left its view, with the event that took it away
(a LEFT_VIEW update: the order's ID and the time, nothing else; `domain.orders.left_view`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from graphql import BREAK, DocumentNode, GraphQLError, GraphQLSchema, TypeInfo, TypeInfoVisitor, Visitor, visit
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from domain.common import EventBus, LiveUpdatesInterrupted, NotFound
from domain.identity import Actor
from domain.orders import VIEW_CHANGES, EventKind, OrderEvent, subscriber_channels
from schema.common import Context, LiveOptions, PublicError, PublicErrors, to_global_id
from schema.identity import User
from schema.orders.build import build_comments, build_orders, selected_names
from schema.orders.loaders import ActivityEntryById, CommentsByOrder, LeftViewByEvent, OrderById, QuotesByOrder
from schema.orders.types import ActivityEntry, Comment, Order, Quote

log = logging.getLogger("ordergraph.live")

LIVE_UPDATES_INTERRUPTED = "LIVE_UPDATES_INTERRUPTED"
DEFINITION_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


# ---- the hint ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hint:
    """What a published message says: which event happened to which order (JSON on the wire)."""

    order_id: UUID
    event_id: UUID
    kind: EventKind
    subject_id: UUID | None
    actor_user_id: UUID | None
    occurred_at: datetime

    @classmethod
    def of(cls, event: OrderEvent) -> Hint:
        """The hint of a committed event."""
        return cls(event.order_id, event.id, event.kind, event.subject_id, event.actor_user_id, event.occurred_at)

    def to_message(self) -> dict[str, Any]:
        """The JSON-ready message published on the bus."""
        return {
            "order_id": str(self.order_id),
            "event_id": str(self.event_id),
            "kind": self.kind.value,
            "subject_id": None if self.subject_id is None else str(self.subject_id),
            "actor_user_id": None if self.actor_user_id is None else str(self.actor_user_id),
            "occurred_at": self.occurred_at.isoformat(),
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Hint | None:
        """The hint in a received message, or None (logged) when it is not one."""
        try:
            subject, actor = message.get("subject_id"), message.get("actor_user_id")
            return cls(
                order_id=UUID(message["order_id"]),
                event_id=UUID(message["event_id"]),
                kind=EventKind(message["kind"]),
                subject_id=None if subject is None else UUID(subject),
                actor_user_id=None if actor is None else UUID(actor),
                occurred_at=datetime.fromisoformat(message["occurred_at"]),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed live-update message: %.200r", message)
            return None


# ---- a subscriber's feed ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def hint_feed(bus: EventBus, channels: frozenset[str], queue_size: int) -> AsyncIterator[AsyncIterator[Hint]]:
    """The hints published on any of `channels`, once each, for the duration of the context.

    Iterating raises LiveUpdatesInterrupted when the bus is lost or ends, or when more than
    `queue_size` hints wait unread (the bus bounds each channel's queue the same way).
    """
    async with contextlib.AsyncExitStack() as stack:
        subscriptions = [await stack.enter_async_context(bus.subscribe(channel)) for channel in sorted(channels)]
        if len(subscriptions) == 1:
            yield _decoded(subscriptions[0])
            return
        # Several channels: one pump per channel into a queue we bound ourselves, so that a slow
        # consumer is detected here as it would be on a single channel.
        queue: asyncio.Queue[Mapping[str, Any] | LiveUpdatesInterrupted] = asyncio.Queue()

        async def pump(messages: AsyncIterator[Mapping[str, Any]]) -> None:
            try:
                async for message in messages:
                    if queue.qsize() >= queue_size:
                        queue.put_nowait(LiveUpdatesInterrupted(f"more than {queue_size} live events waiting"))
                        return
                    queue.put_nowait(message)
                queue.put_nowait(LiveUpdatesInterrupted("the live-update stream ended"))
            except LiveUpdatesInterrupted as exc:
                queue.put_nowait(exc)

        tasks = [asyncio.create_task(pump(messages)) for messages in subscriptions]
        try:
            yield _decoded(_merged(queue))
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _merged(queue: asyncio.Queue[Mapping[str, Any] | LiveUpdatesInterrupted]) -> AsyncIterator[Mapping[str, Any]]:
    recent: deque[object] = deque(maxlen=64)  # an event published on two of our channels arrives twice
    while True:
        item = await queue.get()
        if isinstance(item, LiveUpdatesInterrupted):
            raise item
        event_id = item.get("event_id")
        if event_id in recent:
            continue
        recent.append(event_id)
        yield item


async def _marked(context: Context, hints: AsyncIterator[Hint]) -> AsyncIterator[Hint]:
    """`hints`, each read in one of the process's live turns; ends instead of waiting once asked to stop.

    The context is marked while it waits for a hint and then for its turn (`Context.live_reading`), so
    the owner of the context (ordergraph.fanout) can end a subscription between events rather than
    cancel it half-way through one, which would leave graphql-core's coroutines for the event unawaited.
    The turn is held until the next hint is asked for: through the reading of the event, the execution
    of the subscriber's selection and its delivery.
    """
    while not context.stop_live:
        context.awaiting_hint = True
        try:
            hint = await anext(hints)
        except StopAsyncIteration:
            return
        finally:
            context.awaiting_hint = False
        async with context.live_reading():
            if context.stop_live:  # the last subscriber left while this one waited its turn
                return
            yield hint


async def _decoded(messages: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[Hint]:
    async for message in messages:
        hint = Hint.from_message(message)
        if hint is not None:
            yield hint
    raise LiveUpdatesInterrupted("the live-update stream ended")


# ---- payload types ---------------------------------------------------------------------------


class OrderChange(Enum):
    """What kind of change an order update is."""

    CREATED = "CREATED"
    STATUS = "STATUS"
    FIELDS = "FIELDS"
    ASSIGNMENT = "ASSIGNMENT"
    QUOTE = "QUOTE"
    COMMENT = "COMMENT"
    OTHER = "OTHER"
    LEFT_VIEW = "LEFT_VIEW"


strawberry.enum(
    OrderChange,
    description=(
        "What changed: CREATED, STATUS, FIELDS (edited fields), ASSIGNMENT, QUOTE (submitted, declined, "
        "accepted or rejected), COMMENT, or OTHER (see the activity entry's kind). LEFT_VIEW (only with "
        "orderUpdated(leftView: true)): the order left what you may see (e.g. another provider's quote was "
        "accepted on a request you could quote on, or the request was cancelled); only orderId and occurredAt "
        "are set."
    ),
)

CHANGE_OF_EVENT: dict[EventKind, OrderChange] = {
    EventKind.ORDER_CREATED: OrderChange.CREATED,
    EventKind.STATUS_CHANGED: OrderChange.STATUS,
    EventKind.FIELDS_UPDATED: OrderChange.FIELDS,
    EventKind.ASSIGNED: OrderChange.ASSIGNMENT,
    EventKind.QUOTE_SUBMITTED: OrderChange.QUOTE,
    EventKind.QUOTE_DECLINED: OrderChange.QUOTE,
    EventKind.QUOTE_ACCEPTED: OrderChange.QUOTE,
    EventKind.QUOTE_REJECTED: OrderChange.QUOTE,
    EventKind.COMMENT_ADDED: OrderChange.COMMENT,
}
"""Event kinds not listed here (added later) are OTHER changes."""


@strawberry.type(description="A change to an order you may see, delivered live.")
class OrderUpdate:
    """One event of orderUpdated."""

    order: Order | None = strawberry.field(
        description=(
            "The order as it is now, as you may see it. Null only on a LEFT_VIEW update, which is sent only to "
            "orderUpdated(leftView: true)."
        )
    )
    change: OrderChange = strawberry.field(description="What kind of change this is.")
    activity: ActivityEntry | None = strawberry.field(
        description=(
            "The timeline entry of the change: its kind, time, actor, and the values before and after. Null only "
            "on a LEFT_VIEW update."
        )
    )
    occurred_at: datetime = strawberry.field(description="When the change happened.")
    order_uuid: strawberry.Private[UUID]
    subject_id: strawberry.Private[UUID | None]  # the comment or quote, as the timeline entry records it

    @strawberry.field(description="The order's ID: on every update, and all there is of the order on LEFT_VIEW.")
    def order_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Order", self.order_uuid))

    @strawberry.field(description="Who made the change (null for the system, a user you may not see, or LEFT_VIEW).")
    async def actor(self, info: Info[Context, None]) -> User | None:
        if self.activity is None or self.activity.actor_id is None:
            return None
        return await User.load(info.context, self.activity.actor_id)

    @strawberry.field(description="The comment, for a COMMENT change.")
    async def comment(self, info: Info[Context, None]) -> Comment | None:
        if self.change is not OrderChange.COMMENT or self.subject_id is None:
            return None
        comments = await CommentsByOrder.of(info.context).load(self.order_uuid)
        found = [c for c in comments if c.id == self.subject_id]
        built = await build_comments(info.context, found, selected_names(info))
        return built[0] if built else None

    @strawberry.field(description="The quote, for a QUOTE change.")
    async def quote(self, info: Info[Context, None]) -> Quote | None:
        if self.change is not OrderChange.QUOTE or self.subject_id is None:
            return None
        quote_id = to_global_id("Quote", self.subject_id)
        quotes = [Quote.from_domain(q) for q in await QuotesByOrder.of(info.context).load(self.order_uuid)]
        return next((q for q in quotes if q.id == quote_id), None)


def _recorded_subject(entry: ActivityEntry, hint: Hint) -> UUID | None:
    """The hint's subject when the timeline entry records it (the database is the truth, not the hint)."""
    after = entry.after if isinstance(entry.after, dict) else {}
    recorded = {after.get("comment_id"), after.get("quote_id")}
    return hint.subject_id if hint.subject_id is not None and str(hint.subject_id) in recorded else None


# ---- the subscriptions' generators -----------------------------------------------------------


def _live(context: Context) -> tuple[Actor, LiveOptions]:
    actor = context.require_actor()
    if context.live is None:
        raise PublicError("Live updates are not available on this server.", code=LIVE_UPDATES_INTERRUPTED)
    return actor, context.live


def names_below(info: Info[Context, None], field_name: str | None) -> frozenset[str]:
    """Field names selected below the subscription field's `field_name` field (None: directly below it)."""
    names: set[str] = set()

    def walk(selections: Iterable[Selection], inside: bool) -> None:
        for selection in selections:
            if not isinstance(selection, SelectedField):  # a fragment: its fields are at this level
                walk(selection.selections, inside)
            elif inside:
                names.add(selection.name)
                walk(selection.selections, True)
            elif selection.name == field_name:
                walk(selection.selections, True)

    for top in info.selected_fields:
        walk(top.selections, field_name is None)
    return frozenset(names)


async def _require_order(context: Context, order_id: UUID, field: str) -> None:
    async with context.live_reading():
        found = await OrderById.of(context).load(order_id)
    if found is None:
        raise NotFound("Order", field=field)
    context.renew_loaders()


async def _recheck(context: Context) -> None:
    """Fresh DataLoaders for the next event, and the token checked again when due (invalid: the end)."""
    await context.recheck()
    if context.actor is None:
        raise PublicError(context.auth_error or "The access token is no longer valid.", code="UNAUTHENTICATED")


@contextlib.asynccontextmanager
async def _hints(context: Context) -> AsyncIterator[AsyncIterator[Hint]]:
    actor, live = _live(context)
    try:
        async with hint_feed(live.bus, subscriber_channels(actor), live.queue_size) as hints:
            yield _marked(context, hints)
    except LiveUpdatesInterrupted as exc:
        raise PublicError(
            f"Live updates were interrupted ({exc}); subscribe again and refetch what you show.",
            code=LIVE_UPDATES_INTERRUPTED,
        ) from exc


async def order_updates(
    info: Info[Context, None], order_id: UUID | None, *, left_view: bool = False
) -> AsyncIterator[OrderUpdate]:
    """The updates of one order, or of every order the viewer may see; checked before subscribing.

    With `left_view`, also a LEFT_VIEW update when an order leaves what the viewer may see.
    """
    context = info.context
    _live(context)
    if order_id is not None:
        await _require_order(context, order_id, "id")
    return _order_updates(context, order_id, names_below(info, "order"), left_view)


async def _order_updates(
    context: Context, order_id: UUID | None, names: frozenset[str], left_view: bool
) -> AsyncIterator[OrderUpdate]:
    async with _hints(context) as hints:
        async for hint in hints:
            if order_id is not None and hint.order_id != order_id:
                continue
            update = await order_update(context, hint, names, left_view)
            if update is not None:
                yield update


async def order_update(
    context: Context, hint: Hint, names: frozenset[str], left_view: bool = False
) -> OrderUpdate | None:
    """The update `hint` announces, as the context's actor may see it now; None when it may not.

    With `left_view`, an order the actor may no longer see is a LEFT_VIEW update when the hint's event
    is the one that took it away (checked in the database, like everything a hint says).
    """
    await _recheck(context)
    order, event = await asyncio.gather(
        OrderById.of(context).load(hint.order_id), ActivityEntryById.of(context).load(hint.event_id)
    )
    if order is None:
        return await _left_view_update(context, hint) if left_view else None
    entry = None if event is None else ActivityEntry.from_domain(event)
    if entry is None or entry.kind is not hint.kind or entry.order_id != order.id:
        return None
    [built] = await build_orders(context, [order], names)
    return OrderUpdate(
        order=built,
        change=CHANGE_OF_EVENT.get(entry.kind, OrderChange.OTHER),
        activity=entry,
        occurred_at=entry.occurred_at,
        order_uuid=order.id,
        subject_id=_recorded_subject(entry, hint),
    )


async def _left_view_update(context: Context, hint: Hint) -> OrderUpdate | None:
    """The LEFT_VIEW update of `hint`'s order, when its event took the order out of the actor's view."""
    if hint.kind not in VIEW_CHANGES:  # no other event can (the database says so again below)
        return None
    left = await LeftViewByEvent.of(context).load(hint.event_id)
    if left is None or left.order_id != hint.order_id:
        return None
    return OrderUpdate(
        order=None,
        change=OrderChange.LEFT_VIEW,
        activity=None,
        occurred_at=left.occurred_at,
        order_uuid=left.order_id,
        subject_id=None,
    )


async def comments_added(info: Info[Context, None], order_id: UUID) -> AsyncIterator[Comment]:
    """New comments on one order the viewer may see; checked before subscribing."""
    context = info.context
    _live(context)
    await _require_order(context, order_id, "orderId")
    return _comments_added(context, order_id, names_below(info, None))


async def _comments_added(context: Context, order_id: UUID, names: frozenset[str]) -> AsyncIterator[Comment]:
    async with _hints(context) as hints:
        async for hint in hints:
            if hint.kind is not EventKind.COMMENT_ADDED or hint.order_id != order_id or hint.subject_id is None:
                continue
            await _recheck(context)
            comments = await CommentsByOrder.of(context).load(order_id)
            found = [c for c in comments if c.id == hint.subject_id]
            if found:
                [built] = await build_comments(context, found, names)
                yield built


# ---- what a subscription's result depends on -------------------------------------------------


def selects_personal_fields(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """True when `document` selects a field marked PERSONAL anywhere (its result depends on the user)."""
    type_info = TypeInfo(schema)
    found = False

    class Finder(Visitor):
        def enter_field(self, *_: object) -> object:
            nonlocal found
            field = type_info.get_field_def()
            definition = field.extensions.get(DEFINITION_BACKREF) if field is not None else None
            if definition is not None and definition.metadata.get("personal"):
                found = True
                return BREAK
            return None

    visit(document, TypeInfoVisitor(type_info, Finder()))
    return found


# ---- errors on streams -----------------------------------------------------------------------


class StreamingPublicErrors(PublicErrors):
    """PublicErrors for every result of a stream too (subscription events, operations over WebSocket).

    Strawberry sends each streamed result before `on_operation` ends, so masking only there would
    come too late for anything sent over a WebSocket.
    """

    def on_stream_result(self, result: Any) -> Iterator[None]:
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if errors:
            result.errors = [self._public(error) for error in errors]
        yield
