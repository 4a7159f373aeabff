"""Hard caps of plain list fields: `first` items (a default, and a maximum), continuing `after` an item's ID.

A list that can grow without bound (an order's comments, timeline, emails; a directory) takes these
arguments instead of becoming a connection: its items keep their shape, a client reads the next ones
with `after:` the ID of the last one it has, and the query cost (schema.common.cost) counts `first`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Final, TypeVar
from uuid import UUID

import strawberry

from domain.common import InvalidInput
from domain.identity import MAX_DIRECTORY_ROWS
from schema.common.ids import decode_id

T = TypeVar("T")

DIRECTORY_PAGE: Final = 100
"""How many organisations, users or services a directory list returns unless `first` asks for more."""


def first_argument(default: int, maximum: int) -> object:
    """The `first` argument of a capped list."""
    return strawberry.argument(description=f"How many, from the start: at most {maximum} (default {default}).")


AFTER = strawberry.argument(description="Continue after the item with this ID (the last one you have).")

After = Annotated[strawberry.ID | None, AFTER]


def capped(
    items: Sequence[T],
    first: int | None,
    *,
    default: int,
    maximum: int,
    after: str | None = None,
    kind: str = "",
    id_of: Callable[[T], UUID] | None = None,
) -> list[T]:
    """At most `first` (else `default`) of `items`, from the one after the item `after` names."""
    if first is not None and not 0 <= first <= maximum:
        raise InvalidInput(f"first must be between 0 and {maximum}.", field="first")
    start = 0
    if after is not None and id_of is not None:
        wanted = decode_id(after, kind, field="after")
        position = next((index for index, item in enumerate(items) if id_of(item) == wanted), None)
        if position is None:
            raise InvalidInput(f"after names no {kind} of this list.", field="after")
        start = position + 1
    return list(items[start : start + (default if first is None else first)])


DirectoryFirst = Annotated[int, first_argument(DIRECTORY_PAGE, MAX_DIRECTORY_ROWS)]
"""The `first` argument of a directory list (organisations, users, services)."""


def directory_page(items: Sequence[T], first: int) -> list[T]:
    """The first `first` items of a directory list (at most MAX_DIRECTORY_ROWS)."""
    return capped(items, first, default=DIRECTORY_PAGE, maximum=MAX_DIRECTORY_ROWS)
