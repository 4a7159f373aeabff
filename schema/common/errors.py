"""Error types: typed user errors inside payloads, and the masking of unexpected errors."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.common import DomainError, VersionConflict
from domain.common import ErrorCode as DomainErrorCode

log = logging.getLogger("ordergraph.errors")

strawberry.enum(DomainErrorCode, name="ErrorCode", description="Stable machine-readable codes of expected errors.")
ErrorCode: TypeAlias = DomainErrorCode


@strawberry.interface(description="An expected problem with a mutation's input or with the state of its object.")
class UserError:
    """Fields shared by every typed user error."""

    field: str | None = strawberry.field(
        description="The input field at fault (camelCase, dotted into lists), or null for the whole input."
    )
    message: str = strawberry.field(description="What went wrong, for people.")
    code: ErrorCode = strawberry.field(description="What went wrong, for programs.")


@strawberry.type(description="The input is malformed, out of range, a duplicate, or a refused file.")
class InputError(UserError):
    """Invalid input."""


@strawberry.type(description="The object does not exist or you may not see it.")
class NotFoundError(UserError):
    """Not found (or not visible: the two are indistinguishable on purpose)."""


@strawberry.type(description="You may see the object but not do this to it.")
class PermissionDeniedError(UserError):
    """Not allowed."""


@strawberry.type(description="Credentials were wrong or missing.")
class AuthenticationError(UserError):
    """Authentication failed."""


@strawberry.type(description="The order changed since the version you sent; reload it and retry.")
class VersionConflictError(UserError):
    """Optimistic concurrency conflict."""

    current_version: int | None = strawberry.field(description="The order's version now, as you see it, when known.")


class PublicError(GraphQLError):
    """A top-level error meant for the client, with a code in its extensions."""

    def __init__(self, message: str, *, code: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, extensions={"code": code, **(details or {})})


_CAMEL = re.compile(r"_([a-z])")


# Domain names that the API spells differently (the rest only change case).
_API_NAMES = {"lines": "lineItems"}


def api_field(name: str | None) -> str | None:
    """A domain field path (e.g. "lines.0", "provider_notes") as the API's input path ("lineItems.0")."""
    if name is None:
        return None
    head, dot, rest = name.partition(".")
    head = _API_NAMES.get(head, _CAMEL.sub(lambda m: m.group(1).upper(), head))
    return f"{head}{dot}{rest}"


E = TypeVar("E", bound=DomainError)

_SPECIFIC: dict[type[DomainError], Callable[[Any, str | None], UserError]] = {}


def user_error_for(
    kind: type[E],
) -> Callable[[Callable[[E, str | None], UserError]], Callable[[E, str | None], UserError]]:
    """Register how a context's own domain error becomes its typed user error (given the API's field path)."""

    def register(convert: Callable[[E, str | None], UserError]) -> Callable[[E, str | None], UserError]:
        _SPECIFIC[kind] = convert
        return convert

    return register


def targeted(field: str | None, target: str) -> str | None:
    """An API field path with its head `id` (the domain's name for the object acted on) named `target`."""
    if field is None or target == "id" or not (field == "id" or field.startswith("id.")):
        return field
    return target + field.removeprefix("id")


def user_errors(exc: DomainError, *, target: str = "id") -> list[UserError]:
    """The typed user error for an expected domain error.

    `target` is the input field naming the object the mutation acts on, when it is not `id` (commentCreate's
    `orderId`): the domain calls that object's field `id`, the error names the field the caller gave.
    """
    code, field, message = exc.code, targeted(api_field(exc.field), target), exc.message
    for kind, convert in _SPECIFIC.items():
        if isinstance(exc, kind):
            return [convert(exc, field)]
    if isinstance(exc, VersionConflict):
        return [VersionConflictError(field=field, message=message, code=code, current_version=exc.current)]
    by_code: dict[DomainErrorCode, type[UserError]] = {
        DomainErrorCode.NOT_FOUND: NotFoundError,
        DomainErrorCode.PERMISSION_DENIED: PermissionDeniedError,
        DomainErrorCode.UNAUTHENTICATED: AuthenticationError,
        DomainErrorCode.INVALID_CREDENTIALS: AuthenticationError,
    }
    return [by_code.get(code, InputError)(field=field, message=message, code=code)]


USER_ERROR_TYPES: tuple[type, ...] = (
    InputError,
    NotFoundError,
    PermissionDeniedError,
    AuthenticationError,
    VersionConflictError,
)
"""The user errors every context may return; a context adds its own types to the schema beside these."""


def _document_error_code(message: str) -> str:
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def is_expected(error: GraphQLError) -> bool:
    """True for the client's mistakes: a document that does not parse or validate, a PublicError, a domain error."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError | DomainError)


def _public_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code.value
    code = (error.extensions or {}).get("code")
    return str(code) if code else _document_error_code(error.message)


def log_errors(errors: Iterable[GraphQLError]) -> None:
    """Log an operation's errors: a client's mistake as one INFO line, a bug at ERROR with its traceback.

    The schema calls this once for every error, before PublicErrors masks them. A client's mistakes
    are no news to the server (it answered them with a code), so they never bury a bug's traceback.
    """
    for error in errors:
        where = ".".join(str(part) for part in error.path) if error.path else "the document"
        if is_expected(error):
            message = " ".join(error.message.split())  # one line, whatever the message holds
            log.info("refused (%s) at %s: %s", _public_code(error), where, message)
        else:
            log.error("unexpected error at %s", where, exc_info=error.original_error)


class PublicErrors(SchemaExtension):
    """Adds `extensions.code` to expected errors and masks unexpected ones outside debug mode.

    It logs nothing: the schema has logged every error already (log_errors, from process_errors).
    """

    def __init__(self, *, debug: bool = False) -> None:
        self.debug = debug

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        result.errors = [self._public(error) for error in errors]

    def _public(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            # syntax, validation and variable errors (and our own PublicErrors): public, with a code
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": _document_error_code(error.message)}
            return error
        if isinstance(original, DomainError):
            error.extensions = {**(error.extensions or {}), "code": original.code.value}
            if original.field:
                error.extensions["field"] = api_field(original.field)
            return error
        if self.debug:
            return error
        return GraphQLError(
            "Unexpected error; it has been logged.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
