"""One list machinery for every connection: keyset pages, totals, search and counts, as SQL.

A context declares a `Listing`: its table, its sort keys, and how to build its WHERE (visibility
plus filters) and its select list from a hashable *shape* (what of the viewer and the filter
changes the SQL; the values travel as bind parameters). From that, this module builds and caches
one statement per shape and runs it:

- a page is one statement: the rows of the page (one more than asked, to know whether more
  follow), in sort order with ties broken by id and NULL values last in either direction, plus
  scalar subqueries for the total and for whether rows lie before `after` / after `before`.
  Only when a page comes back empty but still owes those answers does a second statement run;
- a context may have the page's relations read in the same statement (`Listing.related`): the
  page becomes a subquery that they are joined to;
- counts per value of a column (e.g. per status) are one GROUP BY.

So the number of statements per list does not grow with the page size, on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Final, Generic, Literal, TypeVar
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Subquery,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.common import MAX_PAGE_SIZE, InvalidInput, Keyset, PageRequest, SortDirection

S = TypeVar("S", bound=Hashable)
W = TypeVar("W", bound=Hashable)

Params = dict[str, Any]

MAX_INT4: Final = 2**31 - 1
TOTAL, MORE_BEFORE, MORE_AFTER = "page_total", "page_more_before", "page_more_after"

KeyShape = Literal["null", "value"] | None
ValueKind = Literal["datetime", "date", "int", "text"]


@dataclass(frozen=True, slots=True)
class SortKey:
    """A column a list sorts by, whether it holds NULLs (they sort last), and the kind of its values."""

    column: str
    kind: ValueKind
    nullable: bool = True

    def admits(self, value: object) -> bool:
        """True when a cursor's value can belong to this sort (a cursor made for another sort cannot)."""
        if value is None:
            return self.nullable
        if self.kind == "int":
            return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT4
        if self.kind == "date":
            return isinstance(value, date) and not isinstance(value, datetime)
        if self.kind == "datetime":
            return isinstance(value, datetime) and value.tzinfo is not None
        return isinstance(value, str)


Related = Callable[[Subquery, Any], tuple[FromClause, list[ColumnElement[Any]]]]
"""Joins a page (as a subquery) to its relations for an include shape: the FROM and the extra columns."""


@dataclass(frozen=True, eq=False)
class Listing(Generic[S, W]):
    """A list a context declares; compared by identity, so that statements cache per listing."""

    name: str
    table: FromClause
    sorts: Mapping[S, SortKey]
    where: Callable[[FromClause, W], ColumnElement[bool]]
    """Visibility and filters over the table (or an alias of it), for a shape."""
    columns: Callable[[FromClause, W], list[ColumnElement[Any]]]
    """The select list of a page's rows, for a shape."""
    related: Related | None = None


@dataclass(frozen=True, slots=True)
class PageShape(Generic[S, W]):
    """Everything that changes a page's SQL; its values are bind parameters."""

    where: W
    sort: S
    ascending: bool
    forward: bool
    after: KeyShape
    before: KeyShape
    with_total: bool
    include: Hashable = None


@dataclass(frozen=True, slots=True)
class RawPage:
    """A page's rows in display order, with what the connection reports about the rest."""

    rows: list[RowMapping]
    keys: list[Keyset]
    has_next: bool
    has_previous: bool
    total_count: int | None


def param(name: str) -> BindParameter[Any]:
    """A named bind parameter (values travel as parameters, statements are cached)."""
    return bindparam(name)


def page_size(page: PageRequest) -> tuple[int, bool]:
    """How many rows, and whether forwards; refuses sizes outside 0..MAX_PAGE_SIZE."""
    if page.first is not None and page.last is not None:
        raise InvalidInput("Ask for first or last, not both.", field="last")
    if page.last is not None:
        if not 0 <= page.last <= MAX_PAGE_SIZE:
            raise InvalidInput(f"last must be between 0 and {MAX_PAGE_SIZE}.", field="last")
        return page.last, False
    first = MAX_PAGE_SIZE if page.first is None else page.first
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first must be between 0 and {MAX_PAGE_SIZE}.", field="first")
    return first, True


