"""Manage Orders' list in SQL: filters, search, sorts, keyset pages, totals and status counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Final, Literal
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.identity import identity_tables
from adapters.orders.mapping import (
    order_from_row,
)
from adapters.orders.scope import (
    Params,
    ViewerShape,
    fetch,
    ids_param,
    order_columns,
    param,
    viewer_params,
    viewer_shape,
    visible,
)
from adapters.orders.tables import orders
from domain.common import MAX_PAGE_SIZE, InvalidInput, Keyset, PageRequest, SortDirection
from domain.orders import (
    OrderFilter,
    OrderPage,
    OrderSort,
    OrderSortField,
    OrderStatus,
    StatusCount,
    Viewer,
)

organisations, users = identity_tables.organisations, identity_tables.users


_SORT_ATTRIBUTE: Final = {
    OrderSortField.SUBMITTED_AT: "submitted_at",
    OrderSortField.LAST_ACTIVITY_AT: "last_activity_at",
    OrderSortField.ESTIMATED_COMPLETION: "estimated_completion",
    OrderSortField.NUMBER: "number",
}
"""The order column (and `Order` attribute) each sort field sorts by."""


_STATUS_RANK: Final = {status: rank for rank, status in enumerate(OrderStatus)}


_MAX_INT4: Final = 2**31 - 1


_LIKE_ESCAPE: Final = "/"


_TOTAL, _MORE_BEFORE, _MORE_AFTER = "page_total", "page_more_before", "page_more_after"


@dataclass(frozen=True, slots=True)
class _FilterShape:
    """Which Manage Orders filters are set."""

    partners: bool = False
    providers: bool = False
    statuses: bool = False
    activity_types: bool = False
    assignees: bool = False
    archived: bool | None = False
    search: bool = False
    search_number: bool = False


def _filter(flt: OrderFilter, *, with_statuses: bool) -> tuple[_FilterShape, Params]:
    """The filter's shape and its parameters."""
    params: Params = {}
    if flt.partner_ids:
        params["f_partners"] = list(flt.partner_ids)
    if flt.provider_ids:
        params["f_providers"] = list(flt.provider_ids)
    if with_statuses and flt.statuses:
        params["f_statuses"] = [s.value for s in flt.statuses]
    if flt.activity_types:
        params["f_activity_types"] = list(flt.activity_types)
    if flt.assignee_ids:
        params["f_assignees"] = list(flt.assignee_ids)
    term = flt.search.strip()
    if term:
        params["f_search"] = f"%{_escape_like(term)}%"
        # A term of digits (optionally `#` first) also finds the order with exactly that number.
        digits = term.removeprefix("#")
        if digits.isascii() and digits.isdigit() and int(digits) <= _MAX_INT4:
            params["f_number"] = int(digits)
    shape = _FilterShape(
        partners="f_partners" in params,
        providers="f_providers" in params,
        statuses="f_statuses" in params,
        activity_types="f_activity_types" in params,
        assignees="f_assignees" in params,
        archived=flt.archived,
        search="f_search" in params,
        search_number="f_number" in params,
    )
    return shape, params


def _escape_like(text: str) -> str:
    """The user's text matched literally: LIKE's wildcards and the escape character escaped."""
    e = _LIKE_ESCAPE
    return text.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")


def _order_where(t: FromClause, who: ViewerShape, f: _FilterShape) -> ColumnElement[bool]:
    """Visibility plus the Manage Orders filter."""
    clauses: list[ColumnElement[bool]] = [visible(t, who)]
    if f.partners:
        clauses.append(t.c.partner_id.in_(ids_param("f_partners")))
    if f.providers:
        clauses.append(t.c.provider_id.in_(ids_param("f_providers")))
    if f.statuses:
        clauses.append(t.c.status.in_(ids_param("f_statuses")))
    if f.activity_types:
        clauses.append(t.c.activity_type.in_(ids_param("f_activity_types")))
    if f.assignees:
        clauses.append(t.c.assignee_id.in_(ids_param("f_assignees")))
    if f.archived is False:
        clauses.append(t.c.status != OrderStatus.ARCHIVED.value)
    elif f.archived is True:
        clauses.append(t.c.status == OrderStatus.ARCHIVED.value)
    if f.search:
        clauses.append(_search(t, f))
    return and_(*clauses)


