"""The read side the API serves: every context's queries over one engine."""

from adapters.notifications import SqlNotificationQueries
from adapters.orders import SqlOrderQueries


class SqlQueries(SqlOrderQueries, SqlNotificationQueries):
    """Every context's read side, each method on its own pooled connection."""


__all__ = ["SqlQueries"]
