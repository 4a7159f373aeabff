"""The read side: `OrderQueries` as set-based SQL, every method scoped to the viewer.

Each method runs one SQL statement for however many ids it is given (`comments_by_order`
runs a second for the attachments when any comment has one; `order_page` runs a second only
when a page comes back empty but still owes its total or its has-previous/has-next answer),
so the number of statements per GraphQL request does not grow with the page size.

Scope is applied in SQL on every read: the order visibility predicate mirrors
`Order.can_see`, the audience predicate mirrors `Audience.admits`, and provider notes are
blanked in the SELECT list unless the viewer is the order's provider, so they never leave
the database for anyone else. Users come back with an empty `password_hash`: the read side
never needs it.

Statements are templates with named bind parameters, built once per shape (the viewer's
kind, which filters are set, the sort, which cursors are given) and cached: building a
SELECT of the order's thirty-odd columns costs more Python time than running it, and this
is the hot path of every Manage Orders request. Values travel as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any, Final, Literal
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters import notifications
from adapters.mapping import (
    attachment_from_row,
    comment_from_row,
    event_from_row,
    order_from_row,
    organisation_from_row,
    quote_from_row,
    service_from_row,
    user_from_row,
)
from adapters.tables import attachments, comments, order_activity, orders, organisations, quotes, services, users
from domain.comments import Attachment, Comment
from domain.errors import InvalidInput
from domain.events import OrderEvent
from domain.identity import Organisation, OrgKind, User
from domain.lifecycle import OrderKind, OrderStatus
from domain.notifications import Delivery, NotificationSettings
from domain.orders import Order, Quote, Service
from domain.queries import (
    MAX_PAGE_SIZE,
    Keyset,
    OrderFilter,
    OrderPage,
    OrderSort,
    OrderSortField,
    PageRequest,
    SortDirection,
    StatusCount,
    Viewer,
)

Params = dict[str, Any]

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


class SqlOrderQueries:
    """`domain.queries.OrderQueries` over SQLAlchemy Core; one pooled connection per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ---- Manage Orders ---------------------------------------------------------------

    async def order_page(self, viewer: Viewer, flt: OrderFilter, sort: OrderSort, page: PageRequest) -> OrderPage:
        """A keyset page of visible orders under the filter, in sort order (ties by id), NULL values last."""
        size, forward = _page_size(page)
        for key, name in ((page.after, "after"), (page.before, "before")):
            if key is not None:
                _check_key(sort.field, key, name)
        fshape, params = _filter(flt, with_statuses=True)
        params |= _viewer_params(viewer) | {"p_limit": size + 1}
        for key, prefix in ((page.after, "k_after"), (page.before, "k_before")):
            if key is not None:
                params[f"{prefix}_value"] = key.value
                params[f"{prefix}_id"] = key.order_id
        shape = _PageShape(
            viewer=_viewer_shape(viewer),
            filter=fshape,
            field=sort.field,
            ascending=sort.direction is SortDirection.ASC,
            forward=forward,
            after=_key_shape(page.after),
            before=_key_shape(page.before),
            with_total=page.with_total,
        )
        async with self._engine.connect() as conn:
            rows = await _fetch(conn, _page_statement(shape), params)
            facts: RowMapping | None = rows[0] if rows else None
            if facts is None and _needs_facts(shape):
                facts = (await _fetch(conn, _page_facts_statement(shape), params))[0]

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

    async def status_counts(self, viewer: Viewer, flt: OrderFilter) -> list[StatusCount]:
        """Visible orders per status under the filter (its `statuses` ignored, `archived` kept).

        Statuses with no orders are omitted; the rest come in lifecycle order.
        """
        fshape, params = _filter(flt, with_statuses=False)
        rows = await self._all(_status_counts_statement(_viewer_shape(viewer), fshape), params | _viewer_params(viewer))
        counts = [StatusCount(OrderStatus(row["status"]), int(row["n"])) for row in rows]
        return sorted(counts, key=lambda c: _STATUS_RANK[c.status])

    # ---- by id -----------------------------------------------------------------------

    async def orders_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[Order | None]:
        """Orders in the order of `ids`; None where absent or not visible."""
        if not ids:
            return []
        params = _viewer_params(viewer) | {"ids": _unique(ids)}
        rows = await self._all(_orders_by_id_statement(_viewer_shape(viewer)), params)
        found = {order.id: order for order in map(order_from_row, rows)}
        return [found.get(i) for i in ids]

    async def organisations_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[Organisation | None]:
        """Organisations of the viewer's programme in the order of `ids`; None for the rest."""
        if not ids:
            return []
        rows = await self._all(_organisations_statement(), {"ids": _unique(ids), "v_programme": viewer.programme_id})
        found = {org.id: org for org in map(organisation_from_row, rows)}
        return [found.get(i) for i in ids]

    async def users_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[User | None]:
        """Visible users (see Viewer.user_kinds) in the order of `ids` (password hash blank); None for the rest."""
        if not ids:
            return []
        params = {
            "ids": _unique(ids),
            "v_programme": viewer.programme_id,
            "v_org": viewer.organisation_id,
            "v_user_kinds": sorted(kind.value for kind in viewer.user_kinds),
        }
        rows = await self._all(_users_statement(), params)
        found = {user.id: user for user in map(user_from_row, rows)}
        return [found.get(i) for i in ids]

    # ---- relations of orders ---------------------------------------------------------

    async def latest_comment_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[Comment | None]:
        """The newest comment the viewer may see per order, with its attachments, in one statement."""
        if not order_ids:
            return []
        params = _viewer_params(viewer) | {"ids": _unique(order_ids)}
        rows = await self._all(_latest_comment_statement(_viewer_shape(viewer)), params)
        files: dict[UUID, list[Attachment]] = {}
        heads: dict[UUID, RowMapping] = {}
        for row in rows:
            heads.setdefault(row["order_id"], row)
            if row["att_id"] is not None:
                files.setdefault(row["id"], []).append(
                    attachment_from_row({c.key: row[f"att_{c.key}"] for c in attachments.c})
                )
        latest = {oid: comment_from_row(row, files.get(row["id"], ())) for oid, row in heads.items()}
        return [latest.get(i) for i in order_ids]

    async def comments_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[Comment]]:
        """Visible comments per order, oldest first, with their attachments (a second statement, if any)."""
        if not order_ids:
            return []
        shape = _viewer_shape(viewer)
        params = _viewer_params(viewer) | {"ids": _unique(order_ids)}
        async with self._engine.connect() as conn:
            rows = await _fetch(conn, _comments_statement(shape), params)
            any_files = any(row["has_files"] for row in rows)
            file_rows = await _fetch(conn, _comment_files_statement(shape), params) if any_files else []
        files: dict[UUID, list[Attachment]] = {}
        for file_row in file_rows:
            files.setdefault(file_row["comment_id"], []).append(attachment_from_row(file_row))
        grouped: dict[UUID, list[Comment]] = {}
        for row in rows:
            grouped.setdefault(row["order_id"], []).append(comment_from_row(row, files.get(row["id"], ())))
        return [list(grouped.get(i, ())) for i in order_ids]

    async def quotes_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[Quote]]:
        """Visible quotes per order, newest first: the buyer side sees all, a provider its own."""
        if not order_ids:
            return []
        params = _viewer_params(viewer) | {"ids": _unique(order_ids)}
        grouped: dict[UUID, list[Quote]] = {}
        for row in await self._all(_quotes_statement(_viewer_shape(viewer)), params):
            grouped.setdefault(row["order_id"], []).append(quote_from_row(row))
        return [list(grouped.get(i, ())) for i in order_ids]

    async def activity_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[OrderEvent]]:
        """Visible timeline entries per order, oldest first (ties by id)."""
        if not order_ids:
            return []
        params = _viewer_params(viewer) | {"ids": _unique(order_ids)}
        grouped: dict[UUID, list[OrderEvent]] = {}
        for row in await self._all(_activity_statement(_viewer_shape(viewer)), params):
            grouped.setdefault(row["order_id"], []).append(event_from_row(row))
        return [list(grouped.get(i, ())) for i in order_ids]

    async def activity_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[OrderEvent | None]:
        """Visible timeline entries by id (one statement), None where absent or not visible."""
        if not ids:
            return []
        params = _viewer_params(viewer) | {"ids": _unique(ids)}
        found = {
            row["id"]: event_from_row(row)
            for row in await self._all(_activity_by_id_statement(_viewer_shape(viewer)), params)
        }
        return [found.get(i) for i in ids]

    async def attachment(self, viewer: Viewer, attachment_id: UUID) -> Attachment | None:
        """One attachment, if the viewer may see its order and its comment."""
        params = _viewer_params(viewer) | {"attachment_id": attachment_id}
        rows = await self._all(_attachment_statement(_viewer_shape(viewer)), params)
        return attachment_from_row(rows[0]) if rows else None

    # ---- directory -------------------------------------------------------------------

    async def services_of_programme(self, viewer: Viewer) -> list[Service]:
        """Active services of the providers of the viewer's programme, by name."""
        rows = await self._all(_services_statement(), {"v_programme": viewer.programme_id})
        return [service_from_row(row) for row in rows]

    async def users_of_organisation(self, viewer: Viewer, organisation_id: UUID) -> list[User]:
        """Active users of an organisation of the viewer's programme, by name (password hash blank)."""
        params = {"v_programme": viewer.programme_id, "organisation_id": organisation_id}
        return [user_from_row(row) for row in await self._all(_staff_statement(), params)]

    # ---- plumbing --------------------------------------------------------------------

    async def deliveries_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[Delivery]]:
        """Delivery-log rows per order (one statement); filtered by the caller (see the port)."""
        async with self._engine.connect() as conn:
            found = await notifications.deliveries_by_order(conn, _unique(order_ids))
        return [found.get(i, []) for i in order_ids]

    async def notification_settings_by_order(
        self, viewer: Viewer, order_ids: Sequence[UUID]
    ) -> list[tuple[NotificationSettings, dict[UUID, UUID]]]:
        """Recipient lists and watchers per order (two statements); filtered by the caller (see the port)."""
        async with self._engine.connect() as conn:
            found = await notifications.settings_by_order(conn, _unique(order_ids))
        return [found.get(i, (NotificationSettings(i), {})) for i in order_ids]

    async def _all(self, stmt: Select[Any], params: Params) -> Sequence[RowMapping]:
        async with self._engine.connect() as conn:
            return await _fetch(conn, stmt, params)


