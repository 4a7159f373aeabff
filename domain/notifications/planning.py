"""Planning notifications: one event becomes (recipient, template) deliveries.

Never tells anyone what they could not see: internal comments stay in their organisation,
provider-only events go nowhere, quotes reach only the buyer side and the quoting provider,
and a provider hears of an order only from the moment it was released to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, TypeVar
from uuid import UUID, uuid5

from domain.identity import Actor, Organisation, OrgKind, Role, User, normalise_email
from domain.notifications.deliveries import Template
from domain.notifications.recipients import RecipientSide
from domain.orders import (
    EVERYONE,
    Action,
    Audience,
    CommentVisibility,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
)

E = TypeVar("E", bound=Enum)


_DELIVERY_NAMESPACE: Final = UUID("5b0d52a6-3a4e-4f43-9e5c-2f8f7f3c9a11")


@dataclass(frozen=True, slots=True)
class Person:
    """A user with what the rules need of its organisation."""

    user_id: UUID
    email: str
    name: str
    organisation_id: UUID
    kind: OrgKind
    role: Role
    programme_id: UUID
    active: bool = True

    @classmethod
    def of(cls, user: User, organisation: Organisation) -> Person:
        """The person behind a user of `organisation`."""
        return cls(
            user.id,
            normalise_email(user.email),
            user.name,
            organisation.id,
            organisation.kind,
            user.role,
            organisation.programme_id,
            user.active,
        )

    @property
    def actor(self) -> Actor:
        """The person as a caller, for visibility checks."""
        return Actor(self.user_id, self.organisation_id, self.kind, self.role, self.programme_id)


@dataclass(frozen=True, slots=True)
class Circle:
    """The people a notification about one order may reach.

    `people`: the users of the organisations around the order (its partner, its provider and any
    quoting provider, the vendor) and its watchers, by id. `recipients`: the order's lists.
    """

    people: Mapping[UUID, Person] = field(default_factory=dict)
    watchers: frozenset[UUID] = frozenset()
    recipients: Mapping[RecipientSide, tuple[str, ...]] = field(default_factory=dict)

    def by_email(self, email: str) -> Person | None:
        """The person with this (normalised) email, if any."""
        wanted = normalise_email(email)
        return next((p for p in self.people.values() if p.email == wanted), None)

    def admins_of(self, organisation_id: UUID) -> list[Person]:
        """Active admins of an organisation, by email for a stable order."""
        found = [
            p
            for p in self.people.values()
            if p.organisation_id == organisation_id and p.role is Role.ADMIN and p.active
        ]
        return sorted(found, key=lambda p: p.email)


@dataclass(frozen=True, slots=True)
class Planned:
    """One email to send for an event: to whom, with which template, and who may see it in the log."""

    recipient: str
    template: Template
    audience: Audience


def delivery_id(event_id: UUID, recipient: str) -> UUID:
    """The one id of the delivery of an event to a recipient: the same whoever computes it, however often."""
    return uuid5(_DELIVERY_NAMESPACE, f"{event_id}/{normalise_email(recipient)}")


def row_audience(organisation_id: UUID, kind: OrgKind) -> Audience:
    """Who sees a delivery made to (or on behalf of) an organisation: it, and the vendor for a partner."""
    return Audience(org_id=organisation_id, buyer_side=kind is OrgKind.PARTNER)


def could_see(organisation_id: UUID, kind: OrgKind, event: OrderEvent, order: Order) -> bool:
    """True when users of this organisation could see `event` when it happened.

    A provider sees an order's events from its release to it (`released_to_provider_at`), events
    addressed to its own organisation (its quotes, its comments while quoting), and the events of
    an open quote request it may still quote on.
    """
    probe = Actor(organisation_id, organisation_id, kind, Role.MEMBER, order.programme_id)
    if not event.audience.admits(probe, order.partner_id):
        return False
    if kind is OrgKind.VENDOR:
        return True
    if kind is OrgKind.PARTNER:
        return organisation_id == order.partner_id
    released = order.released_to_provider_at
    if order.provider_id == organisation_id and released is not None and released <= event.occurred_at:
        return True
    if event.audience.org_id == organisation_id or order.is_open_quote_request_for(organisation_id):
        return True
    # The provider named on a quote request saw it while it was open: it hears how the request ended.
    return (
        event.kind is EventKind.STATUS_CHANGED
        and event.before.get("status") == OrderStatus.PENDING_QUOTES.value
        and order.provider_id == organisation_id
    )


class _Plan:
    """Deliveries being planned for one event: one per address, the first reason wins."""

    def __init__(self, event: OrderEvent, order: Order, circle: Circle) -> None:
        self.event, self.order, self.circle = event, order, circle
        actor = circle.people.get(event.actor_user_id) if event.actor_user_id else None
        self.actor_email = actor.email if actor else None
        self.planned: dict[str, Planned] = {}

    def person(self, person: Person | None, template: Template) -> None:
        """A user of the order's circle, when it could see the event (never the actor)."""
        if person is None or not person.active or person.email == self.actor_email:
            return
        if person.programme_id != self.order.programme_id:
            return
        if could_see(person.organisation_id, person.kind, self.event, self.order):
            self._add(person.email, template, row_audience(person.organisation_id, person.kind))

    def address(self, email: str, template: Template, audience: Audience) -> None:
        """An address outside the circle's users (a list entry, a follow-up's `to`)."""
        email = normalise_email(email)
        if email != self.actor_email:  # the actor knows what it did
            self._add(email, template, audience)

    def explicit(self, email: str, template: Template, audience: Audience) -> None:
        """An address the actor chose itself (a follow-up's `to`): sent even to the actor."""
        self._add(normalise_email(email), template, audience)

    def _add(self, email: str, template: Template, audience: Audience) -> None:
        self.planned.setdefault(email, Planned(email, template, audience))

    # ---- the two sides ----

    def partner_side(self, template: Template) -> None:
        """The partner's contact for the order (its creator if none) and the partner's list."""
        order = self.order
        contact = self.circle.people.get(order.partner_contact_id or order.created_by)
        if contact is None or not contact.active:
            contact = self.circle.people.get(order.created_by)
        self.person(contact, template)
        if could_see(order.partner_id, OrgKind.PARTNER, self.event, order):
            for email in self.circle.recipients.get(RecipientSide.PARTNER, ()):
                self.address(email, template, row_audience(order.partner_id, OrgKind.PARTNER))

    def provider_side(self, template: Template, provider_id: UUID | None = None, *, extra: Iterable[UUID] = ()) -> None:
        """A provider's people for the order: assignee and owner (else its admins), `extra`, and its list."""
        order = self.order
        provider_id = provider_id or order.provider_id
        if provider_id is None or not could_see(provider_id, OrgKind.PROVIDER, self.event, order):
            return
        people = self.circle.people
        chosen = [
            people[user_id]
            for user_id in (*extra, order.assignee_id, order.owner_id)
            if user_id is not None
            and user_id in people
            and people[user_id].organisation_id == provider_id
            and people[user_id].active
        ]
        for person in chosen or self.circle.admins_of(provider_id):
            self.person(person, template)
        if provider_id == order.provider_id:
            for email in self.circle.recipients.get(RecipientSide.PROVIDER, ()):
                self.address(email, template, row_audience(provider_id, OrgKind.PROVIDER))

    def providers_invited(self, template: Template) -> None:
        """The provider(s) a quote request asks: the one it names, else every provider of the programme."""
        if self.order.provider_id is not None:
            self.provider_side(template)
            return
        providers = {p.organisation_id for p in self.circle.people.values() if p.kind is OrgKind.PROVIDER}
        for provider_id in sorted(providers):
            self.provider_side(template, provider_id)

    def vendor_admins(self, template: Template) -> None:
        """The vendor's admins (who approve orders)."""
        vendors = {p.organisation_id for p in self.circle.people.values() if p.kind is OrgKind.VENDOR}
        for vendor_id in sorted(vendors):
            for person in self.circle.admins_of(vendor_id):
                self.person(person, template)

    def other_sides(self, template: Template) -> None:
        """The side(s) the actor is not on: both sides for the vendor or the system."""
        kind = self._actor_kind()
        if kind is not OrgKind.PARTNER:
            self.partner_side(template)
        if kind is not OrgKind.PROVIDER:
            self.provider_side(template)

    def watchers(self, template: Template) -> None:
        """Everyone watching the order who could see the event."""
        people = self.circle.people
        for user_id in sorted(self.circle.watchers):
            self.person(people.get(user_id), template)

    def _actor_kind(self) -> OrgKind | None:
        actor = self.circle.people.get(self.event.actor_user_id) if self.event.actor_user_id else None
        return actor.kind if actor else None

    def actor_audience(self) -> Audience:
        """The log audience of what the actor sent itself: its organisation's."""
        actor = self.circle.people.get(self.event.actor_user_id) if self.event.actor_user_id else None
        if actor is None:
            return Audience(org_id=self.event.actor_org_id) if self.event.actor_org_id else EVERYONE
        return row_audience(actor.organisation_id, actor.kind)


