"""Manage Orders' list, declared to the list machinery (adapters.db.lists): filters, search, sorts, relations.

A page reads, in its one statement, the relations the client selected (`OrderIncludes`): the
partner and provider, the partner contact, owner and assignee, and the latest comment with its
author, each scoped exactly as the query that would otherwise load it (`organisations_by_id`,
`users_by_id`, `latest_comment_by_order`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from sqlalchemy import ColumnElement, FromClause, Subquery, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import MAX_INT4, Listing, SortKey, contains, contains_pattern, count_by, fetch_page
from adapters.identity import (
    directory_params,
    identity_tables,
    organisation_from_row,
    user_columns,
    user_from_row,
    user_scope,
)
from adapters.orders.mapping import comment_from_row, order_from_row
from adapters.orders.scope import (
    Params,
    ViewerShape,
    admits,
    ids_param,
    order_columns,
    param,
    viewer_params,
    viewer_shape,
    visible,
)
from adapters.orders.tables import comments, orders
from domain.common import PageRequest
from domain.identity import Organisation, User
from domain.orders import (
    NO_INCLUDES,
    Comment,
    OrderFilter,
    OrderIncludes,
    OrderPage,
    OrderSort,
    OrderSortField,
    OrderStatus,
    PageRelations,
    StatusCount,
    Viewer,
)

organisations, users = identity_tables.organisations, identity_tables.users


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
        params["f_search"] = contains_pattern(term)
        # A term of digits (optionally `#` first) also finds the order with exactly that number.
        digits = term.removeprefix("#")
        if digits.isascii() and digits.isdigit() and int(digits) <= MAX_INT4:
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
        return contains(col, param("f_search"))

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


Where = tuple[ViewerShape, "_FilterShape"]


def _where(t: FromClause, shape: Where) -> ColumnElement[bool]:
    return _order_where(t, *shape)


def _columns(t: FromClause, shape: Where) -> list[ColumnElement[Any]]:
    return order_columns(t, shape[0])


_PARTIES: Final = (("partner", "partner_id"), ("provider", "provider_id"))
_PEOPLE: Final = (("contact", "partner_contact_id"), ("owner", "owner_id"), ("assignee", "assignee_id"))


def _related(page: Subquery, include: tuple[ViewerShape, OrderIncludes]) -> tuple[FromClause, list[Any]]:
    """The page joined to the relations `include` asks for; their columns labelled `<relation>__<column>`."""
    who, wanted = include
    joined: FromClause = page
    columns: list[Any] = []
    if wanted.parties:
        for name, key in _PARTIES:
            org = organisations.alias(f"r_{name}")
            joined = joined.outerjoin(org, and_(org.c.id == page.c[key], org.c.programme_id == param("v_programme")))
            columns += [c.label(f"{name}__{c.key}") for c in org.c]
    if wanted.people:
        for name, key in _PEOPLE:
            joined, more = _join_user(joined, name, page.c[key])
            columns += more
    if wanted.latest_comment:
        c = comments.alias("r_latest")
        newest = (
            select(comments.c.id)
            .where(
                comments.c.order_id == page.c.id,
                admits(comments.c.audience_org_id, comments.c.audience_buyer_side, who, page),
            )
            .order_by(comments.c.created_at.desc(), comments.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        joined = joined.outerjoin(c, c.c.id == newest)
        columns += [col.label(f"latest__{col.key}") for col in c.c]
        joined, more = _join_user(joined, "author", c.c.author_id)
        columns += more
    return joined, columns


def _join_user(joined: FromClause, name: str, key: ColumnElement[Any]) -> tuple[FromClause, list[Any]]:
    user, org = users.alias(f"r_{name}"), organisations.alias(f"r_{name}_org")
    scoped = user.join(org, org.c.id == user.c.organisation_id)
    return joined.outerjoin(scoped, and_(user.c.id == key, user_scope(user, org))), user_columns(user, f"{name}__")


ORDERS: Final[Listing[OrderSortField, Where]] = Listing(
    name="orders",
    table=orders,
    sorts={
        OrderSortField.SUBMITTED_AT: SortKey("submitted_at", "datetime"),
        OrderSortField.LAST_ACTIVITY_AT: SortKey("last_activity_at", "datetime"),
        OrderSortField.ESTIMATED_COMPLETION: SortKey("estimated_completion", "date"),
        OrderSortField.NUMBER: SortKey("number", "int", nullable=False),
    },
    where=_where,
    columns=_columns,
    related=_related,
)
"""Manage Orders: visible orders under the filter, sorted by any of its keys."""


async def order_page(
    conn: AsyncConnection,
    viewer: Viewer,
    flt: OrderFilter,
    sort: OrderSort,
    page: PageRequest,
    include: OrderIncludes = NO_INCLUDES,
) -> OrderPage:
    """A keyset page of visible orders under the filter, in sort order (ties by id), NULL values last."""
    who = viewer_shape(viewer)
    fshape, params = _filter(flt, with_statuses=True)
    params |= viewer_params(viewer)
    if include.people or include.latest_comment:
        params |= directory_params(viewer.programme_id, viewer.organisation_id, viewer.user_kinds)
    raw = await fetch_page(
        conn, ORDERS, (who, fshape), params, sort.field, sort.direction, page, (who, include) if include else None
    )
    return OrderPage(
        orders=[order_from_row(row) for row in raw.rows],
        keys=raw.keys,
        has_next=raw.has_next,
        has_previous=raw.has_previous,
        total_count=raw.total_count,
        relations=_relations(raw.rows, include) if include else PageRelations(),
    )


def _labels(prefix: str, table: FromClause) -> tuple[tuple[str, str], ...]:
    return tuple((c.key, f"{prefix}__{c.key}") for c in table.c)


_ORG_LABELS: Final = {name: _labels(name, organisations) for name, _key in _PARTIES}
_USER_LABELS: Final = {name: _labels(name, users) for name in (*(n for n, _k in _PEOPLE), "author")}
_COMMENT_LABELS: Final = _labels("latest", comments)


def _relations(rows: list[RowMapping], include: OrderIncludes) -> PageRelations:
    """The relations of a page's rows, each organisation and user built once however often it recurs."""
    orgs: dict[UUID, Organisation] = {}
    people: dict[UUID, User] = {}
    latest: dict[UUID, Comment] = {}
    org_labels = _ORG_LABELS.items() if include.parties else ()
    user_names = [*(n for n, _k in _PEOPLE if include.people), *(["author"] if include.latest_comment else [])]
    user_labels = [(name, _USER_LABELS[name]) for name in user_names]
    for row in rows:
        for name, labels in org_labels:
            org_id = row[f"{name}__id"]
            if org_id is not None and org_id not in orgs:
                orgs[org_id] = organisation_from_row({key: row[label] for key, label in labels})
        for name, labels in user_labels:
            user_id = row[f"{name}__id"]
            if user_id is not None and user_id not in people:
                people[user_id] = user_from_row({key: row[label] for key, label in labels})
        if include.latest_comment and row["latest__id"] is not None:
            latest[row["id"]] = comment_from_row({key: row[label] for key, label in _COMMENT_LABELS})
    return PageRelations(organisations=orgs, users=people, latest_comments=latest if include.latest_comment else None)


async def status_counts(conn: AsyncConnection, viewer: Viewer, flt: OrderFilter) -> list[StatusCount]:
    """Visible orders per status under the filter (its `statuses` ignored, `archived` kept).

    Every status the `archived` filter admits comes back, in lifecycle order, 0 where no order stands:
    a dashboard shows the whole lifecycle. ARCHIVED is among them only when archived orders are counted
    (`archived` None or True), as the list shows them; by default it is left out, not shown as 0.
    """
    fshape, params = _filter(flt, with_statuses=False)
    found = await count_by(conn, ORDERS, (viewer_shape(viewer), fshape), params | viewer_params(viewer), "status")
    return [StatusCount(status, found.get(status.value, 0)) for status in flt.admitted_statuses()]