async def _fetch(conn: AsyncConnection, stmt: Select[Any], params: Params) -> Sequence[RowMapping]:
    rows: Sequence[RowMapping] = (await conn.execute(stmt, params)).mappings().all()
    return rows


def _unique(ids: Sequence[UUID]) -> list[UUID]:
    return list(dict.fromkeys(ids))


# ---- the viewer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ViewerShape:
    """What about a viewer changes the SQL (values go in parameters)."""

    partner_scoped: bool
    provider_scoped: bool
    is_vendor: bool
    is_provider: bool


def _viewer_shape(viewer: Viewer) -> _ViewerShape:
    return _ViewerShape(
        partner_scoped=viewer.orders.partner_id is not None,
        provider_scoped=viewer.orders.provider_id is not None,
        is_vendor=viewer.audience.is_vendor,
        is_provider=viewer.is_provider,
    )


def _viewer_params(viewer: Viewer) -> Params:
    return {
        "v_programme": viewer.orders.programme_id,
        "v_partner": viewer.orders.partner_id,
        "v_provider": viewer.orders.provider_id,
        "v_audience_org": viewer.audience.organisation_id,
        "v_org": viewer.organisation_id,
    }


def _p(name: str) -> BindParameter[Any]:
    return bindparam(name)


def _ids(name: str = "ids") -> BindParameter[Any]:
    return bindparam(name, expanding=True)


