"""Orders' storage: tables, row mapping, repositories and the read side of orders, quotes, comments and activity."""

from adapters.orders import mapping as order_mapping
from adapters.orders import tables as order_tables
from adapters.orders.queries import SqlOrderQueries
from adapters.orders.repositories import SqlCatalogue, SqlCommentRepository, SqlOrderRepository

__all__ = [
    "SqlCatalogue",
    "SqlCommentRepository",
    "SqlOrderQueries",
    "SqlOrderRepository",
    "order_mapping",
    "order_tables",
]
