"""The database machinery every context shares: engines, transactions, column types, row helpers, lists.

Contexts declare their tables on `metadata` and read and write through a `SqlTransaction`;
nothing here knows any context's tables.
"""

from adapters.db.columns import Money, UtcDateTime, id_column, metadata
from adapters.db.engine import (
    SQLITE_BEGIN,
    begin_write,
    create_bulk_engine,
    create_engine,
    for_reading,
    for_writing,
    session_factory,
)
from adapters.db.lists import (
    MAX_INT4,
    Listing,
    RawPage,
    SortKey,
    count_by,
    fetch_page,
)
from adapters.db.rows import RowLike, money, money_or_none, row_mapping
from adapters.db.text import LIKE_ESCAPE, contains, contains_pattern
from adapters.db.transaction import SqlTransaction

__all__ = [
    "LIKE_ESCAPE",
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
    "contains_pattern",
    "count_by",
    "create_bulk_engine",
    "create_engine",
    "fetch_page",
    "for_reading",
    "for_writing",
    "id_column",
    "metadata",
    "money",
    "money_or_none",
    "row_mapping",
    "session_factory",
]