def plan_notifications(event: OrderEvent, order: Order, circle: Circle) -> list[Planned]:
    """The emails an event causes: one per address, each with its template, none to anyone who could not see it."""
    plan = _Plan(event, order, circle)
    handler = _HANDLERS.get(event.kind)
    if handler is not None:
        handler(plan)
    return list(plan.planned.values())


def _status_changed(plan: _Plan) -> None:
    after = plan.event.after
    action = _enum_or_none(Action, after.get("action"))
    target = _enum_or_none(OrderStatus, after.get("status"))
    if action is Action.SUBMIT:
        if target is OrderStatus.PENDING_QUOTES:
            plan.providers_invited(Template.QUOTE_REQUESTED)
        elif target is OrderStatus.PENDING_APPROVAL:
            plan.vendor_admins(Template.APPROVAL_REQUESTED)
    elif action is Action.ACCEPT_QUOTE:
        # The accepted provider hears through QUOTE_ACCEPTED; the vendor when it must approve.
        if target is OrderStatus.PENDING_APPROVAL:
            plan.vendor_admins(Template.APPROVAL_REQUESTED)
    elif action in (Action.APPROVE, Action.ACCEPT_WITHOUT_QUOTE):
        plan.other_sides(Template.ORDER_APPROVED)
    elif action is Action.REJECT:
        plan.other_sides(Template.ORDER_REJECTED)
    else:
        plan.other_sides(Template.STATUS_CHANGED)


