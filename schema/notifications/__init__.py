"""Notifications' GraphQL layer: the delivery log and recipient lists of an order, their enums and loaders."""

from schema.notifications.enums import NotificationStatus, NotificationTemplate, RecipientSide
from schema.notifications.errors import NOTIFICATION_ERROR_TYPES
from schema.notifications.loaders import DeliveriesByOrder, NotificationSettingsByOrder
from schema.notifications.types import Notification, NotificationRecipients

__all__ = [
    "NOTIFICATION_ERROR_TYPES",
    "DeliveriesByOrder",
    "Notification",
    "NotificationRecipients",
    "NotificationSettingsByOrder",
    "NotificationStatus",
    "NotificationTemplate",
    "RecipientSide",
]
