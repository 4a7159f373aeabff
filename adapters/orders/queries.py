"""The read side of orders: `OrderQueries` as set-based SQL, every method scoped to the viewer.

(`left_view_by_event` is scoped to what the domain lets a viewer learn of an order it no longer
sees: that it left its view, and when.)

Each method runs one SQL statement for however many ids it is given (`comments_by_order`
runs a second for the attachments when any comment has one; `order_page` runs a second only
when a page comes back empty but still owes its total or its has-previous/has-next answer),
so the number of statements per GraphQL request does not grow with the page size.

Statements are templates with named bind parameters, built once per shape (the viewer's
kind, which filters are set, the sort, which cursors are given) and cached: building a
SELECT of the order's thirty-odd columns costs more Python time than running it, and this
is the hot path of every Manage Orders request. Values travel as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Select,
    Text,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.identity import (
    directory_params,
    identity_tables,
    organisation_from_row,
    organisation_scope,
    user_columns,
    user_from_row,
    user_scope,
)
from adapters.orders.listing import order_page, status_counts
from adapters.orders.mapping import (
    attachment_from_row,
    comment_from_row,
    event_from_row,
    order_from_row,
    quote_from_row,
    service_from_row,
)
from adapters.orders.scope import (
    Params,
    ViewerShape,
    admits,
    buyer_side,
    comment_scope,
    fetch,
    ids_param,
    order_columns,
    param,
    unique,
    viewer_params,
    viewer_shape,
    visible,
)
from adapters.orders.tables import attachments, comments, order_activity, orders, quotes, services
from domain.common import PageRequest
from domain.identity import Actor, Organisation, OrgKind, User
from domain.orders import (
    NO_INCLUDES,
    VIEW_CHANGES,
    Attachment,
    Comment,
    LeftView,
    Order,
    OrderEvent,
    OrderFilter,
    OrderIncludes,
    OrderPage,
    OrderSort,
    Quote,
    Service,
    StatusCount,
    Viewer,
    left_view,
)

organisations, users = identity_tables.organisations, identity_tables.users


class SqlOrderQueries:
    """`domain.orders.OrderQueries` over SQLAlchemy Core; one pooled connection per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ---- Manage Orders ---------------------------------------------------------------

    async def order_page(
        self,
        viewer: Viewer,
        flt: OrderFilter,
        sort: OrderSort,
        page: PageRequest,
        include: OrderIncludes = NO_INCLUDES,
    ) -> OrderPage:
        """A keyset page of visible orders under the filter, with the relations `include` asks for."""
        async with self._engine.connect() as conn:
            return await order_page(conn, viewer, flt, sort, page, include)

    async def status_counts(self, viewer: Viewer, flt: OrderFilter) -> list[StatusCount]:
        """Visible orders per status under the filter (its `statuses` ignored, `archived` kept).

        Every status the `archived` filter admits, in lifecycle order, 0 where none stands.
        """
        async with self._engine.connect() as conn:
            return await status_counts(conn, viewer, flt)

    # ---- by id -----------------------------------------------------------------------

    async def orders_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[Order | None]:
        """Orders in the order of `ids`; None where absent or not visible."""
        if not ids:
            return []
        params = viewer_params(viewer) | {"ids": unique(ids)}
        rows = await self._all(_orders_by_id_statement(viewer_shape(viewer)), params)
        found = {order.id: order for order in map(order_from_row, rows)}
        return [found.get(i) for i in ids]

    async def organisations_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[Organisation | None]:
        """Organisations of the viewer's programme in the order of `ids`; None for the rest."""
        if not ids:
            return []
        params = directory_params(viewer.programme_id, viewer.organisation_id, viewer.user_kinds) | {"ids": unique(ids)}
        rows = await self._all(_organisations_statement(), params)
        found = {org.id: org for org in map(organisation_from_row, rows)}
        return [found.get(i) for i in ids]

    async def users_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[User | None]:
        """Visible users (see Viewer.user_kinds) in the order of `ids` (password hash blank); None for the rest."""
        if not ids:
            return []
        params = directory_params(viewer.programme_id, viewer.organisation_id, viewer.user_kinds) | {"ids": unique(ids)}
        rows = await self._all(_users_statement(), params)
        found = {user.id: user for user in map(user_from_row, rows)}
        return [found.get(i) for i in ids]

    # ---- relations of orders ---------------------------------------------------------

    async def latest_comment_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[Comment | None]:
        """The newest comment the viewer may see per order, with its attachments, in one statement."""
        if not order_ids:
            return []
        params = viewer_params(viewer) | {"ids": unique(order_ids)}
        rows = await self._all(_latest_comment_statement(viewer_shape(viewer)), params)
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
        shape = viewer_shape(viewer)
        params = viewer_params(viewer) | {"ids": unique(order_ids)}
        async with self._engine.connect() as conn:
            rows = await fetch(conn, _comments_statement(shape), params)
            any_files = any(row["has_files"] for row in rows)
            file_rows = await fetch(conn, _comment_files_statement(shape), params) if any_files else []
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
        params = viewer_params(viewer) | {"ids": unique(order_ids)}
        grouped: dict[UUID, list[Quote]] = {}
        for row in await self._all(_quotes_statement(viewer_shape(viewer)), params):
            grouped.setdefault(row["order_id"], []).append(quote_from_row(row))
        return [list(grouped.get(i, ())) for i in order_ids]

    async def activity_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[OrderEvent]]:
        """Visible timeline entries per order, oldest first (ties by id)."""
        if not order_ids:
            return []
        params = viewer_params(viewer) | {"ids": unique(order_ids)}
        grouped: dict[UUID, list[OrderEvent]] = {}
        for row in await self._all(_activity_statement(viewer_shape(viewer)), params):
            grouped.setdefault(row["order_id"], []).append(event_from_row(row))
        return [list(grouped.get(i, ())) for i in order_ids]

    async def activity_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[OrderEvent | None]:
        """Visible timeline entries by id (one statement), None where absent or not visible."""
        if not ids:
            return []
        params = viewer_params(viewer) | {"ids": unique(ids)}
        found = {
            row["id"]: event_from_row(row)
            for row in await self._all(_activity_by_id_statement(viewer_shape(viewer)), params)
        }
        return [found.get(i) for i in ids]

    async def left_view_by_event(self, actor: Actor, event_ids: Sequence[UUID]) -> list[LeftView | None]:
        """For each event, the order it took out of `actor`'s view, else None (one statement).

        Reads the events that may change who sees an order, with their orders, in the actor's programme
        (unscoped beyond it, as the order is no longer visible); the domain decides, and only the order's
        id and the event's time leave this method.
        """
        if not event_ids:
            return []
        params = {"ids": unique(event_ids), "v_programme": actor.programme_id}
        found: dict[UUID, LeftView] = {}
        for row in await self._all(_left_view_statement(), params):
            event = event_from_row({k.removeprefix("a_"): v for k, v in row.items() if k.startswith("a_")})
            order = order_from_row({k.removeprefix("o_"): v for k, v in row.items() if k.startswith("o_")})
            if left_view(order, event, actor):
                found[event.id] = LeftView(order.id, event.occurred_at)
        return [found.get(i) for i in event_ids]

    async def attachment(self, viewer: Viewer, attachment_id: UUID) -> Attachment | None:
        """One attachment, if the viewer may see its order and its comment."""
        params = viewer_params(viewer) | {"attachment_id": attachment_id}
        rows = await self._all(_attachment_statement(viewer_shape(viewer)), params)
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

    async def _all(self, stmt: Select[Any], params: Params) -> Sequence[RowMapping]:
        async with self._engine.connect() as conn:
            return await fetch(conn, stmt, params)


