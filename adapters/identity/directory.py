"""The directory over the unit of work's transaction: programmes, organisations, users, tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import SqlTransaction
from adapters.identity import mapping, tables
from adapters.identity.tokens import token_holder_from_row, token_holder_statement
from domain.common import Duplicate
from domain.identity import AccessToken, Organisation, Programme, TokenRevoked, User, normalise_email


class SqlDirectory:
    """Programmes, organisations, users and access tokens."""

    def __init__(self, tx: SqlTransaction) -> None:
        self._tx = tx
        self._revoked: list[TokenRevoked] = []

    def pull_revocations(self) -> list[TokenRevoked]:
        """The tokens this directory revoked since the last call (the unit of work announces them after commit)."""
        revoked, self._revoked = self._revoked, []
        return revoked

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

    async def token(self, digest: str) -> AccessToken | None:
        """An access token by digest."""
        row = await self._one(select(tables.access_tokens).where(tables.access_tokens.c.digest == digest))
        return None if row is None else mapping.token_from_row(row)

    async def token_holder(self, digest: str) -> tuple[AccessToken, User, Organisation] | None:
        """An access token with its user and organisation, in one statement."""
        conn = await self._tx.connection()
        return token_holder_from_row((await conn.execute(token_holder_statement(), {"digest": digest})).first())

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

    async def add_token(self, token: AccessToken) -> None:
        """Insert an access token."""
        await self._insert(tables.access_tokens, mapping.token_values(token))

    async def revoke_token(self, digest: str, when: datetime) -> bool:
        """Mark a token revoked (a revoked or unknown one is left as it is); True when it was not revoked."""
        conn = await self._tx.for_write()
        result = await conn.execute(
            update(tables.access_tokens)
            .where(tables.access_tokens.c.digest == digest, tables.access_tokens.c.revoked_at.is_(None))
            .values(revoked_at=when)
        )
        if not result.rowcount:
            return False
        self._revoked.append(TokenRevoked(digest, when))
        return True

    async def _insert(self, table: Any, values: dict[str, Any] | Sequence[dict[str, Any]]) -> None:
        conn = await self._tx.for_write()
        await conn.execute(insert(table), values)

    @staticmethod
    async def _email_taken(conn: AsyncConnection, email: str) -> bool:
        return bool((await conn.execute(select(exists().where(tables.users.c.email == email)))).scalar())
