"""Identity's own user error: sign-in attempts refused for a while."""

from __future__ import annotations

import strawberry

from domain.common import TooManyAttempts
from schema.common import UserError, user_error_for


@strawberry.type(
    description="Too many failed sign-ins lately, for this email or from this address: retry after `retryAfter` "
    "seconds (the same answer whether or not the email belongs to anyone)."
)
class TooManyAttemptsError(UserError):
    """A throttled sign-in."""

    retry_after: int = strawberry.field(description="Seconds until another attempt may be made.")


@user_error_for(TooManyAttempts)
def _too_many_attempts(exc: TooManyAttempts, field: str | None) -> UserError:
    return TooManyAttemptsError(field=field, message=exc.message, code=exc.code, retry_after=exc.retry_after)


IDENTITY_ERROR_TYPES: tuple[type, ...] = (TooManyAttemptsError,)
"""Identity's user error types, for the schema's `types`."""
