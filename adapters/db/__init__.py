"""The database machinery every context shares: engines, transactions, column types, row helpers, lists.

Contexts declare their tables on `metadata` and read and write through a `SqlTransaction`;
nothing here knows any context's tables.
"""

from adapters.db.columns import Money, UtcDateTime, id_column, metadata
from adapters.db.engine import SQLITE_BEGIN, begin_write, create_engine, for_writing, session_factory
from adapters.db.lists import (
    MAX_INT4,
    Listing,
    RawPage,
    SortKey,
    contains,
    count_by,
    escape_like,
    fetch_page,
    search_param,
)
from adapters.db.rows import RowLike, money, money_or_none, row_mapping
from adapters.db.transaction import SqlTransaction

__all__ = [
    "MAX_INT4",
    "SQLITE_BEGIN",
    "Listing",
    "Money",
    "RawPage",
    "RowLike",
    "SortKey",
    "SqlTransaction",
    "UtcDateTime",
    "begin_write",
    "contains",
    "count_by",
    "create_engine",
    "escape_like",
    "fetch_page",
    "for_writing",
    "id_column",
    "metadata",
    "money",
    "money_or_none",
    "row_mapping",
    "search_param",
    "session_factory",
]
