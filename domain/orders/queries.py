"""The read side of orders: filters, sorts, pages, status counts and the `OrderQueries` port."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from domain.orders.visibility import AudienceScope, LeftView, OrderScope, audience_scope, order_scope


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

    def admitted_statuses(self) -> tuple[OrderStatus, ...]:
        """The statuses `archived` lets an order be in, in lifecycle order (`statuses` not applied)."""
        if self.archived is True:
            return (OrderStatus.ARCHIVED,)
        if self.archived is False:
            return tuple(s for s in OrderStatus if s is not OrderStatus.ARCHIVED)
        return tuple(OrderStatus)


@dataclass(frozen=True, slots=True)
class OrderSort:
    """Sort key and direction; ties are broken by order id."""

    field: OrderSortField = OrderSortField.LAST_ACTIVITY_AT
    direction: SortDirection = SortDirection.DESC


@dataclass(frozen=True, slots=True)
class OrderIncludes:
    """Which relations of a page's orders to read with the page itself, in the same statement.

    Each comes back scoped exactly as its own query would return it (`organisations_by_id`,
    `users_by_id`, `latest_comment_by_order`); a latest comment read this way has no attachments
    loaded, so ask for it only when its attachments are not wanted.
    """

    parties: bool = False
    """The partner and provider organisations."""
    people: bool = False
    """The partner contact, owner and assignee."""
    latest_comment: bool = False
    """The newest comment the viewer may see, with its author."""

    def __bool__(self) -> bool:
        return self.parties or self.people or self.latest_comment


NO_INCLUDES = OrderIncludes()
"""A page's orders alone."""


@dataclass(frozen=True, slots=True)
class PageRelations:
    """The relations read with a page: what was asked for in `OrderIncludes`, by id."""

    organisations: Mapping[UUID, Organisation] = field(default_factory=dict)
    users: Mapping[UUID, User] = field(default_factory=dict)
    latest_comments: Mapping[UUID, Comment] | None = None
    """Per order id (absent: the order has none the viewer may see); None when not asked for."""


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of Manage Orders, in sort order, with the keys to continue."""

    orders: Sequence[Order]
    keys: Sequence[Keyset]
    has_next: bool
    has_previous: bool
    total_count: int | None = None
    relations: PageRelations = field(default_factory=PageRelations)


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

    async def order_page(
        self,
        viewer: Viewer,
        flt: OrderFilter,
        sort: OrderSort,
        page: PageRequest,
        include: OrderIncludes = NO_INCLUDES,
    ) -> OrderPage:
        """A page of Manage Orders (quotes not loaded; provider notes blanked unless provider).

        The relations `include` asks for come back in `OrderPage.relations`, read in the same statement.
        """
        ...

    async def status_counts(self, viewer: Viewer, flt: OrderFilter) -> list[StatusCount]:
        """Visible orders per status under the filter (its `statuses` ignored).

        Every one of `flt.admitted_statuses()`, in lifecycle order, 0 where none stands.
        """
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

    async def left_view_by_event(self, actor: Actor, event_ids: Sequence[UUID]) -> list[LeftView | None]:
        """For each event, the order it took out of `actor`'s view (`domain.orders.left_view`), else None.

        The one read of an order the actor may not see: it answers with the order's id and the event's
        time, and only for an event that ended the actor's sight of it.
        """
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
