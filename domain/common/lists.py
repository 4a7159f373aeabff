"""What every list shares: page size bound, sort direction, keyset positions and page requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from uuid import UUID

MAX_PAGE_SIZE = 100


class SortDirection(Enum):
    """Ascending or descending."""

    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class Keyset:
    """A position in a sorted list: the sort value and the id of the row at it."""

    value: datetime | date | int | str | None
    order_id: UUID


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Forward (`first`/`after`) or backward (`last`/`before`) paging."""

    first: int | None = None
    after: Keyset | None = None
    last: int | None = None
    before: Keyset | None = None
    with_total: bool = False
