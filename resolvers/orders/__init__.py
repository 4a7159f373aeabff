"""Orders' operations: Manage Orders, the order lifecycle, quotes, comments, and their live updates."""

import strawberry

from resolvers.orders import (
    comment_added,
    comment_create,
    order,
    order_approve,
    order_archive,
    order_assign,
    order_cancel,
    order_create,
    order_reject,
    order_status_change,
    order_status_counts,
    order_submit,
    order_update,
    order_updated,
    orders,
    quote_accept,
    quote_decline,
    quote_reject,
    quote_submit,
)


@strawberry.type
class OrdersQuery:
    """Orders' reads."""

    order = order.field
    orders = orders.field
    order_status_counts = order_status_counts.field


@strawberry.type
class OrdersMutation:
    """Orders' changes."""

    order_create = order_create.field
    order_update = order_update.field
    order_submit = order_submit.field
    order_approve = order_approve.field
    order_reject = order_reject.field
    order_status_change = order_status_change.field
    order_cancel = order_cancel.field
    order_archive = order_archive.field
    order_assign = order_assign.field
    quote_submit = quote_submit.field
    quote_decline = quote_decline.field
    quote_accept = quote_accept.field
    quote_reject = quote_reject.field
    comment_create = comment_create.field


@strawberry.type
class OrdersSubscription:
    """Orders' live updates."""

    order_updated = order_updated.field
    comment_added = comment_added.field


DEFAULT_PAGE_SIZE = orders.DEFAULT_PAGE_SIZE
"""The page size of `orders` when neither first nor last is given."""

__all__ = ["DEFAULT_PAGE_SIZE", "OrdersMutation", "OrdersQuery", "OrdersSubscription"]
