"""The transaction a unit of work's repositories share: read on demand, write with the write lock."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from adapters.db.engine import SQLITE_BEGIN, begin_write


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