def _search(t: FromClause, f: _FilterShape) -> ColumnElement[bool]:
    """Case-insensitive substring match over the order's texts and its parties' names and contact."""

    def has(col: ColumnElement[Any]) -> ColumnElement[bool]:
        return col.ilike(param("f_search"), escape=_LIKE_ESCAPE)

    named_orgs = select(organisations.c.id).where(
        organisations.c.programme_id == param("v_programme"), has(organisations.c.name)
    )
    contacts = (
        select(users.c.id)
        .join_from(users, organisations, organisations.c.id == users.c.organisation_id)
        .where(organisations.c.programme_id == param("v_programme"), or_(has(users.c.name), has(users.c.email)))
    )
    matches: list[ColumnElement[bool]] = [
        has(t.c.name),
        has(t.c.campaign_name),
        t.c.partner_id.in_(named_orgs),
        t.c.provider_id.in_(named_orgs),
        t.c.partner_contact_id.in_(contacts),
    ]
    if f.search_number:
        matches.append(t.c.number == param("f_number"))
    return or_(*matches)


KeyShape = Literal["null", "value"] | None


@dataclass(frozen=True, slots=True)
class _PageShape:
    viewer: ViewerShape
    filter: _FilterShape
    field: OrderSortField
    ascending: bool
    forward: bool
    after: KeyShape
    before: KeyShape
    with_total: bool


def _key_shape(key: Keyset | None) -> KeyShape:
    if key is None:
        return None
    return "null" if key.value is None else "value"


def _page_size(page: PageRequest) -> tuple[int, bool]:
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


def _check_key(field: OrderSortField, key: Keyset, name: str) -> None:
    """Refuses a cursor whose value cannot belong to this sort (e.g. one made for another sort)."""
    value = key.value
    if field is OrderSortField.NUMBER:
        fits = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_INT4
    elif field is OrderSortField.ESTIMATED_COMPLETION:
        fits = value is None or (isinstance(value, date) and not isinstance(value, datetime))
    else:
        fits = value is None or (isinstance(value, datetime) and value.tzinfo is not None)
    if not fits or not isinstance(key.order_id, UUID):
        raise InvalidInput("The cursor does not belong to this sort order.", field=name)


def _ahead(
    a: ColumnElement[Any], b: ColumnElement[Any], *, ascending: bool, inclusive: bool = False
) -> ColumnElement[bool]:
    """`a` comes after `b` (or equals it, when inclusive) in the direction."""
    if ascending:
        return a >= b if inclusive else a > b
    return a <= b if inclusive else a < b


def _beyond(t: FromClause, s: _PageShape, prefix: str, key: KeyShape, *, inclusive: bool) -> ColumnElement[bool]:
    """Rows after the key `prefix` in the sort order (or at it, when inclusive)."""
    col = t.c[_SORT_ATTRIBUTE[s.field]]
    value, key_id = param(f"{prefix}_value"), param(f"{prefix}_id")
    if key == "null":
        return and_(col.is_(None), _ahead(t.c.id, key_id, ascending=s.ascending, inclusive=inclusive))
    later = or_(
        _ahead(col, value, ascending=s.ascending),
        and_(col == value, _ahead(t.c.id, key_id, ascending=s.ascending, inclusive=inclusive)),
    )
    return or_(col.is_(None), later) if _nullable(s.field) else later


def _short_of(t: FromClause, s: _PageShape, prefix: str, key: KeyShape, *, inclusive: bool) -> ColumnElement[bool]:
    """Rows before the key `prefix` in the sort order (or at it, when inclusive)."""
    col = t.c[_SORT_ATTRIBUTE[s.field]]
    value, key_id = param(f"{prefix}_value"), param(f"{prefix}_id")
    back = not s.ascending
    if key == "null":
        return or_(col.is_not(None), _ahead(t.c.id, key_id, ascending=back, inclusive=inclusive))
    # A NULL value compares as unknown here, so NULL rows (which sort last) stay out.
    return or_(
        _ahead(col, value, ascending=back),
        and_(col == value, _ahead(t.c.id, key_id, ascending=back, inclusive=inclusive)),
    )


def _nullable(field: OrderSortField) -> bool:
    return field is not OrderSortField.NUMBER


def _needs_facts(s: _PageShape) -> bool:
    return s.with_total or s.after is not None or s.before is not None


