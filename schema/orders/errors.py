"""Orders' own user error: a status change the lifecycle does not allow."""

from __future__ import annotations

import strawberry

from domain.common import InvalidTransition
from schema.common import UserError, user_error_for
from schema.orders.enums import OrderStatus


@strawberry.type(description="The order lifecycle does not allow this move for you from the current status.")
class InvalidTransitionError(UserError):
    """An illegal status change."""

    current_status: OrderStatus = strawberry.field(description="The order's status now.")
    requested_status: OrderStatus = strawberry.field(description="The status asked for.")
    allowed_statuses: list[OrderStatus] = strawberry.field(description="Statuses you may move the order to now.")


@user_error_for(InvalidTransition)
def _invalid_transition(exc: InvalidTransition, field: str | None) -> UserError:
    return InvalidTransitionError(
        field=field,
        message=exc.message,
        code=exc.code,
        current_status=OrderStatus(exc.current),
        requested_status=OrderStatus(exc.requested),
        allowed_statuses=[OrderStatus(s) for s in exc.allowed],
    )


ORDER_ERROR_TYPES: tuple[type, ...] = (InvalidTransitionError,)
"""Orders' user error types, for the schema's `types`."""
