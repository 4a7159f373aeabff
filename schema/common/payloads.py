"""What every mutation shares: its input argument, and running a service with user errors as data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from domain.common import DomainError
from domain.identity import Actor
from schema.common.context import AppPorts, Context
from schema.common.errors import UserError, user_errors

T = TypeVar("T")


INPUT = strawberry.argument(description="What to do; see the input type's fields.")


async def attempt(
    info: Info[Context, None], call: Callable[[AppPorts, Actor], Awaitable[T]], *, target: str = "id"
) -> T | list[UserError]:
    """Run a service call as the authenticated actor; expected errors come back as typed user errors.

    `target`: the input field naming the object acted on, when it is not `id` (see `user_errors`).
    """
    context = info.context
    actor = context.require_actor()
    try:
        return await call(context.ports, actor)
    except DomainError as exc:
        return user_errors(exc, target=target)