def _page_facts(s: _PageShape) -> list[ColumnElement[Any]]:
    """Scalar subqueries for the total and whether rows lie outside the cursors.

    They read an alias of `orders`, so they do not correlate with the page's own rows; being
    uncorrelated, both databases evaluate each once per statement.
    """
    others = orders.alias("others")
    where = _order_where(others, s.viewer, s.filter)
    facts: list[ColumnElement[Any]] = []
    if s.with_total:
        facts.append(select(func.count()).select_from(others).where(where).scalar_subquery().label(_TOTAL))
    if s.after is not None:
        at_or_before = _short_of(others, s, "k_after", s.after, inclusive=True)
        facts.append(exists().select_from(others).where(where, at_or_before).label(_MORE_BEFORE))
    if s.before is not None:
        at_or_after = _beyond(others, s, "k_before", s.before, inclusive=True)
        facts.append(exists().select_from(others).where(where, at_or_after).label(_MORE_AFTER))
    return facts


@lru_cache(maxsize=512)
def _page_statement(s: _PageShape) -> Select[Any]:
    t = orders
    clauses = [_order_where(t, s.viewer, s.filter)]
    if s.after is not None:
        clauses.append(_beyond(t, s, "k_after", s.after, inclusive=False))
    if s.before is not None:
        clauses.append(_short_of(t, s, "k_before", s.before, inclusive=False))
    col = t.c[_SORT_ATTRIBUTE[s.field]]
    walk_ascending = s.ascending if s.forward else not s.ascending
    value = col.asc() if walk_ascending else col.desc()
    if _nullable(s.field):
        value = value.nulls_last() if s.forward else value.nulls_first()
    return (
        select(*order_columns(t, s.viewer), *_page_facts(s))
        .where(*clauses)
        .order_by(value, t.c.id.asc() if walk_ascending else t.c.id.desc())
        .limit(bindparam("p_limit", type_=Integer))
    )


@lru_cache(maxsize=512)
def _page_facts_statement(s: _PageShape) -> Select[Any]:
    return select(*_page_facts(s))


@lru_cache(maxsize=256)
def _status_counts_statement(who: ViewerShape, f: _FilterShape) -> Select[Any]:
    return (
        select(orders.c.status, func.count().label("n")).where(_order_where(orders, who, f)).group_by(orders.c.status)
    )


async def order_page(
    conn: AsyncConnection, viewer: Viewer, flt: OrderFilter, sort: OrderSort, page: PageRequest
) -> OrderPage:
    """A keyset page of visible orders under the filter, in sort order (ties by id), NULL values last."""
    size, forward = _page_size(page)
    for key, name in ((page.after, "after"), (page.before, "before")):
        if key is not None:
            _check_key(sort.field, key, name)
    fshape, params = _filter(flt, with_statuses=True)
    params |= viewer_params(viewer) | {"p_limit": size + 1}
    for key, prefix in ((page.after, "k_after"), (page.before, "k_before")):
        if key is not None:
            params[f"{prefix}_value"] = key.value
            params[f"{prefix}_id"] = key.order_id
    shape = _PageShape(
        viewer=viewer_shape(viewer),
        filter=fshape,
        field=sort.field,
        ascending=sort.direction is SortDirection.ASC,
        forward=forward,
        after=_key_shape(page.after),
        before=_key_shape(page.before),
        with_total=page.with_total,
    )
    rows = await fetch(conn, _page_statement(shape), params)
    facts: RowMapping | None = rows[0] if rows else None
    if facts is None and _needs_facts(shape):
        facts = (await fetch(conn, _page_facts_statement(shape), params))[0]

    overflow = len(rows) > size
    found = [order_from_row(row) for row in rows[:size]]
    if not forward:
        found.reverse()
    more_before = bool(facts is not None and shape.after is not None and facts[_MORE_BEFORE])
    more_after = bool(facts is not None and shape.before is not None and facts[_MORE_AFTER])
    attribute = _SORT_ATTRIBUTE[sort.field]
    return OrderPage(
        orders=found,
        keys=[Keyset(getattr(order, attribute), order.id) for order in found],
        has_next=(forward and overflow) or more_after,
        has_previous=(not forward and overflow) or more_before,
        total_count=int(facts[_TOTAL]) if page.with_total and facts is not None else None,
    )


async def status_counts(conn: AsyncConnection, viewer: Viewer, flt: OrderFilter) -> list[StatusCount]:
    """Visible orders per status under the filter (its `statuses` ignored, `archived` kept).

    Statuses with no orders are omitted; the rest come in lifecycle order.
    """
    fshape, params = _filter(flt, with_statuses=False)
    rows = await fetch(conn, _status_counts_statement(viewer_shape(viewer), fshape), params | viewer_params(viewer))
    counts = [StatusCount(OrderStatus(row["status"]), int(row["n"])) for row in rows]
    return sorted(counts, key=lambda c: _STATUS_RANK[c.status])
