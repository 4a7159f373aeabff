"""Orders' GraphQL enums: the domain's own enums, registered with Strawberry (same classes, same members)."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from domain.orders import (
    Action,
    CommentVisibility,
    EventKind,
    OrderKind,
    OrderSortField,
    OrderStatus,
    Priority,
    QuoteStatus,
)

strawberry.enum(OrderStatus, description="Where an order stands in its lifecycle.")
strawberry.enum(
    OrderKind, description="QUOTED: open-ended, answered with quotes. FLAT_FEE: a provider's priced service."
)
strawberry.enum(Action, name="OrderAction", description="The named moves of the order lifecycle.")
strawberry.enum(Priority, description="How urgent the order is.")
strawberry.enum(QuoteStatus, description="Where a provider's quote stands.")
strawberry.enum(CommentVisibility, description="SHARED: both sides see it. INTERNAL: only the author's organisation.")
strawberry.enum(EventKind, name="ActivityKind", description="What a timeline entry records.")
strawberry.enum(OrderSortField, description="What Manage Orders sorts by.")

OrderAction: TypeAlias = Action
ActivityKind: TypeAlias = EventKind

__all__ = [
    "ActivityKind",
    "CommentVisibility",
    "OrderAction",
    "OrderKind",
    "OrderSortField",
    "OrderStatus",
    "Priority",
    "QuoteStatus",
]
