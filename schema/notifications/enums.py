"""Notifications' GraphQL enums: the domain's own enums, registered with Strawberry (same classes, same members)."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from domain.notifications import DeliveryStatus, RecipientSide, Template

strawberry.enum(
    DeliveryStatus,
    name="NotificationStatus",
    description="PENDING: queued or being retried. SENT: handed to the mail server. FAILED: given up on.",
)
strawberry.enum(Template, name="NotificationTemplate", description="Which email a notification is.")
strawberry.enum(
    RecipientSide,
    description="PROVIDER: the provider's own notification list (its users only). PARTNER: the partner's.",
)

NotificationStatus: TypeAlias = DeliveryStatus
NotificationTemplate: TypeAlias = Template

__all__ = ["NotificationStatus", "NotificationTemplate", "RecipientSide"]
