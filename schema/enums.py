"""GraphQL enums: the domain's own enums, registered with Strawberry (same classes, same members)."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from domain.comments import CommentVisibility
from domain.events import EventKind
from domain.identity import OrgKind, Role
from domain.lifecycle import Action, OrderKind, OrderStatus
from domain.notifications import DeliveryStatus, RecipientSide, Template
from domain.orders import Priority, QuoteStatus
from domain.queries import OrderSortField, SortDirection

strawberry.enum(OrderStatus, description="Where an order stands in its lifecycle.")
strawberry.enum(
    OrderKind, description="QUOTED: open-ended, answered with quotes. FLAT_FEE: a provider's priced service."
)
strawberry.enum(Action, name="OrderAction", description="The named moves of the order lifecycle.")
strawberry.enum(Priority, description="How urgent the order is.")
strawberry.enum(QuoteStatus, description="Where a provider's quote stands.")
strawberry.enum(OrgKind, name="OrganisationKind", description="The kind of organisation.")
strawberry.enum(Role, description="A user's role in its organisation.")
strawberry.enum(CommentVisibility, description="SHARED: both sides see it. INTERNAL: only the author's organisation.")
strawberry.enum(EventKind, name="ActivityKind", description="What a timeline entry records.")
strawberry.enum(OrderSortField, description="What Manage Orders sorts by.")
strawberry.enum(SortDirection, description="Ascending or descending.")
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

OrderAction: TypeAlias = Action
OrganisationKind: TypeAlias = OrgKind
ActivityKind: TypeAlias = EventKind
NotificationStatus: TypeAlias = DeliveryStatus
NotificationTemplate: TypeAlias = Template

__all__ = [
    "ActivityKind",
    "CommentVisibility",
    "NotificationStatus",
    "NotificationTemplate",
    "OrderAction",
    "OrderKind",
    "OrderSortField",
    "OrderStatus",
    "OrganisationKind",
    "Priority",
    "QuoteStatus",
    "RecipientSide",
    "Role",
    "SortDirection",
]
