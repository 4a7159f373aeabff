"""GraphQL enums: the domain's enums, exposed under their own names."""

from __future__ import annotations

import strawberry

from domain import comments, events, identity, lifecycle, orders, queries

OrderStatus = strawberry.enum(lifecycle.OrderStatus, description="Where an order stands in its lifecycle.")
OrderKind = strawberry.enum(
    lifecycle.OrderKind, description="QUOTED: open-ended, answered with quotes. FLAT_FEE: a provider's priced service."
)
OrderAction = strawberry.enum(lifecycle.Action, name="OrderAction", description="The named moves of the lifecycle.")
Priority = strawberry.enum(orders.Priority, description="How urgent the order is.")
QuoteStatus = strawberry.enum(orders.QuoteStatus, description="Where a provider's quote stands.")
OrganisationKind = strawberry.enum(identity.OrgKind, name="OrganisationKind", description="The kind of organisation.")
Role = strawberry.enum(identity.Role, description="A user's role in its organisation.")
CommentVisibility = strawberry.enum(
    comments.CommentVisibility,
    description="SHARED: both sides see it. INTERNAL: only the author's organisation.",
)
ActivityKind = strawberry.enum(events.EventKind, name="ActivityKind", description="What a timeline entry records.")
OrderSortField = strawberry.enum(queries.OrderSortField, description="What Manage Orders sorts by.")
SortDirection = strawberry.enum(queries.SortDirection, description="Ascending or descending.")
