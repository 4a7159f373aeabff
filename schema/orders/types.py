"""Orders' GraphQL object types: orders, their lines, quotes, comments, attachments and activity.

Each is built from a domain object as the viewer may see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Final, TypeVar, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain import identity as di
from domain import notifications as dn
from domain import orders as do
from domain.identity import MAX_DIRECTORY_ROWS
from schema.common import PERSONAL, After, Context, Node, capped, first_argument, to_global_id
from schema.identity import Organisation, User
from schema.notifications import DeliveriesByOrder, Notification, NotificationRecipients, NotificationSettingsByOrder
from schema.orders.enums import (
    ActivityKind,
    CommentVisibility,
    OrderAction,
    OrderKind,
    OrderStatus,
    Priority,
    QuoteStatus,
)
from schema.orders.loaders import ActivityByOrder, CommentsByOrder, QuotesByOrder


@strawberry.type(description="One line of an order or quote: a service and its cost.")
class LineItem:
    """A line item."""

    description: str = strawberry.field(description="What is provided.")
    quantity: Decimal = strawberry.field(description="How many.")
    unit_price: Decimal = strawberry.field(description="Price of one.")
    total: Decimal = strawberry.field(description="Quantity times unit price.")

    @classmethod
    def from_domain(cls, line: do.Line) -> LineItem:
        """The GraphQL view of a line item."""
        return cls(description=line.description, quantity=line.quantity, unit_price=line.unit_price, total=line.total)


@strawberry.type(description="A provider's quote on a quoted order, or its refusal to quote.")
class Quote:
    """A quote."""

    id: strawberry.ID = strawberry.field(description="The quote's opaque global ID.")
    status: QuoteStatus = strawberry.field(description="Where the quote stands.")
    line_items: list[LineItem] = strawberry.field(description="The quoted services and costs.")
    total: Decimal = strawberry.field(description="The quoted amount.")
    expires_on: date | None = strawberry.field(description="Last day the quote can be accepted.")
    promised_completion: date | None = strawberry.field(description="When the provider promises to complete.")
    message: str = strawberry.field(description="The provider's message to the partner.")
    created_at: datetime = strawberry.field(description="When the quote was submitted.")
    decided_at: datetime | None = strawberry.field(description="When it was accepted, rejected, closed or declined.")
    provider_id: strawberry.Private[UUID]

    @strawberry.field(description="The quoting provider.")
    async def provider(self, info: Info[Context, None]) -> Organisation | None:
        return await Organisation.load(info.context, self.provider_id)

    @classmethod
    def from_domain(cls, quote: do.Quote) -> Quote:
        """The GraphQL view of a quote."""
        return cls(
            id=strawberry.ID(to_global_id("Quote", quote.id)),
            status=quote.status,
            line_items=[LineItem.from_domain(line) for line in quote.lines],
            total=quote.total,
            expires_on=quote.expires_on,
            promised_completion=quote.promised_completion,
            message=quote.message,
            created_at=quote.created_at,
            decided_at=quote.decided_at,
            provider_id=quote.provider_id,
        )


@strawberry.type(description="A file attached to a comment; never modified or deleted.")
class Attachment:
    """An attachment."""

    id: strawberry.ID = strawberry.field(description="The attachment's opaque global ID.")
    filename: str = strawberry.field(description="The file's name as uploaded (sanitised).")
    content_type: str = strawberry.field(description="The type detected from the content.")
    size: int = strawberry.field(description="Size in bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the content, hex.")
    created_at: datetime = strawberry.field(description="When it was attached.")
    url: str = strawberry.field(
        description="Where to download it, with the same bearer token (the server re-checks access)."
    )

    @classmethod
    def from_domain(cls, attachment: do.Attachment) -> Attachment:
        """The GraphQL view of an attachment."""
        return cls(
            id=strawberry.ID(to_global_id("Attachment", attachment.id)),
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            sha256=attachment.sha256,
            created_at=attachment.created_at,
            url=f"/files/{attachment.id}",
        )


@strawberry.type(description="A message on an order's thread.")
class Comment:
    """A comment."""

    id: strawberry.ID = strawberry.field(description="The comment's opaque global ID.")
    body: str = strawberry.field(description="The text.")
    visibility: CommentVisibility = strawberry.field(description="Who may read it.")
    created_at: datetime = strawberry.field(description="When it was written.")
    attachments: list[Attachment] = strawberry.field(description="Files attached to it.")
    author: User | None = strawberry.field(description="Who wrote it.")

    @classmethod
    def from_domain(cls, comment: do.Comment, *, author: User | None = None) -> Comment:
        """The GraphQL view of a comment (its author loaded by schema.orders.build when selected)."""
        return cls(
            id=strawberry.ID(to_global_id("Comment", comment.id)),
            body=comment.body,
            visibility=comment.visibility,
            created_at=comment.created_at,
            attachments=[Attachment.from_domain(a) for a in comment.attachments],
            author=author,
        )


@strawberry.type(description="One entry of an order's activity timeline.")
class ActivityEntry:
    """A timeline entry."""

    id: strawberry.ID = strawberry.field(description="The entry's opaque global ID.")
    kind: ActivityKind = strawberry.field(description="What happened.")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    before: JSON = strawberry.field(description="Changed values before the change.")
    after: JSON = strawberry.field(description="Changed values after the change.")
    actor_id: strawberry.Private[UUID | None]
    order_id: strawberry.Private[UUID]

    @strawberry.field(description="Who made the change (null for the system).")
    async def actor(self, info: Info[Context, None]) -> User | None:
        if self.actor_id is None:
            return None
        return await User.load(info.context, self.actor_id)

    @classmethod
    def from_domain(cls, event: do.OrderEvent) -> ActivityEntry:
        """The GraphQL view of a timeline entry."""
        return cls(
            id=strawberry.ID(to_global_id("ActivityEntry", event.id)),
            kind=event.kind,
            occurred_at=event.occurred_at,
            before=cast(JSON, event.before),
            after=cast(JSON, event.after),
            actor_id=event.actor_user_id,
            order_id=event.order_id,
        )


@strawberry.type(description="A move the viewer may make next.")
class AllowedTransition:
    """An allowed transition."""

    action: OrderAction = strawberry.field(description="The move; each maps to a mutation.")
    status: OrderStatus = strawberry.field(description="The status the order would have after it.")


@strawberry.type(description="A flat-fee service a provider publishes with a price.")
class Service(Node):
    """A flat-fee service."""

    name: str = strawberry.field(description="The service's name.")
    activity_type: str = strawberry.field(description="The kind of activity it is.")
    price: Decimal = strawberry.field(description="Its fixed price.")
    provider_id: strawberry.Private[UUID]

    @strawberry.field(description="The provider offering it.")
    async def provider(self, info: Info[Context, None]) -> Organisation | None:
        return await Organisation.load(info.context, self.provider_id)

    @classmethod
    def from_domain(cls, service: do.Service) -> Service:
        """The GraphQL view of a service."""
        return cls(
            id=strawberry.ID(to_global_id("Service", service.id)),
            name=service.name,
            activity_type=service.activity_type,
            price=service.price,
            provider_id=service.provider_id,
        )


MAX_LISTED: Final = 100
"""The most comments, timeline entries and emails of an order one request reads."""
LISTED: Final = 50
"""How many of an order's comments, timeline entries and emails a request reads unless `first` says."""
MAX_QUOTES: Final = 50
"""The most quotes of an order one request reads (each provider quotes once a round)."""
QUOTES: Final = 20
"""How many quotes of an order a request reads unless `first` says."""


