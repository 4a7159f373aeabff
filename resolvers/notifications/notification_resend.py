"""notificationResend: send one email of an order's delivery log again."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.notifications import resend_notification
from schema.common import INPUT, Context, UserError, attempt, decode_id
from schema.notifications import Notification


@strawberry.input(description="Which notification to send again.")
class NotificationResendInput:
    """Input of notificationResend."""

    id: strawberry.ID = strawberry.field(description="The notification (Order.notifications).")


@strawberry.type(description="The result of notificationResend.")
class NotificationResendPayload:
    """Payload of notificationResend."""

    notification: Notification | None = strawberry.field(description="The notification, queued again.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def resolve(
    info: Info[Context, None], input: Annotated[NotificationResendInput, INPUT]
) -> NotificationResendPayload:
    """Resend a notification."""
    result = await attempt(
        info, lambda ports, actor: resend_notification(ports, actor, decode_id(input.id, "Notification"))
    )
    if isinstance(result, list):
        return NotificationResendPayload(notification=None, user_errors=result)
    return NotificationResendPayload(notification=Notification.from_domain(result), user_errors=[])


field = strawberry.mutation(
    resolver=resolve,
    description="Send a notification you may see again now: a failed or retrying one is tried at once; a sent "
    "one is sent once more (as a new email), at most every 10 minutes; one queued for its first try is refused.",
)
