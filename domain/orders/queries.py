"""The read side of orders: filters, sorts, pages, status counts and the `OrderQueries` port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol
from uuid import UUID

from domain.common import Keyset, PageRequest, SortDirection
from domain.identity import Actor, Organisation, OrgKind, User, visible_user_kinds
from domain.orders.catalogue import Service
from domain.orders.comments import Attachment, Comment
from domain.orders.events import OrderEvent
from domain.orders.lifecycle import OrderStatus
from domain.orders.order import Order
from domain.orders.quotes import Quote
from domain.orders.visibility import AudienceScope, OrderScope, audience_scope, order_scope


class OrderSortField(Enum):
    """Manage Orders sort keys."""

    SUBMITTED_AT = "SUBMITTED_AT"
    LAST_ACTIVITY_AT = "LAST_ACTIVITY_AT"
    ESTIMATED_COMPLETION = "ESTIMATED_COMPLETION"
    NUMBER = "NUMBER"


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Manage Orders filters; empty means no restriction. Archived orders only when asked."""

    partner_ids: tuple[UUID, ...] = ()
    provider_ids: tuple[UUID, ...] = ()
    statuses: tuple[OrderStatus, ...] = ()
    activity_types: tuple[str, ...] = ()
    assignee_ids: tuple[UUID, ...] = ()
    archived: bool | None = False  # False: hide ARCHIVED; True: only ARCHIVED; None: both
    search: str = ""


@dataclass(frozen=True, slots=True)
class OrderSort:
    """Sort key and direction; ties are broken by order id."""

    field: OrderSortField = OrderSortField.LAST_ACTIVITY_AT
    direction: SortDirection = SortDirection.DESC


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of Manage Orders, in sort order, with the keys to continue."""

    orders: Sequence[Order]
    keys: Sequence[Keyset]
    has_next: bool
    has_previous: bool
    total_count: int | None = None


@dataclass(frozen=True, slots=True)
class StatusCount:
    """How many visible orders stand in one status."""

    status: OrderStatus
    count: int


@dataclass(frozen=True, slots=True)
class Viewer:
    """The scopes of one caller, as the read side needs them."""

    orders: OrderScope
    audience: AudienceScope
    is_provider: bool
    organisation_id: UUID
    programme_id: UUID
    user_kinds: frozenset[OrgKind] = frozenset()


def viewer_for(actor: Actor) -> Viewer:
    """The read-side scopes of `actor`."""
    return Viewer(
        orders=order_scope(actor),
        audience=audience_scope(actor),
        is_provider=actor.is_provider,
        organisation_id=actor.organisation_id,
        programme_id=actor.programme_id,
        user_kinds=visible_user_kinds(actor),
    )


class OrderQueries(Protocol):
    """View-shaped reads, each scoped to the viewer."""

    async def order_page(self, viewer: Viewer, flt: OrderFilter, sort: OrderSort, page: PageRequest) -> OrderPage:
        """A page of Manage Orders (quotes not loaded; provider notes blanked unless provider)."""
        ...

    async def status_counts(self, viewer: Viewer, flt: OrderFilter) -> list[StatusCount]:
        """Visible orders per status, under the filter (its `statuses` ignored)."""
        ...

    async def orders_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[Order | None]:
        """Orders by id, None where absent or not visible."""
        ...

    async def organisations_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[Organisation | None]:
        """Organisations of the viewer's programme by id."""
        ...

    async def users_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[User | None]:
        """Users by id: the viewer's organisation's and those of `Viewer.user_kinds` in its programme."""
        ...

    async def latest_comment_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[Comment | None]:
        """The newest comment the viewer may see, per order."""
        ...

    async def comments_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[Comment]]:
        """Visible comments per order, oldest first, with their attachments."""
        ...

    async def quotes_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[Quote]]:
        """Visible quotes per order, newest first."""
        ...

    async def activity_by_order(self, viewer: Viewer, order_ids: Sequence[UUID]) -> list[list[OrderEvent]]:
        """Visible timeline entries per order, oldest first."""
        ...

    async def activity_by_id(self, viewer: Viewer, ids: Sequence[UUID]) -> list[OrderEvent | None]:
        """Timeline entries by id, None where absent or not visible."""
        ...

    async def attachment(self, viewer: Viewer, attachment_id: UUID) -> Attachment | None:
        """One attachment, if the viewer may see its comment."""
        ...

    async def services_of_programme(self, viewer: Viewer) -> list[Service]:
        """Active flat-fee services of the viewer's programme."""
        ...

    async def users_of_organisation(self, viewer: Viewer, organisation_id: UUID) -> list[User]:
        """Active users of an organisation of the viewer's programme (for assignee pickers)."""
        ...