Listed = TypeVar("Listed", do.Comment, do.OrderEvent, dn.Delivery)


def _listed(found: Sequence[Listed], first: int, after: str | None, kind: str) -> list[Listed]:
    """`first` of an order's comments, timeline entries or emails, after the one `after` names."""
    return capped(found, first, default=LISTED, maximum=MAX_LISTED, after=after, kind=kind, id_of=lambda i: i.id)


def _order_lines(root: Order) -> list[LineItem]:
    # resolved when asked for: a page of orders that shows no lines builds none
    return [LineItem.from_domain(line) for line in root.domain.lines]


def _order_total(root: Order) -> Decimal:
    return root.domain.total


@strawberry.type(description="An order: a partner's request for service from a provider, through its lifecycle.")
class Order(Node):
    """An order."""

    number: int = strawberry.field(description="Human-readable number, unique in the programme.")
    name: str = strawberry.field(description="The order's (activity's) name.")
    campaign_name: str = strawberry.field(description="The marketing campaign it belongs to.")
    activity_type: str = strawberry.field(description="The kind of activity ordered (e.g. Webinar).")
    kind: OrderKind = strawberry.field(description="Quoted or flat-fee.")
    status: OrderStatus = strawberry.field(description="Where the order stands.")
    priority: Priority = strawberry.field(description="How urgent it is.")
    version: int = strawberry.field(
        description="Your version of the order: bumped by every change you may see, and by no other; "
        "send it back as expectedVersion."
    )
    line_items: list[LineItem] = strawberry.field(resolver=_order_lines, description="What is ordered.")
    total: Decimal = strawberry.field(resolver=_order_total, description="Sum of the line items.")
    po_number: str = strawberry.field(description="Purchase-order number, if any.")
    po_not_required: bool = strawberry.field(description="True when the partner uses no purchase orders.")
    end_customer: str = strawberry.field(description="The end customer the order is for, if any.")
    requested_completion: date | None = strawberry.field(description="When the partner needs it done.")
    planned_completion: date | None = strawberry.field(description="When the provider plans to finish.")
    estimated_completion: date | None = strawberry.field(description="The provider's estimated completion.")
    provider_notes: str | None = strawberry.field(
        description="The provider's internal notes; null unless you are a user of the order's provider."
    )
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled or rejected.")
    rejected: bool = strawberry.field(description="True when the vendor rejected it.")
    submitted_at: datetime | None = strawberry.field(description="When it left DRAFT.")
    last_activity_at: datetime | None = strawberry.field(description="Time of the newest timeline entry.")
    created_at: datetime = strawberry.field(description="When the draft was created.")
    domain: strawberry.Private[do.Order]

    partner: Organisation | None = strawberry.field(description="The partner that placed the order.")
    provider: Organisation | None = strawberry.field(
        description="The provider the order is addressed to (null for an open quote request)."
    )
    partner_contact: User | None = strawberry.field(description="The partner's contact person for this order.")
    owner: User | None = strawberry.field(description="The provider user who owns the order.")
    assignee: User | None = strawberry.field(description="The provider user the order is assigned to.")
    latest_comment: Comment | None = strawberry.field(description="The newest comment you may see.")

    @strawberry.field(
        description=f"Comments you may see, oldest first: {LISTED} at a time, up to {MAX_LISTED} with first "
        "(continue with after)."
    )
    async def comments(
        self,
        info: Info[Context, None],
        first: Annotated[int, first_argument(LISTED, MAX_LISTED)] = LISTED,
        after: After = None,
    ) -> list[Comment]:
        from schema.orders.build import build_comments, selected_names

        found = await CommentsByOrder.of(info.context).load(self.domain.id)
        page = _listed(found, first, after, "Comment")
        return await build_comments(info.context, page, selected_names(info))

    @strawberry.field(
        description="Quotes you may see: all of them on the buyer side, your own as a provider; "
        f"{QUOTES} unless first asks for up to {MAX_QUOTES}."
    )
    async def quotes(
        self, info: Info[Context, None], first: Annotated[int, first_argument(QUOTES, MAX_QUOTES)] = QUOTES
    ) -> list[Quote]:
        found = await QuotesByOrder.of(info.context).load(self.domain.id)
        return [Quote.from_domain(q) for q in capped(found, first, default=QUOTES, maximum=MAX_QUOTES)]

    @strawberry.field(
        description=f"The activity timeline you may see, oldest first: {LISTED} at a time, up to {MAX_LISTED} "
        "with first (continue with after)."
    )
    async def activity(
        self,
        info: Info[Context, None],
        first: Annotated[int, first_argument(LISTED, MAX_LISTED)] = LISTED,
        after: After = None,
    ) -> list[ActivityEntry]:
        found = await ActivityByOrder.of(info.context).load(self.domain.id)
        page = _listed(found, first, after, "ActivityEntry")
        return [ActivityEntry.from_domain(e) for e in page]

    @strawberry.field(
        description="The emails this order caused that you may see, newest first: never another "
        f"organisation's internal recipients, nor mail about events hidden from you. {LISTED} at a time, up to "
        f"{MAX_LISTED} with first (continue with after)."
    )
    async def notifications(
        self,
        info: Info[Context, None],
        first: Annotated[int, first_argument(LISTED, MAX_LISTED)] = LISTED,
        after: After = None,
    ) -> list[Notification]:
        found = await DeliveriesByOrder.of(info.context).load(self.domain)
        page = _listed(found, first, after, "Notification")
        return [Notification.from_domain(d) for d in page]

    @strawberry.field(description="The notification lists of the order's sides, as far as you may see them.")
    async def notification_recipients(self, info: Info[Context, None]) -> NotificationRecipients:
        shown = await NotificationSettingsByOrder.of(info.context).load(self.domain)
        return NotificationRecipients(
            provider_emails=list(shown.provider_emails) if shown.provider_emails is not None else None,
            partner_emails=list(shown.partner_emails) if shown.partner_emails is not None else None,
        )

    @strawberry.field(
        description="True when you watch the order (orderWatch): you get its comments by email.", metadata=PERSONAL
    )
    async def watching(self, info: Info[Context, None]) -> bool:
        return (await NotificationSettingsByOrder.of(info.context).load(self.domain)).watching

    @strawberry.field(
        description="Users of your own organisation who watch the order (who watches is not shared): "
        f"{LISTED} unless first asks for up to {MAX_DIRECTORY_ROWS}."
    )
    async def watchers(
        self,
        info: Info[Context, None],
        first: Annotated[int, first_argument(LISTED, MAX_DIRECTORY_ROWS)] = LISTED,
    ) -> list[User]:
        shown = await NotificationSettingsByOrder.of(info.context).load(self.domain)
        ids = capped(list(shown.watcher_ids), first, default=LISTED, maximum=MAX_DIRECTORY_ROWS)
        return await User.load_many(info.context, ids)

    @strawberry.field(description="The moves you may make next, each with the status it leads to.")
    def allowed_transitions(self, info: Info[Context, None]) -> list[AllowedTransition]:
        actor = info.context.require_actor()
        return [AllowedTransition(action=t.action, status=t.target) for t in self.domain.allowed_transitions(actor)]

    @classmethod
    def from_domain(
        cls,
        order: do.Order,
        actor: di.Actor,
        *,
        partner: Organisation | None = None,
        provider: Organisation | None = None,
        partner_contact: User | None = None,
        owner: User | None = None,
        assignee: User | None = None,
        latest_comment: Comment | None = None,
    ) -> Order:
        """The order as `actor` may see it; relations come loaded (schema.orders.build) or stay null."""
        notes = order.provider_notes if order.shows_provider_notes_to(actor) else None
        return cls(
            id=strawberry.ID(to_global_id("Order", order.id)),
            number=order.number,
            name=order.name,
            campaign_name=order.campaign_name,
            activity_type=order.activity_type,
            kind=order.kind,
            status=order.status,
            priority=order.priority,
            version=order.version_for(actor),
            po_number=order.po_number,
            po_not_required=order.po_not_required,
            end_customer=order.end_customer,
            requested_completion=order.requested_completion,
            planned_completion=order.planned_completion,
            estimated_completion=order.estimated_completion,
            provider_notes=notes,
            cancel_reason=order.cancel_reason or None,
            rejected=order.rejected,
            submitted_at=order.submitted_at,
            last_activity_at=order.last_activity_at,
            created_at=order.created_at,
            partner=partner,
            provider=provider,
            partner_contact=partner_contact,
            owner=owner,
            assignee=assignee,
            latest_comment=latest_comment,
            domain=order,
        )
