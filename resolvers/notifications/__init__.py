"""Notifications' operations: recipient lists, watching, follow-up messages, order links and resends."""

import strawberry

from resolvers.notifications import (
    notification_resend,
    order_link,
    order_link_send,
    order_message_send,
    order_recipients_update,
    order_unwatch,
    order_watch,
)


@strawberry.type
class NotificationsQuery:
    """Notifications' reads."""

    order_link = order_link.field


@strawberry.type
class NotificationsMutation:
    """Notifications' changes."""

    order_recipients_update = order_recipients_update.field
    order_watch = order_watch.field
    order_unwatch = order_unwatch.field
    order_message_send = order_message_send.field
    order_link_send = order_link_send.field
    notification_resend = notification_resend.field


__all__ = ["NotificationsMutation", "NotificationsQuery"]
