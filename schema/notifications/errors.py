"""Notifications' own user errors: the bounds on the email a user sends (domain.notifications.sending)."""

from __future__ import annotations

import strawberry

from domain.notifications import RateLimited, RecipientNotAllowed, TooManyRecipients
from schema.common import UserError, user_error_for


@strawberry.type(description="You (or your organisation) sent as many emails as allowed for now; retry later.")
class SendRateLimitedError(UserError):
    """A message past a per-user or per-organisation limit."""

    retry_after: int = strawberry.field(description="Seconds until one more message is allowed.")
    limit: int = strawberry.field(description="How many messages the limit allows in its window.")
    window_seconds: int = strawberry.field(description="The window the limit counts over, in seconds.")


@strawberry.type(description="A message names more addresses than one message may have.")
class TooManyRecipientsError(UserError):
    """Too many addresses in `to`."""

    limit: int = strawberry.field(description="The most addresses one message may have.")


@strawberry.type(
    description="An address beyond the order's people and notification recipients, which your organisation may "
    "not email."
)
class RecipientNotAllowedError(UserError):
    """An outside address refused."""

    address: str = strawberry.field(description="The address refused (normalised).")


@user_error_for(RateLimited)
def _rate_limited(exc: RateLimited, field: str | None) -> UserError:
    return SendRateLimitedError(
        field=field,
        message=exc.message,
        code=exc.code,
        retry_after=exc.retry_after,
        limit=exc.limit,
        window_seconds=int(exc.window.length.total_seconds()),
    )


@user_error_for(TooManyRecipients)
def _too_many(exc: TooManyRecipients, field: str | None) -> UserError:
    return TooManyRecipientsError(field=field, message=exc.message, code=exc.code, limit=exc.limit)


@user_error_for(RecipientNotAllowed)
def _not_allowed(exc: RecipientNotAllowed, field: str | None) -> UserError:
    return RecipientNotAllowedError(field=field, message=exc.message, code=exc.code, address=exc.address)


NOTIFICATION_ERROR_TYPES: tuple[type, ...] = (SendRateLimitedError, TooManyRecipientsError, RecipientNotAllowedError)
"""Notifications' user error types, for the schema's `types`."""