# ---- scope predicates -------------------------------------------------------------------


def _visible(t: FromClause, who: _ViewerShape) -> ColumnElement[bool]:
    """SQL for `Order.can_see`: the programme, narrowed to the partner's or the provider's orders."""
    clauses: list[ColumnElement[bool]] = [t.c.programme_id == _p("v_programme")]
    if who.partner_scoped:
        clauses.append(t.c.partner_id == _p("v_partner"))
    if who.provider_scoped:
        clauses.append(
            or_(
                # Party.PROVIDER: released to this provider.
                and_(t.c.provider_id == _p("v_provider"), t.c.released_to_provider_at.is_not(None)),
                # Party.CANDIDATE_PROVIDER: an open quote request it may quote on.
                and_(
                    t.c.kind == OrderKind.QUOTED.value,
                    t.c.status == OrderStatus.PENDING_QUOTES.value,
                    or_(t.c.provider_id.is_(None), t.c.provider_id == _p("v_provider")),
                ),
            )
        )
    return and_(*clauses)


def _buyer_side(who: _ViewerShape) -> ColumnElement[bool]:
    """True where the viewer is on the buyer side of the joined order: the vendor or its partner."""
    if who.is_vendor:
        return true()
    return orders.c.partner_id == _p("v_audience_org")


