"""Repositories over SQLAlchemy Core: orders (with quotes), comments, and the directory.

They share one `SqlTransaction` (the unit of work's) and never commit. Writes go through
`SqlTransaction.for_write()`, which on SQLite takes the write lock before the first write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from adapters import mapping, tables
from adapters.db import SQLITE_BEGIN, begin_write
from domain.comments import Comment
from domain.errors import Duplicate, NotFound, VersionConflict
from domain.identity import AccessToken, Organisation, Programme, User, normalise_email
from domain.orders import Order, Service

# Written by the unit of work from events, only ever forward; a save must not move it back.
_NOT_SAVED = frozenset({"id", "last_activity_at"})


class SqlTransaction:
    """The one transaction a unit of work's repositories share (a session's connection)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._connection: AsyncConnection | None = None
        self._writing = False

    async def connection(self) -> AsyncConnection:
        """The transaction's connection, begun on first use (reads take no lock)."""
        if self._connection is None:
            self._connection = await self.session.connection()
        return self._connection

    async def for_write(self) -> AsyncConnection:
        """The connection, in a transaction that holds the write lock (SQLite) from now to commit."""
        if self._connection is None:
            # Nothing read yet: take the lock at BEGIN rather than begin, end and begin again.
            self._connection = await self.session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            self._writing = True
        elif not self._writing:
            await begin_write(self._connection)
            self._writing = True
        return self._connection

    @property
    def writing(self) -> bool:
        """True once something may have been written in the current transaction."""
        return self._writing

    def ended(self) -> None:
        """Forget the connection after commit or rollback; the next use begins a new transaction."""
        self._connection = None
        self._writing = False


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
        row = (await conn.execute(select(tables.orders).where(tables.orders.c.id == order_id))).first()
        if row is None:
            return None
        order = mapping.order_from_row(row)
        quote_rows = await conn.execute(
            select(tables.quotes)
            .where(tables.quotes.c.order_id == order_id)
            .order_by(tables.quotes.c.created_at, tables.quotes.c.id)
        )
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
        result = await conn.execute(
            update(tables.orders)
            .where(tables.orders.c.id == order.id, tables.orders.c.version == persisted.version)
            .values(values)
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
                update(tables.programmes)
                .where(tables.programmes.c.id == programme_id)
                .values(order_seq=tables.programmes.c.order_seq + 1)
                .returning(tables.programmes.c.order_seq)
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


class SqlDirectory:
    """Programmes, organisations, users, services and access tokens."""

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx

    async def _one(self, statement: Any) -> Any:
        conn = await self._tx.connection()
        return (await conn.execute(statement)).first()

    async def programme(self, programme_id: UUID) -> Programme | None:
        """A programme by id."""
        row = await self._one(select(tables.programmes).where(tables.programmes.c.id == programme_id))
        return None if row is None else mapping.programme_from_row(row)

    async def organisation(self, organisation_id: UUID) -> Organisation | None:
        """An organisation by id."""
        row = await self._one(select(tables.organisations).where(tables.organisations.c.id == organisation_id))
        return None if row is None else mapping.organisation_from_row(row)

    async def user(self, user_id: UUID) -> User | None:
        """A user by id."""
        row = await self._one(select(tables.users).where(tables.users.c.id == user_id))
        return None if row is None else mapping.user_from_row(row)

    async def user_by_email(self, email: str) -> User | None:
        """A user by email (normalised here too, as emails are stored normalised)."""
        row = await self._one(select(tables.users).where(tables.users.c.email == normalise_email(email)))
        return None if row is None else mapping.user_from_row(row)

    async def service(self, service_id: UUID) -> Service | None:
        """A provider's flat-fee service by id."""
        row = await self._one(select(tables.services).where(tables.services.c.id == service_id))
        return None if row is None else mapping.service_from_row(row)

    async def token(self, digest: str) -> AccessToken | None:
        """An access token by digest."""
        row = await self._one(select(tables.access_tokens).where(tables.access_tokens.c.digest == digest))
        return None if row is None else mapping.token_from_row(row)

    async def token_holder(self, digest: str) -> tuple[AccessToken, User, Organisation] | None:
        """An access token with its user and organisation, in one statement."""
        t, u, o = tables.access_tokens, tables.users, tables.organisations
        statement = (
            select(*t.c, *(c.label(f"u_{c.name}") for c in u.c), *(c.label(f"o_{c.name}") for c in o.c))
            .join_from(t, u, u.c.id == t.c.user_id)
            .join(o, o.c.id == u.c.organisation_id)
            .where(t.c.digest == digest)
        )
        row = await self._one(statement)
        if row is None:
            return None
        values = row._mapping
        user = {c.name: values[f"u_{c.name}"] for c in u.c}
        org = {c.name: values[f"o_{c.name}"] for c in o.c}
        return mapping.token_from_row(values), mapping.user_from_row(user), mapping.organisation_from_row(org)

    async def add_programme(self, programme: Programme) -> None:
        """Insert a programme."""
        await self._insert(tables.programmes, mapping.programme_values(programme))

    async def add_organisation(self, organisation: Organisation) -> None:
        """Insert an organisation."""
        await self._insert(tables.organisations, mapping.organisation_values(organisation))

    async def add_user(self, user: User) -> None:
        """Insert a user with its email normalised; raises Duplicate when the email is taken."""
        conn = await self._tx.for_write()
        values = mapping.user_values(user) | {"email": normalise_email(user.email)}
        if await self._email_taken(conn, values["email"]):
            raise Duplicate("A user with this email already exists.", field="email")
        try:
            # A savepoint keeps the transaction usable (PostgreSQL aborts it on an error).
            async with conn.begin_nested():
                await conn.execute(insert(tables.users).values(values))
        except IntegrityError:
            # Someone else took the email between our check and the insert.
            if await self._email_taken(conn, values["email"]):
                raise Duplicate("A user with this email already exists.", field="email") from None
            raise

    async def add_service(self, service: Service) -> None:
        """Insert a flat-fee service."""
        await self._insert(tables.services, mapping.service_values(service))

    async def add_token(self, token: AccessToken) -> None:
        """Insert an access token."""
        await self._insert(tables.access_tokens, mapping.token_values(token))

    async def revoke_token(self, digest: str, when: datetime) -> None:
        """Mark a token revoked (a revoked or unknown one is left as it is)."""
        conn = await self._tx.for_write()
        await conn.execute(
            update(tables.access_tokens)
            .where(tables.access_tokens.c.digest == digest, tables.access_tokens.c.revoked_at.is_(None))
            .values(revoked_at=when)
        )

    async def _insert(self, table: Any, values: dict[str, Any] | Sequence[dict[str, Any]]) -> None:
        conn = await self._tx.for_write()
        await conn.execute(insert(table), values)

    @staticmethod
    async def _email_taken(conn: AsyncConnection, email: str) -> bool:
        return bool((await conn.execute(select(exists().where(tables.users.c.email == email)))).scalar())