def _quote_of(plan: _Plan) -> tuple[UUID | None, UUID | None]:
    """The quote's provider and author, from the order's quotes (or the event)."""
    subject = plan.event.subject_id
    quote = next((q for q in plan.order.quotes if q.id == subject), None)
    if quote is not None:
        return quote.provider_id, quote.created_by
    provider = plan.event.after.get("provider_id") or plan.event.audience.org_id
    return _uuid_or_none(provider), None


def _to_buyer(template: Template) -> Any:
    def handler(plan: _Plan) -> None:
        plan.partner_side(template)

    return handler


def _to_quoting_provider(template: Template) -> Any:
    def handler(plan: _Plan) -> None:
        provider_id, author = _quote_of(plan)
        plan.provider_side(template, provider_id, extra=[author] if author else [])

    return handler


def _assigned(plan: _Plan) -> None:
    assignee = _uuid_or_none(plan.event.after.get("assignee_id"))
    if assignee is not None:
        plan.person(plan.circle.people.get(assignee), Template.ORDER_ASSIGNED)


def _comment_added(plan: _Plan) -> None:
    after = plan.event.after
    message = after.get("message")
    template = Template.FOLLOW_UP if isinstance(message, dict) else Template.COMMENT_ADDED
    if isinstance(message, dict):
        audience = plan.actor_audience()
        for email in message.get("to", ()):
            plan.explicit(str(email), template, audience)
    if after.get("visibility") == CommentVisibility.SHARED.value:
        plan.other_sides(template)
    plan.watchers(template)


def _order_link_sent(plan: _Plan) -> None:
    to = plan.event.after.get("to")
    person = plan.circle.by_email(str(to)) if to else None
    # Only to a user of the ordering partner who can see the order (checked again: it may have changed).
    if person is not None and person.active and person.organisation_id == plan.order.partner_id:
        plan.explicit(person.email, Template.ORDER_LINK, plan.actor_audience())


_HANDLERS: Final[dict[EventKind, Any]] = {
    EventKind.STATUS_CHANGED: _status_changed,
    EventKind.QUOTE_SUBMITTED: _to_buyer(Template.QUOTE_SUBMITTED),
    EventKind.QUOTE_DECLINED: _to_buyer(Template.QUOTE_DECLINED),
    EventKind.QUOTE_ACCEPTED: _to_quoting_provider(Template.QUOTE_ACCEPTED),
    EventKind.QUOTE_REJECTED: _to_quoting_provider(Template.QUOTE_REJECTED),
    EventKind.ASSIGNED: _assigned,
    EventKind.COMMENT_ADDED: _comment_added,
    EventKind.ORDER_LINK_SENT: _order_link_sent,
}
"""Event kinds that notify anyone; the others (creation, field edits) tell no one by email."""


def _enum_or_none(enum: type[E], value: object) -> E | None:
    try:
        return enum(value)
    except ValueError:
        return None


def _uuid_or_none(value: object) -> UUID | None:
    if isinstance(value, UUID) or value is None:
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None
