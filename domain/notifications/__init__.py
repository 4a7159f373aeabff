"""Notifications: who is told what about an order, recipient lists, watchers, order links and the delivery log."""

from domain.notifications.commands import SendMessage, SendOrderLink, UpdateRecipients
from domain.notifications.deliveries import Delivery, DeliveryStatus, Template, delivery_visible_to
from domain.notifications.links import DEFAULT_LINK_TTL, OrderLink, sign_order_link
from domain.notifications.planning import Circle, Person, Planned, delivery_id, plan_notifications
from domain.notifications.ports import NotificationRepository, NotificationsUnitOfWork
from domain.notifications.queries import NotificationQueries
from domain.notifications.recipients import (
    NotificationSettings,
    RecipientList,
    RecipientSide,
    VisibleSettings,
    settings_visible_to,
)
from domain.notifications.sending import (
    ORDER_ADDRESSES,
    SEND_WINDOWS,
    RateLimited,
    RecipientNotAllowed,
    Sender,
    SendWindow,
    TooManyRecipients,
    is_message,
    order_addresses,
)
from domain.notifications.services import (
    open_order_link,
    resend_notification,
    send_message,
    send_order_link,
    unwatch_order,
    update_recipients,
    watch_order,
)

__all__ = [
    "DEFAULT_LINK_TTL",
    "ORDER_ADDRESSES",
    "SEND_WINDOWS",
    "Circle",
    "Delivery",
    "DeliveryStatus",
    "NotificationQueries",
    "NotificationRepository",
    "NotificationSettings",
    "NotificationsUnitOfWork",
    "OrderLink",
    "Person",
    "Planned",
    "RateLimited",
    "RecipientList",
    "RecipientNotAllowed",
    "RecipientSide",
    "SendMessage",
    "SendOrderLink",
    "SendWindow",
    "Sender",
    "Template",
    "TooManyRecipients",
    "UpdateRecipients",
    "VisibleSettings",
    "delivery_id",
    "delivery_visible_to",
    "is_message",
    "open_order_link",
    "order_addresses",
    "plan_notifications",
    "resend_notification",
    "send_message",
    "send_order_link",
    "settings_visible_to",
    "sign_order_link",
    "unwatch_order",
    "update_recipients",
    "watch_order",
]
