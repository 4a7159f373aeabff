"""The database machinery every context shares: engines, transactions, column types, row helpers, migrations.

Contexts declare their tables on `metadata` and read and write through a `SqlTransaction`;
nothing here knows any context's tables.
"""

from adapters.db.columns import Money, UtcDateTime, id_column, metadata
from adapters.db.engine import SQLITE_BEGIN, begin_write, create_engine, for_writing, session_factory
from adapters.db.rows import RowLike, money, money_or_none, row_mapping
from adapters.db.transaction import SqlTransaction

__all__ = [
    "SQLITE_BEGIN",
    "Money",
    "RowLike",
    "SqlTransaction",
    "UtcDateTime",
    "begin_write",
    "create_engine",
    "for_writing",
    "id_column",
    "metadata",
    "money",
    "money_or_none",
    "row_mapping",
    "session_factory",
]
