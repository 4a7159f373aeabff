"""What a viewer may read of orders, in SQL: every read of the orders context applies it.

The order visibility predicate mirrors `Order.can_see`, the audience predicate mirrors
`Audience.admits`, and provider notes are blanked in the SELECT list unless the viewer is the
order's provider, so they never leave the database for anyone else. Who may see which organisations
and users is identity's (`adapters.identity.organisation_scope`, `user_scope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    FromClause,
    Select,
    Text,
    and_,
    bindparam,
    case,
    literal,
    or_,
    true,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.identity import identity_tables
from adapters.orders.tables import comments, orders
from domain.orders import (
    OrderKind,
    OrderStatus,
    Viewer,
)

organisations, users = identity_tables.organisations, identity_tables.users


Params = dict[str, Any]


async def fetch(conn: AsyncConnection, stmt: Select[Any], params: Params) -> Sequence[RowMapping]:
    """Every row of a statement template run with its parameters, as mappings."""
    rows: Sequence[RowMapping] = (await conn.execute(stmt, params)).mappings().all()
    return rows


def unique(ids: Sequence[UUID]) -> list[UUID]:
    """Ids without repeats, in first-seen order."""
    return list(dict.fromkeys(ids))


@dataclass(frozen=True, slots=True)
class ViewerShape:
    """What about a viewer changes the SQL (values go in parameters)."""

    partner_scoped: bool
    provider_scoped: bool
    is_vendor: bool
    is_provider: bool


def viewer_shape(viewer: Viewer) -> ViewerShape:
    """What of the viewer shapes the SQL (the statement cache key)."""
    return ViewerShape(
        partner_scoped=viewer.orders.partner_id is not None,
        provider_scoped=viewer.orders.provider_id is not None,
        is_vendor=viewer.audience.is_vendor,
        is_provider=viewer.is_provider,
    )


def viewer_params(viewer: Viewer) -> Params:
    """The viewer's values for the scope predicates' bind parameters."""
    return {
        "v_programme": viewer.orders.programme_id,
        "v_partner": viewer.orders.partner_id,
        "v_provider": viewer.orders.provider_id,
        "v_audience_org": viewer.audience.organisation_id,
        "v_org": viewer.organisation_id,
    }


def param(name: str) -> BindParameter[Any]:
    """A named bind parameter (values travel as parameters, statements are cached)."""
    return bindparam(name)


def ids_param(name: str = "ids") -> BindParameter[Any]:
    """An expanding bind parameter for `IN (...)` over a list of ids."""
    return bindparam(name, expanding=True)


def visible(t: FromClause, who: ViewerShape) -> ColumnElement[bool]:
    """SQL for `Order.can_see`: the programme, narrowed to the partner's or the provider's orders."""
    clauses: list[ColumnElement[bool]] = [t.c.programme_id == param("v_programme")]
    if who.partner_scoped:
        clauses.append(t.c.partner_id == param("v_partner"))
    if who.provider_scoped:
        clauses.append(
            or_(
                # Party.PROVIDER: released to this provider.
                and_(t.c.provider_id == param("v_provider"), t.c.released_to_provider_at.is_not(None)),
                # Party.CANDIDATE_PROVIDER: an open quote request it may quote on.
                and_(
                    t.c.kind == OrderKind.QUOTED.value,
                    t.c.status == OrderStatus.PENDING_QUOTES.value,
                    or_(t.c.provider_id.is_(None), t.c.provider_id == param("v_provider")),
                ),
            )
        )
    return and_(*clauses)


def buyer_side(who: ViewerShape, order: FromClause = orders) -> ColumnElement[bool]:
    """True where the viewer is on the buyer side of the joined order: the vendor or its partner."""
    if who.is_vendor:
        return true()
    return order.c.partner_id == param("v_audience_org")


def admits(
    org_col: ColumnElement[Any], buyer_col: ColumnElement[Any], who: ViewerShape, order: FromClause = orders
) -> ColumnElement[bool]:
    """SQL for `Audience.admits` over a row's audience columns (the row's order joined as `order`)."""
    return or_(
        org_col.is_(None),
        org_col == param("v_audience_org"),
        and_(buyer_col.is_(True), buyer_side(who, order)),
    )


def comment_scope(who: ViewerShape) -> tuple[ColumnElement[bool], ...]:
    """Comments (joined to `orders`) the viewer may see: on a visible order, and in their audience."""
    return (
        visible(orders, who),
        admits(comments.c.audience_org_id, comments.c.audience_buyer_side, who),
    )


def order_columns(t: FromClause, who: ViewerShape) -> list[ColumnElement[Any]]:
    """The order's columns for `order_from_row`, provider notes blanked unless the viewer is its provider."""
    notes: ColumnElement[Any]
    if who.is_provider:
        # Order.shows_provider_notes_to: the order's released provider (the programme is in the WHERE).
        own = and_(t.c.provider_id == param("v_org"), t.c.released_to_provider_at.is_not(None))
        notes = case((own, t.c.provider_notes), else_=literal("", Text))
    else:
        notes = literal("", Text)
    columns: list[ColumnElement[Any]] = [c for c in t.c if c.key not in ("provider_notes", "total")]
    columns.append(notes.label("provider_notes"))
    return columns