def _admits(org_col: ColumnElement[Any], buyer_col: ColumnElement[Any], who: _ViewerShape) -> ColumnElement[bool]:
    """SQL for `Audience.admits` over a row's audience columns (the row's order joined as `orders`)."""
    return or_(
        org_col.is_(None),
        org_col == _p("v_audience_org"),
        and_(buyer_col.is_(True), _buyer_side(who)),
    )


def _comment_scope(who: _ViewerShape) -> tuple[ColumnElement[bool], ...]:
    """Comments (joined to `orders`) the viewer may see: on a visible order, and in their audience."""
    return (
        _visible(orders, who),
        _admits(comments.c.audience_org_id, comments.c.audience_buyer_side, who),
    )


# ---- columns ----------------------------------------------------------------------------


def _order_columns(t: FromClause, who: _ViewerShape) -> list[ColumnElement[Any]]:
    """The order's columns for `order_from_row`, provider notes blanked unless the viewer is its provider."""
    notes: ColumnElement[Any]
    if who.is_provider:
        # Order.shows_provider_notes_to: the order's released provider (the programme is in the WHERE).
        own = and_(t.c.provider_id == _p("v_org"), t.c.released_to_provider_at.is_not(None))
        notes = case((own, t.c.provider_notes), else_=literal("", Text))
    else:
        notes = literal("", Text)
    columns: list[ColumnElement[Any]] = [c for c in t.c if c.key not in ("provider_notes", "total")]
    columns.append(notes.label("provider_notes"))
    return columns


def _user_columns() -> list[ColumnElement[Any]]:
    columns: list[ColumnElement[Any]] = [c for c in users.c if c.key != "password_hash"]
    columns.append(literal("", Text).label("password_hash"))
    return columns


# ---- filters ----------------------------------------------------------------------------


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