@cache
def _orders_by_id_statement(who: ViewerShape) -> Select[Any]:
    return select(*order_columns(orders, who)).where(orders.c.id.in_(ids_param()), visible(orders, who))


@cache
def _organisations_statement() -> Select[Any]:
    return select(organisations).where(organisations.c.id.in_(ids_param()), organisation_scope())


@cache
def _users_statement() -> Select[Any]:
    return (
        select(*user_columns())
        .join_from(users, organisations, organisations.c.id == users.c.organisation_id)
        .where(users.c.id.in_(ids_param()), user_scope())
    )


@cache
def _latest_comment_statement(who: ViewerShape) -> Select[Any]:
    # Rank each order's visible comments newest first, keep the first, and bring its files along.
    rank = (
        func.row_number()
        .over(partition_by=comments.c.order_id, order_by=(comments.c.created_at.desc(), comments.c.id.desc()))
        .label("rank")
    )
    ranked = (
        select(*comments.c, rank)
        .join_from(comments, orders, orders.c.id == comments.c.order_id)
        .where(comments.c.order_id.in_(ids_param()), *comment_scope(who))
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
def _comments_statement(who: ViewerShape) -> Select[Any]:
    # `has_files` lets the caller skip the attachments statement when no comment has any.
    has_files = exists().where(attachments.c.comment_id == comments.c.id).label("has_files")
    return (
        select(comments, has_files)
        .join_from(comments, orders, orders.c.id == comments.c.order_id)
        .where(comments.c.order_id.in_(ids_param()), *comment_scope(who))
        .order_by(comments.c.created_at, comments.c.id)
    )


@cache
def _comment_files_statement(who: ViewerShape) -> Select[Any]:
    return (
        select(attachments)
        .join_from(attachments, comments, comments.c.id == attachments.c.comment_id)
        .join(orders, orders.c.id == comments.c.order_id)
        .where(comments.c.order_id.in_(ids_param()), *comment_scope(who))
        .order_by(attachments.c.created_at, attachments.c.filename, attachments.c.id)
    )


@cache
def _quotes_statement(who: ViewerShape) -> Select[Any]:
    return (
        select(quotes)
        .join_from(quotes, orders, orders.c.id == quotes.c.order_id)
        .where(
            quotes.c.order_id.in_(ids_param()),
            visible(orders, who),
            # Quote.audience: its provider plus the buyer side.
            or_(quotes.c.provider_id == param("v_audience_org"), buyer_side(who)),
        )
        .order_by(quotes.c.created_at.desc(), quotes.c.id.desc())
    )


@cache
def _activity_statement(who: ViewerShape) -> Select[Any]:
    a = order_activity
    return (
        select(a)
        .join_from(a, orders, orders.c.id == a.c.order_id)
        .where(
            a.c.order_id.in_(ids_param()),
            visible(orders, who),
            admits(a.c.audience_org_id, a.c.audience_buyer_side, who),
        )
        .order_by(a.c.occurred_at, a.c.seq, a.c.id)
    )


@cache
def _activity_by_id_statement(who: ViewerShape) -> Select[Any]:
    a = order_activity
    return (
        select(a)
        .join_from(a, orders, orders.c.id == a.c.order_id)
        .where(a.c.id.in_(ids_param()), visible(orders, who), admits(a.c.audience_org_id, a.c.audience_buyer_side, who))
    )


@cache
def _left_view_statement() -> Select[Any]:
    a = order_activity
    # Provider notes never leave the database here: the domain's rule needs none of them.
    order_cols = [c.label(f"o_{c.key}") for c in orders.c if c.key not in ("provider_notes", "total")]
    return (
        select(*(c.label(f"a_{c.key}") for c in a.c), *order_cols, literal("", Text).label("o_provider_notes"))
        .join_from(a, orders, orders.c.id == a.c.order_id)
        .where(
            a.c.id.in_(ids_param()),
            a.c.kind.in_(sorted(kind.value for kind in VIEW_CHANGES)),
            orders.c.programme_id == param("v_programme"),
        )
    )


@cache
def _attachment_statement(who: ViewerShape) -> Select[Any]:
    return (
        select(attachments)
        .join_from(attachments, comments, comments.c.id == attachments.c.comment_id)
        .join(orders, orders.c.id == comments.c.order_id)
        .where(attachments.c.id == param("attachment_id"), *comment_scope(who))
    )


@cache
def _services_statement() -> Select[Any]:
    return (
        select(services)
        .join_from(services, organisations, organisations.c.id == services.c.provider_id)
        .where(
            organisations.c.programme_id == param("v_programme"),
            organisations.c.kind == OrgKind.PROVIDER.value,
            services.c.active.is_(True),
        )
        .order_by(services.c.name, services.c.id)
    )


@cache
def _staff_statement() -> Select[Any]:
    return (
        select(*user_columns())
        .join_from(users, organisations, organisations.c.id == users.c.organisation_id)
        .where(
            users.c.organisation_id == param("organisation_id"),
            organisations.c.programme_id == param("v_programme"),
            users.c.active.is_(True),
        )
        .order_by(users.c.name, users.c.id)
    )