def _key_shape(key: Keyset | None) -> KeyShape:
    if key is None:
        return None
    return "null" if key.value is None else "value"


def _ahead(
    a: ColumnElement[Any], b: ColumnElement[Any], *, ascending: bool, inclusive: bool = False
) -> ColumnElement[bool]:
    """`a` comes after `b` (or equals it, when inclusive) in the direction."""
    if ascending:
        return a >= b if inclusive else a > b
    return a <= b if inclusive else a < b


def _beyond(
    t: FromClause, key: SortKey, ascending: bool, prefix: str, shape: KeyShape, *, inclusive: bool
) -> ColumnElement[bool]:
    """Rows after the cursor `prefix` in the sort order (or at it, when inclusive)."""
    col = t.c[key.column]
    value, key_id = param(f"{prefix}_value"), param(f"{prefix}_id")
    if shape == "null":
        return and_(col.is_(None), _ahead(t.c.id, key_id, ascending=ascending, inclusive=inclusive))
    later = or_(
        _ahead(col, value, ascending=ascending),
        and_(col == value, _ahead(t.c.id, key_id, ascending=ascending, inclusive=inclusive)),
    )
    return or_(col.is_(None), later) if key.nullable else later


def _short_of(
    t: FromClause, key: SortKey, ascending: bool, prefix: str, shape: KeyShape, *, inclusive: bool
) -> ColumnElement[bool]:
    """Rows before the cursor `prefix` in the sort order (or at it, when inclusive)."""
    col = t.c[key.column]
    value, key_id = param(f"{prefix}_value"), param(f"{prefix}_id")
    back = not ascending
    if shape == "null":
        return or_(col.is_not(None), _ahead(t.c.id, key_id, ascending=back, inclusive=inclusive))
    # A NULL value compares as unknown here, so NULL rows (which sort last) stay out.
    return or_(
        _ahead(col, value, ascending=back),
        and_(col == value, _ahead(t.c.id, key_id, ascending=back, inclusive=inclusive)),
    )


def _facts(listing: Listing[Any, Any], s: PageShape[Any, Any]) -> list[ColumnElement[Any]]:
    """Scalar subqueries for the total and whether rows lie outside the cursors.

    They read an alias of the table, so they do not correlate with the page's own rows; being
    uncorrelated, both databases evaluate each once per statement.
    """
    others = listing.table.alias(f"{listing.name}_others")
    key = listing.sorts[s.sort]
    where = listing.where(others, s.where)
    facts: list[ColumnElement[Any]] = []
    if s.with_total:
        facts.append(select(func.count()).select_from(others).where(where).scalar_subquery().label(TOTAL))
    if s.after is not None:
        at_or_before = _short_of(others, key, s.ascending, "k_after", s.after, inclusive=True)
        facts.append(exists().select_from(others).where(where, at_or_before).label(MORE_BEFORE))
    if s.before is not None:
        at_or_after = _beyond(others, key, s.ascending, "k_before", s.before, inclusive=True)
        facts.append(exists().select_from(others).where(where, at_or_after).label(MORE_AFTER))
    return facts


def _order_by(t: FromClause, key: SortKey, ascending: bool, forward: bool) -> list[ColumnElement[Any]]:
    col = t.c[key.column]
    walk_ascending = ascending if forward else not ascending
    value = col.asc() if walk_ascending else col.desc()
    if key.nullable:
        value = value.nulls_last() if forward else value.nulls_first()
    return [value, t.c.id.asc() if walk_ascending else t.c.id.desc()]