def _order_where(t: FromClause, who: _ViewerShape, f: _FilterShape) -> ColumnElement[bool]:
    """Visibility plus the Manage Orders filter."""
    clauses: list[ColumnElement[bool]] = [_visible(t, who)]
    if f.partners:
        clauses.append(t.c.partner_id.in_(_ids("f_partners")))
    if f.providers:
        clauses.append(t.c.provider_id.in_(_ids("f_providers")))
    if f.statuses:
        clauses.append(t.c.status.in_(_ids("f_statuses")))
    if f.activity_types:
        clauses.append(t.c.activity_type.in_(_ids("f_activity_types")))
    if f.assignees:
        clauses.append(t.c.assignee_id.in_(_ids("f_assignees")))
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
        return col.ilike(_p("f_search"), escape=_LIKE_ESCAPE)

    named_orgs = select(organisations.c.id).where(
        organisations.c.programme_id == _p("v_programme"), has(organisations.c.name)
    )
    contacts = (
        select(users.c.id)
        .join_from(users, organisations, organisations.c.id == users.c.organisation_id)
        .where(organisations.c.programme_id == _p("v_programme"), or_(has(users.c.name), has(users.c.email)))
    )
    matches: list[ColumnElement[bool]] = [
        has(t.c.name),
        has(t.c.campaign_name),
        t.c.partner_id.in_(named_orgs),
        t.c.provider_id.in_(named_orgs),
        t.c.partner_contact_id.in_(contacts),
    ]
    if f.search_number:
        matches.append(t.c.number == _p("f_number"))
    return or_(*matches)


# ---- keyset paging ----------------------------------------------------------------------
#
# Rows sort by (sort value IS NULL, sort value, id): NULL values come last in both directions,
# and the value and the id run in the requested direction. `_beyond` and `_short_of` are the
# rows after and before a key in that order; paging backwards walks the reverse order
# (NULLs first) and flips the page back in Python.

KeyShape = Literal["null", "value"] | None


@dataclass(frozen=True, slots=True)
class _PageShape:
    viewer: _ViewerShape
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
    value, key_id = _p(f"{prefix}_value"), _p(f"{prefix}_id")
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
    value, key_id = _p(f"{prefix}_value"), _p(f"{prefix}_id")
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


# ---- statements, built once per shape -----------------------------------------------------


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
        select(*_order_columns(t, s.viewer), *_page_facts(s))
        .where(*clauses)
        .order_by(value, t.c.id.asc() if walk_ascending else t.c.id.desc())
        .limit(bindparam("p_limit", type_=Integer))
    )


@lru_cache(maxsize=512)
def _page_facts_statement(s: _PageShape) -> Select[Any]:
    return select(*_page_facts(s))


@lru_cache(maxsize=256)
def _status_counts_statement(who: _ViewerShape, f: _FilterShape) -> Select[Any]:
    return (
        select(orders.c.status, func.count().label("n")).where(_order_where(orders, who, f)).group_by(orders.c.status)
    )


@cache
def _orders_by_id_statement(who: _ViewerShape) -> Select[Any]:
    return select(*_order_columns(orders, who)).where(orders.c.id.in_(_ids()), _visible(orders, who))


@cache
def _organisations_statement() -> Select[Any]:
    return select(organisations).where(
        organisations.c.id.in_(_ids()), organisations.c.programme_id == _p("v_programme")
    )


@cache
def _users_statement() -> Select[Any]:
    return (
        select(*_user_columns())
        .join_from(users, organisations, organisations.c.id == users.c.organisation_id)
        .where(
            users.c.id.in_(_ids()),
            organisations.c.programme_id == _p("v_programme"),
            or_(
                users.c.organisation_id == _p("v_org"),
                organisations.c.kind.in_(bindparam("v_user_kinds", expanding=True)),
            ),
        )
    )


