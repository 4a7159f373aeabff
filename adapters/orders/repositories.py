"""Orders' repositories over the unit of work's transaction: orders with quotes, comments, the catalogue.

They never commit. Writes go through the transaction's write connection; a save checks the
version loaded (optimistic concurrency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from sqlalchemy import bindparam, insert, select, update

from adapters.db import SqlTransaction
from adapters.identity import identity_tables
from adapters.orders import mapping, tables
from domain.common import NotFound, VersionConflict
from domain.orders import Comment, Order, Service

# The statements of every load and save, built once: SQLAlchemy then reuses their cache keys and
# compiled forms. Building one per call cost as much as running it (measured loading the demo).
_ORDER_BY_ID: Final = select(tables.orders).where(tables.orders.c.id == bindparam("b_order_id"))
_QUOTES_OF_ORDER: Final = (
    select(tables.quotes)
    .where(tables.quotes.c.order_id == bindparam("b_order_id"))
    .order_by(tables.quotes.c.created_at, tables.quotes.c.id)
)
_UPDATE_AT_VERSION: Final = update(tables.orders).where(
    tables.orders.c.id == bindparam("b_order_id"), tables.orders.c.version == bindparam("b_version")
)
"""SET comes from the parameters: the columns that changed."""

# Written by the unit of work from events, only ever forward; a save must not move it back.
_NOT_SAVED = frozenset({"id", "last_activity_at"})


@dataclass(slots=True)
class _Persisted:
    """What the database holds for a tracked order, as of its load or last write here."""

    version: int
    values: dict[str, Any]
    quotes: dict[UUID, dict[str, Any]] = field(default_factory=dict)


def _order_columns(order: Order) -> dict[str, Any]:
    return {k: v for k, v in mapping.order_values(order).items() if k not in _NOT_SAVED}


class SqlOrderRepository:
    """Orders with their quotes; saves check the version loaded (optimistic concurrency)."""

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx
        self._orders: dict[UUID, Order] = {}
        self._persisted: dict[UUID, _Persisted] = {}

    async def get(self, order_id: UUID) -> Order | None:
        """The order with its quotes; the same object for the same id within one unit of work."""
        if order_id in self._orders:
            return self._orders[order_id]
        conn = await self._tx.connection()
        row = (await conn.execute(_ORDER_BY_ID, {"b_order_id": order_id})).first()
        if row is None:
            return None
        order = mapping.order_from_row(row)
        quote_rows = await conn.execute(_QUOTES_OF_ORDER, {"b_order_id": order_id})
        order.quotes = [mapping.quote_from_row(q) for q in quote_rows]
        self._track(order)
        return order

    async def add(self, order: Order) -> None:
        """Insert a new order and its quotes."""
        conn = await self._tx.for_write()
        await conn.execute(insert(tables.orders).values(mapping.order_values(order)))
        if order.quotes:
            await conn.execute(insert(tables.quotes), [mapping.quote_values(q) for q in order.quotes])
        self._track(order)

    async def order_id_of_quote(self, quote_id: UUID) -> UUID | None:
        """The id of the order a quote belongs to, or None."""
        conn = await self._tx.connection()
        order_id: UUID | None = (
            await conn.execute(select(tables.quotes.c.order_id).where(tables.quotes.c.id == quote_id))
        ).scalar_one_or_none()
        return order_id

    async def save(self, order: Order) -> None:
        """Write the order's changes if the row is still at the version loaded, else raise VersionConflict."""
        persisted = self._persisted.get(order.id)
        if persisted is None or self._orders[order.id] is not order:
            raise ValueError("save() takes an order this unit of work loaded or added")
        values = _order_columns(order)
        quotes = {q.id: mapping.quote_values(q) for q in order.quotes}
        if values == persisted.values and quotes == persisted.quotes:
            return
        conn = await self._tx.for_write()
        # Only what changed: the row is at the version loaded (the WHERE checks it), so the rest is as it was.
        changed = {column: value for column, value in values.items() if persisted.values.get(column) != value}
        result = await conn.execute(
            _UPDATE_AT_VERSION, {**changed, "b_order_id": order.id, "b_version": persisted.version}
        )
        if result.rowcount != 1:
            current = (
                await conn.execute(select(tables.orders.c.version).where(tables.orders.c.id == order.id))
            ).scalar_one_or_none()
            raise VersionConflict(expected=persisted.version, current=current)
        new_quotes = [v for quote_id, v in quotes.items() if quote_id not in persisted.quotes]
        if new_quotes:
            await conn.execute(insert(tables.quotes), new_quotes)
        for quote_id, quote_values in quotes.items():
            if quote_id in persisted.quotes and quote_values != persisted.quotes[quote_id]:
                await conn.execute(update(tables.quotes).where(tables.quotes.c.id == quote_id).values(quote_values))
        self._track(order)

    async def next_number(self, programme_id: UUID) -> int:
        """The next order number of the programme (a row lock or the SQLite write lock serialises callers)."""
        conn = await self._tx.for_write()
        number = (
            await conn.execute(
                update(identity_tables.programmes)
                .where(identity_tables.programmes.c.id == programme_id)
                .values(order_seq=identity_tables.programmes.c.order_seq + 1)
                .returning(identity_tables.programmes.c.order_seq)
            )
        ).scalar_one_or_none()
        if number is None:
            raise NotFound("Programme", field=None)
        return int(number)

    def seen(self) -> list[Order]:
        """Every order this unit of work loaded or added, in that order."""
        return list(self._orders.values())

    def unsaved(self) -> list[Order]:
        """Orders changed in memory since they were loaded or last written."""
        return [
            order
            for order in self._orders.values()
            if _order_columns(order) != self._persisted[order.id].values
            or {q.id: mapping.quote_values(q) for q in order.quotes} != self._persisted[order.id].quotes
        ]

    def _track(self, order: Order) -> None:
        self._orders[order.id] = order
        self._persisted[order.id] = _Persisted(
            version=order.version,
            values=_order_columns(order),
            quotes={q.id: mapping.quote_values(q) for q in order.quotes},
        )


class SqlCommentRepository:
    """Comments and their attachments; append-only."""

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx
        self._comments: list[Comment] = []

    async def add(self, comment: Comment) -> None:
        """Insert a comment and its attachments."""
        conn = await self._tx.for_write()
        await conn.execute(insert(tables.comments).values(mapping.comment_values(comment)))
        if comment.attachments:
            await conn.execute(insert(tables.attachments), [mapping.attachment_values(a) for a in comment.attachments])
        self._comments.append(comment)

    def seen(self) -> list[Comment]:
        """Every comment this unit of work added."""
        return list(self._comments)


class SqlCatalogue:
    """The programme's services."""

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx

    async def service(self, service_id: UUID) -> Service | None:
        """A provider's flat-fee service by id."""
        conn = await self._tx.connection()
        row = (await conn.execute(select(tables.services).where(tables.services.c.id == service_id))).first()
        return None if row is None else mapping.service_from_row(row)

    async def add_service(self, service: Service) -> None:
        """Insert a flat-fee service."""
        conn = await self._tx.for_write()
        await conn.execute(insert(tables.services), mapping.service_values(service))
