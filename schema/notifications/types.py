"""Notifications' GraphQL object types: an order's delivery log and recipient lists."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain import notifications as dn
from schema.common import to_global_id
from schema.notifications.enums import NotificationStatus, NotificationTemplate

if TYPE_CHECKING:
    from schema.orders import ActivityKind


@strawberry.type(description="One email of an order's delivery log: an event's notification to one recipient.")
class Notification:
    """A delivery-log entry."""

    id: strawberry.ID = strawberry.field(description="The notification's opaque global ID (for notificationResend).")
    recipient: str = strawberry.field(description="The address it is (or was) sent to.")
    template: NotificationTemplate = strawberry.field(description="Which email it is.")
    status: NotificationStatus = strawberry.field(description="Pending, sent or failed.")
    attempts: int = strawberry.field(description="Delivery attempts so far (of the current sending).")
    last_error: str | None = strawberry.field(description="Why the last attempt failed; null when it did not.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    sent_at: datetime | None = strawberry.field(description="When the mail server accepted it.")
    # Lazy: orders' types import this module (an order has notifications), so this edge waits for the schema.
    activity_kind: Annotated[ActivityKind, strawberry.lazy("schema.orders")] = strawberry.field(
        description="The kind of the timeline entry that caused it."
    )
    activity_id: strawberry.ID = strawberry.field(description="The ID of that timeline entry (an ActivityEntry).")

    @classmethod
    def from_domain(cls, delivery: dn.Delivery) -> Notification:
        """The GraphQL view of a delivery-log entry."""
        return cls(
            id=strawberry.ID(to_global_id("Notification", delivery.id)),
            recipient=delivery.recipient,
            template=delivery.template,
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error or None,
            created_at=delivery.created_at,
            sent_at=delivery.sent_at,
            activity_kind=delivery.event_kind,
            activity_id=strawberry.ID(to_global_id("ActivityEntry", delivery.event_id)),
        )


@strawberry.type(description="Addresses told about an order besides its people (per side; null: not yours to see).")
class NotificationRecipients:
    """An order's notification lists, as the viewer may see them."""

    provider_emails: list[str] | None = strawberry.field(
        description="The provider's list (its own users see it; nobody else)."
    )
    partner_emails: list[str] | None = strawberry.field(description="The partner's list (the partner and the vendor).")
