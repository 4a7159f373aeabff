"""Every context's tables on the one MetaData that migrations and `create_all` see.

Import `metadata` from here (not from `adapters.db`) when the whole schema is wanted: importing
this module declares every context's tables.
"""

from adapters.db import metadata
from adapters.identity import identity_tables
from adapters.notifications import notification_tables
from adapters.orders import order_tables

__all__ = ["identity_tables", "metadata", "notification_tables", "order_tables"]