@lru_cache(maxsize=1024)
def page_statement(listing: Listing[Any, Any], s: PageShape[Any, Any]) -> Select[Any]:
    """The one statement of a page of this shape (with its relations when `s.include` asks)."""
    t = listing.table
    key = listing.sorts[s.sort]
    clauses = [listing.where(t, s.where)]
    if s.after is not None:
        clauses.append(_beyond(t, key, s.ascending, "k_after", s.after, inclusive=False))
    if s.before is not None:
        clauses.append(_short_of(t, key, s.ascending, "k_before", s.before, inclusive=False))
    page = (
        select(*listing.columns(t, s.where), *_facts(listing, s))
        .where(*clauses)
        .order_by(*_order_by(t, key, s.ascending, s.forward))
        .limit(bindparam("p_limit", type_=Integer))
    )
    if s.include is None or listing.related is None:
        return page
    rows = page.subquery(f"{listing.name}_page")
    joined, extra = listing.related(rows, s.include)
    return select(rows, *extra).select_from(joined).order_by(*_order_by(rows, key, s.ascending, s.forward))


@lru_cache(maxsize=512)
def facts_statement(listing: Listing[Any, Any], s: PageShape[Any, Any]) -> Select[Any]:
    """The total and before/after answers alone, for a page that came back empty."""
    return select(*_facts(listing, s))


def _needs_facts(s: PageShape[Any, Any]) -> bool:
    return s.with_total or s.after is not None or s.before is not None


async def fetch_page(
    conn: AsyncConnection,
    listing: Listing[S, W],
    where: W,
    params: Params,
    sort: S,
    direction: SortDirection,
    page: PageRequest,
    include: Hashable = None,
) -> RawPage:
    """A keyset page of the listing under `where` (its shape) and `params` (its values)."""
    size, forward = page_size(page)
    key = listing.sorts[sort]
    params = dict(params, p_limit=size + 1)
    for cursor, name in ((page.after, "after"), (page.before, "before")):
        if cursor is None:
            continue
        if not key.admits(cursor.value) or not isinstance(cursor.order_id, UUID):
            raise InvalidInput("The cursor does not belong to this sort order.", field=name)
        params[f"k_{name}_value"] = cursor.value
        params[f"k_{name}_id"] = cursor.order_id
    shape = PageShape(
        where=where,
        sort=sort,
        ascending=direction is SortDirection.ASC,
        forward=forward,
        after=_key_shape(page.after),
        before=_key_shape(page.before),
        with_total=page.with_total,
        include=include,
    )
    rows: Sequence[RowMapping] = (await conn.execute(page_statement(listing, shape), params)).mappings().all()
    facts: RowMapping | None = rows[0] if rows else None
    if facts is None and _needs_facts(shape):
        facts = (await conn.execute(facts_statement(listing, shape), params)).mappings().one()
    overflow = len(rows) > size
    found = list(rows[:size])
    if not forward:
        found.reverse()
    more_before = bool(facts is not None and shape.after is not None and facts[MORE_BEFORE])
    more_after = bool(facts is not None and shape.before is not None and facts[MORE_AFTER])
    return RawPage(
        rows=found,
        keys=[Keyset(row[key.column], row["id"]) for row in found],
        has_next=(forward and overflow) or more_after,
        has_previous=(not forward and overflow) or more_before,
        total_count=int(facts[TOTAL]) if page.with_total and facts is not None else None,
    )


@lru_cache(maxsize=512)
def count_statement(listing: Listing[Any, Any], where: Hashable, column: str) -> Select[Any]:
    """Rows per value of `column` under `where`."""
    t = listing.table
    return select(t.c[column], func.count().label("n")).where(listing.where(t, where)).group_by(t.c[column])


async def count_by(
    conn: AsyncConnection, listing: Listing[Any, W], where: W, params: Params, column: str
) -> dict[Any, int]:
    """How many rows the listing holds under `where` for each value of `column` (values with none absent)."""
    rows = await conn.execute(count_statement(listing, where, column), params)
    return {value: int(n) for value, n in rows}