@cache
def _latest_comment_statement(who: _ViewerShape) -> Select[Any]:
    # Rank each order's visible comments newest first, keep the first, and bring its files along.
    rank = (
        func.row_number()
        .over(partition_by=comments.c.order_id, order_by=(comments.c.created_at.desc(), comments.c.id.desc()))
        .label("rank")
    )
    ranked = (
        select(*comments.c, rank)
        .join_from(comments, orders, orders.c.id == comments.c.order_id)
        .where(comments.c.order_id.in_(_ids()), *_comment_scope(who))
        .subquery("ranked")
    )
    att = attachments.alias("att")
    return (
        select(*(ranked.c[c.key] for c in comments.c), *(col.label(f"att_{col.key}") for col in att.c))
        .select_from(ranked.outerjoin(att, att.c.comment_id == ranked.c.id))
        .where(ranked.c.rank == 1)
        .order_by(att.c.created_at, att.c.filename, att.c.id)
    )


@cache
def _comments_statement(who: _ViewerShape) -> Select[Any]:
    # `has_files` lets the caller skip the attachments statement when no comment has any.
    has_files = exists().where(attachments.c.comment_id == comments.c.id).label("has_files")
    return (
        select(comments, has_files)
        .join_from(comments, orders, orders.c.id == comments.c.order_id)
        .where(comments.c.order_id.in_(_ids()), *_comment_scope(who))
        .order_by(comments.c.created_at, comments.c.id)
    )


@cache
def _comment_files_statement(who: _ViewerShape) -> Select[Any]:
    return (
        select(attachments)
        .join_from(attachments, comments, comments.c.id == attachments.c.comment_id)
        .join(orders, orders.c.id == comments.c.order_id)
        .where(comments.c.order_id.in_(_ids()), *_comment_scope(who))
        .order_by(attachments.c.created_at, attachments.c.filename, attachments.c.id)
    )


@cache
def _quotes_statement(who: _ViewerShape) -> Select[Any]:
    return (
        select(quotes)
        .join_from(quotes, orders, orders.c.id == quotes.c.order_id)
        .where(
            quotes.c.order_id.in_(_ids()),
            _visible(orders, who),
            # Quote.audience: its provider plus the buyer side.
            or_(quotes.c.provider_id == _p("v_audience_org"), _buyer_side(who)),
        )
        .order_by(quotes.c.created_at.desc(), quotes.c.id.desc())
    )


@cache
def _activity_statement(who: _ViewerShape) -> Select[Any]:
    a = order_activity
    return (
        select(a)
        .join_from(a, orders, orders.c.id == a.c.order_id)
        .where(
            a.c.order_id.in_(_ids()),
            _visible(orders, who),
            _admits(a.c.audience_org_id, a.c.audience_buyer_side, who),
        )
        .order_by(a.c.occurred_at, a.c.seq, a.c.id)
    )


@cache
def _activity_by_id_statement(who: _ViewerShape) -> Select[Any]:
    a = order_activity
    return (
        select(a)
        .join_from(a, orders, orders.c.id == a.c.order_id)
        .where(a.c.id.in_(_ids()), _visible(orders, who), _admits(a.c.audience_org_id, a.c.audience_buyer_side, who))
    )


@cache
def _attachment_statement(who: _ViewerShape) -> Select[Any]:
    return (
        select(attachments)
        .join_from(attachments, comments, comments.c.id == attachments.c.comment_id)
        .join(orders, orders.c.id == comments.c.order_id)
        .where(attachments.c.id == _p("attachment_id"), *_comment_scope(who))
    )


@cache
def _services_statement() -> Select[Any]:
    return (
        select(services)
        .join_from(services, organisations, organisations.c.id == services.c.provider_id)
        .where(
            organisations.c.programme_id == _p("v_programme"),
            organisations.c.kind == OrgKind.PROVIDER.value,
            services.c.active.is_(True),
        )
        .order_by(services.c.name, services.c.id)
    )


@cache
def _staff_statement() -> Select[Any]:
    return (
        select(*_user_columns())
        .join_from(users, organisations, organisations.c.id == users.c.organisation_id)
        .where(
            users.c.organisation_id == _p("organisation_id"),
            organisations.c.programme_id == _p("v_programme"),
            users.c.active.is_(True),
        )
        .order_by(users.c.name, users.c.id)
    )
