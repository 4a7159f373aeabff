"""The read side the API serves: every context's queries over one engine."""

from adapters.identity import SqlIdentityQueries
from adapters.notifications import SqlNotificationQueries
from adapters.orders import SqlOrderQueries


class SqlQueries(SqlOrderQueries, SqlNotificationQueries, SqlIdentityQueries):
    """Every context's read side, each method on its own pooled connection."""


__all__ = ["SqlQueries"]
