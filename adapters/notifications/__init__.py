"""Notifications' storage: recipient lists, watchers, the delivery log, and the SQL of the relay and the sender."""

from adapters.notifications import tables as notification_tables
from adapters.notifications.deliveries import (
    MAX_ERROR_CHARS,
    Claim,
    ClaimResult,
    claim,
    delivery_from_row,
    insert_deliveries,
    mark_attempt_failed,
    mark_sent,
    take_due,
)
from adapters.notifications.facts import EmailFacts, load_facts
from adapters.notifications.queries import SqlNotificationQueries
from adapters.notifications.relay import (
    claim_unpublished,
    has_unpublished,
    load_circle,
    load_event,
    load_order,
    mark_published,
)
from adapters.notifications.repository import SqlNotificationRepository

__all__ = [
    "MAX_ERROR_CHARS",
    "Claim",
    "ClaimResult",
    "EmailFacts",
    "SqlNotificationQueries",
    "SqlNotificationRepository",
    "claim",
    "claim_unpublished",
    "delivery_from_row",
    "has_unpublished",
    "insert_deliveries",
    "load_circle",
    "load_event",
    "load_facts",
    "load_order",
    "mark_attempt_failed",
    "mark_published",
    "mark_sent",
    "notification_tables",
    "take_due",
]
