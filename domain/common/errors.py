"""Expected failures of the domain, each with a stable code the API exposes."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class ErrorCode(Enum):
    """Stable machine-readable codes for expected errors."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    DUPLICATE = "DUPLICATE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    FILE_TYPE_NOT_ALLOWED = "FILE_TYPE_NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"
    TOO_MANY_RECIPIENTS = "TOO_MANY_RECIPIENTS"
    RECIPIENT_NOT_ALLOWED = "RECIPIENT_NOT_ALLOWED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


class DomainError(Exception):
    """Base of every expected error; carries a code, a message and optionally a field."""

    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthenticated(DomainError):
    """The caller presented no valid credentials."""

    code = ErrorCode.UNAUTHENTICATED


class InvalidCredentials(DomainError):
    """Email and password do not match an active user."""

    code = ErrorCode.INVALID_CREDENTIALS


class NotFound(DomainError):
    """The object does not exist or the caller may not see it (indistinguishable on purpose)."""

    code = ErrorCode.NOT_FOUND

    def __init__(self, what: str, *, field: str | None = "id") -> None:
        super().__init__(f"{what} not found.", field=field)


class PermissionDenied(DomainError):
    """The caller may see the object but not do this to it."""

    code = ErrorCode.PERMISSION_DENIED


class InvalidInput(DomainError):
    """A value of the input is malformed or out of range."""

    code = ErrorCode.INVALID_INPUT


class Duplicate(DomainError):
    """The input would create something that already exists."""

    code = ErrorCode.DUPLICATE


class VersionConflict(DomainError):
    """The object changed since the caller read it (optimistic concurrency)."""

    code = ErrorCode.VERSION_CONFLICT

    def __init__(self, expected: int, current: int | None = None) -> None:
        tail = f" (now at version {current})" if current is not None else ""
        super().__init__(
            f"The order changed since version {expected}{tail}; reload it and try again.",
            field="expectedVersion",
        )
        self.expected = expected
        self.current = current


class InvalidTransition(DomainError):
    """A status change the lifecycle does not allow for this caller.

    Asking for the status the order is already in (submitting twice) is said as such, not as a
    move from a status to itself; the error carries the same three statuses either way.
    """

    code = ErrorCode.INVALID_TRANSITION

    def __init__(self, current: str, requested: str, allowed: Sequence[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none"
        refusal = (
            f"The order is already {current}"
            if requested == current
            else f"Cannot move the order from {current} to {requested}"
        )
        super().__init__(f"{refusal}; allowed from {current}: {allowed_text}.", field="status")
        self.current = current
        self.requested = requested
        self.allowed = tuple(allowed)


class QuoteExpired(DomainError):
    """The quote's expiry date has passed, so it can no longer be accepted."""

    code = ErrorCode.QUOTE_EXPIRED


class FileTooLarge(DomainError):
    """An uploaded file exceeds the size limit."""

    code = ErrorCode.FILE_TOO_LARGE


class FileTypeNotAllowed(DomainError):
    """An uploaded file's content is not of an allowed type."""

    code = ErrorCode.FILE_TYPE_NOT_ALLOWED


class TooManyAttempts(DomainError):
    """Too many failed sign-ins lately (for this email or from this address): refused unchecked for a while."""

    code = ErrorCode.TOO_MANY_ATTEMPTS

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-in attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after
