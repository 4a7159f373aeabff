"""Notifications: who is told what about an order, and the signed links that resume a draft.

Pure rules, no I/O:

- `plan_notifications` turns one event into (recipient, template) deliveries, never telling
  anyone what they could not see: internal comments stay in their organisation, provider-only
  events (provider notes) go nowhere, quotes reach only the buyer side and the quoting provider,
  and a provider hears of an order only from the moment it was released to it.
- Per-order recipient lists (provider and partner notification emails) and follow-up messages
  are built here, each recording the event that the outbox turns into email.
- The delivery log's visibility (`delivery_visible_to`).
- Order links: an HMAC over the order id and an expiry, with a secret passed in.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final, TypeVar
from uuid import UUID, uuid5

from domain.comments import Comment, CommentVisibility, Upload, new_comment
from domain.errors import InvalidInput, NotFound, PermissionDenied
from domain.events import EVERYONE, Audience, EventKind, OrderEvent
from domain.identity import Actor, Organisation, OrgKind, Role, User, normalise_email
from domain.lifecycle import Action, OrderStatus, Party
from domain.orders import Order

MAX_RECIPIENTS: Final = 20
"""Most addresses in one recipient list or one follow-up's `to`."""
MAX_EMAIL_LENGTH: Final = 320
MAX_SUBJECT: Final = 200
MAX_LINK_MESSAGE: Final = 4_000
DEFAULT_LINK_TTL: Final = timedelta(days=7)
MAX_LINK_TTL: Final = timedelta(days=30)

E = TypeVar("E", bound=Enum)

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_DELIVERY_NAMESPACE: Final = UUID("5b0d52a6-3a4e-4f43-9e5c-2f8f7f3c9a11")


class RecipientSide(Enum):
    """Whose notification list: the order's provider's (internal to it) or the partner's."""

    PROVIDER = "PROVIDER"
    PARTNER = "PARTNER"


RECIPIENT_FIELDS: Final = {
    RecipientSide.PROVIDER: "provider_notification_emails",
    RecipientSide.PARTNER: "partner_notification_emails",
}
"""The field name a recipient list's changes are recorded under (a FIELDS_UPDATED event)."""


class DeliveryStatus(Enum):
    """Where one email stands: waiting (or retrying), sent, or given up on."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class Template(Enum):
    """The email templates; the value is the template's file name (adapters/email_templates)."""

    STATUS_CHANGED = "status_changed"
    ORDER_APPROVED = "order_approved"
    ORDER_REJECTED = "order_rejected"
    APPROVAL_REQUESTED = "approval_requested"
    QUOTE_REQUESTED = "quote_requested"
    QUOTE_SUBMITTED = "quote_submitted"
    QUOTE_DECLINED = "quote_declined"
    QUOTE_ACCEPTED = "quote_accepted"
    QUOTE_REJECTED = "quote_rejected"
    ORDER_ASSIGNED = "order_assigned"
    COMMENT_ADDED = "comment_added"
    FOLLOW_UP = "follow_up"
    ORDER_LINK = "order_link"


# ---- the people around an order ------------------------------------------------------------


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


# ---- who is told what ---------------------------------------------------------------------


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
            plan.provider_side(Template.QUOTE_REQUESTED)
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


# ---- addresses, recipient lists, watchers ------------------------------------------------------


def clean_email(email: str, *, field: str) -> str:
    """One address, normalised; refused when it is not an email address."""
    text = normalise_email(email)
    if len(text) > MAX_EMAIL_LENGTH or not _EMAIL.match(text) or _has_control(text):
        raise InvalidInput(f"{email.strip()[:80]!r} is not an email address.", field=field)
    return text


def clean_emails(emails: Sequence[str], *, field: str, required: bool = False) -> tuple[str, ...]:
    """Addresses normalised and de-duplicated (first occurrence kept); at most MAX_RECIPIENTS."""
    cleaned: dict[str, None] = {}
    for index, email in enumerate(emails):
        cleaned.setdefault(clean_email(email, field=f"{field}.{index}"), None)
    if len(cleaned) > MAX_RECIPIENTS:
        raise InvalidInput(f"At most {MAX_RECIPIENTS} addresses.", field=field)
    if required and not cleaned:
        raise InvalidInput("At least one address is needed.", field=field)
    return tuple(cleaned)


def recipients_editable_by(actor: Actor, order: Order, side: RecipientSide) -> bool:
    """The provider list is its provider's (once released to it); the partner list the buyer side's."""
    parties = order.parties_of(actor)
    if side is RecipientSide.PROVIDER:
        return Party.PROVIDER in parties
    return bool({Party.PARTNER, Party.VENDOR} & parties)


recipients_visible_to = recipients_editable_by
"""Who may read a recipient list: the same people who may edit it (partners never see the provider's)."""


@dataclass(slots=True)
class RecipientList:
    """One side's notification addresses on one order."""

    order_id: UUID
    side: RecipientSide
    emails: tuple[str, ...] = ()
    events: list[OrderEvent] = field(default_factory=list, repr=False)

    def replace(self, actor: Actor, order: Order, emails: Sequence[str], now: datetime) -> None:
        """Set the list; records a FIELDS_UPDATED event seen only by the list's side."""
        if not recipients_editable_by(actor, order, self.side):
            whose = "the order's provider" if self.side is RecipientSide.PROVIDER else "the ordering partner"
            raise PermissionDenied(f"Only {whose} edits these notification recipients.", field="side")
        if order.status is OrderStatus.ARCHIVED:
            raise PermissionDenied("An archived order can no longer be edited.", field="orderId")
        new = clean_emails(emails, field="emails")
        if new == self.emails:
            return
        name = RECIPIENT_FIELDS[self.side]
        if self.side is RecipientSide.PROVIDER:
            audience = Audience(org_id=order.provider_id)
        else:
            audience = Audience(org_id=order.partner_id, buyer_side=True)
        self.events.append(
            OrderEvent(
                kind=EventKind.FIELDS_UPDATED,
                order_id=order.id,
                actor_user_id=actor.user_id,
                actor_org_id=actor.organisation_id,
                occurred_at=now,
                before={name: list(self.emails)},
                after={name: list(new)},
                audience=audience,
            )
        )
        self.emails = new

    def pull_events(self) -> list[OrderEvent]:
        """Hand the recorded events to the unit of work, once."""
        events, self.events = self.events, []
        return events


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """An order's recipient lists and watchers, as stored."""

    order_id: UUID
    recipients: Mapping[RecipientSide, tuple[str, ...]] = field(default_factory=dict)
    watcher_ids: frozenset[UUID] = frozenset()


@dataclass(frozen=True, slots=True)
class VisibleSettings:
    """What a viewer may see of an order's notification settings (None: not for you)."""

    provider_emails: tuple[str, ...] | None
    partner_emails: tuple[str, ...] | None
    watching: bool
    watcher_ids: tuple[UUID, ...]


def settings_visible_to(
    actor: Actor, order: Order, settings: NotificationSettings, people: Mapping[UUID, UUID]
) -> VisibleSettings:
    """The lists the viewer's side may see, whether it watches, and the watchers of its own organisation.

    `people` maps the watchers' user ids to their organisation ids. Who watches is personal: you see
    your colleagues who watch, never the other side's.
    """
    shown = {
        side: settings.recipients.get(side, ()) if recipients_visible_to(actor, order, side) else None
        for side in RecipientSide
    }
    colleagues = sorted(
        (u for u in settings.watcher_ids if people.get(u) == actor.organisation_id), key=lambda u: str(u)
    )
    return VisibleSettings(
        provider_emails=shown[RecipientSide.PROVIDER],
        partner_emails=shown[RecipientSide.PARTNER],
        watching=actor.user_id in settings.watcher_ids,
        watcher_ids=tuple(colleagues),
    )


# ---- follow-up messages --------------------------------------------------------------------


def clean_subject(subject: str) -> str:
    """A one-line subject of 1 to MAX_SUBJECT characters (email headers take no line breaks)."""
    text = " ".join(subject.split())
    if not text or len(text) > MAX_SUBJECT or _has_control(text):
        raise InvalidInput(f"A subject is one line of 1 to {MAX_SUBJECT} characters.", field="subject")
    return text


def new_follow_up(
    *,
    actor: Actor,
    order: Order,
    now: datetime,
    to: Sequence[str],
    subject: str,
    body: str,
    visibility: CommentVisibility,
    files: list[tuple[Upload, str]],
    colleagues: Collection[str],
) -> Comment:
    """A follow-up: a comment on the order's thread that is also emailed to `to`.

    An INTERNAL follow-up stays in the author's organisation, so each of its addresses must be
    an active colleague's (`colleagues`: their normalised emails).
    """
    recipients = clean_emails(to, field="to", required=True)
    clean = clean_subject(subject)
    if not body.strip():
        raise InvalidInput("A follow-up needs a body.", field="body")
    if visibility is CommentVisibility.INTERNAL:
        outside = [email for email in recipients if email not in colleagues]
        if outside:
            raise InvalidInput(
                f"An internal follow-up goes to colleagues only; {outside[0]} is not one. Send it SHARED.",
                field="to",
            )
    comment = new_comment(actor=actor, order=order, now=now, body=body, visibility=visibility, files=files)
    event = comment.events[0]
    message = {"to": list(recipients), "subject": clean}
    comment.events[0] = dataclasses.replace(event, after={**event.after, "message": message})
    return comment


# ---- order links -----------------------------------------------------------------------------


@dataclass(slots=True)
class OrderLink:
    """A signed, expiring link to a DRAFT order, emailed to a user of its partner."""

    order_id: UUID
    to: str
    subject: str
    message: str
    expires_at: datetime
    events: list[OrderEvent] = field(default_factory=list, repr=False)

    def pull_events(self) -> list[OrderEvent]:
        """Hand the recorded events to the unit of work, once."""
        events, self.events = self.events, []
        return events


def new_order_link(
    *,
    actor: Actor,
    order: Order,
    now: datetime,
    recipient: Person | None,
    to: str,
    subject: str,
    message: str,
    ttl: timedelta = DEFAULT_LINK_TTL,
) -> OrderLink:
    """A link for a user of the ordering partner to finish a DRAFT; records ORDER_LINK_SENT (buyer side only)."""
    if not {Party.PARTNER, Party.VENDOR} & order.parties_of(actor):
        raise PermissionDenied("Only the ordering partner (or the vendor) sends order links.", field="orderId")
    if order.status is not OrderStatus.DRAFT:
        raise InvalidInput(
            f"Only a DRAFT order can be resumed from a link; this one is {order.status.value}.", field="orderId"
        )
    email = clean_email(to, field="to")
    if recipient is None or recipient.email != email or recipient.organisation_id != order.partner_id:
        raise InvalidInput("The link goes to a user of the ordering partner, who signs in to finish it.", field="to")
    if not recipient.active:
        raise InvalidInput(f"{email} is no longer an active user.", field="to")
    if not timedelta(hours=1) <= ttl <= MAX_LINK_TTL:
        raise InvalidInput(f"A link lasts from 1 hour to {MAX_LINK_TTL.days} days.", field="expiresInHours")
    text = message.strip()
    if len(text) > MAX_LINK_MESSAGE:
        raise InvalidInput(f"The message is at most {MAX_LINK_MESSAGE} characters.", field="message")
    clean = clean_subject(subject or f"Finish order #{order.number}: {order.name}"[:MAX_SUBJECT])
    expires_at = (now + ttl).replace(microsecond=0)
    link = OrderLink(order.id, email, clean, text, expires_at)
    link.events.append(
        OrderEvent(
            kind=EventKind.ORDER_LINK_SENT,
            order_id=order.id,
            actor_user_id=actor.user_id,
            actor_org_id=actor.organisation_id,
            occurred_at=now,
            after={"to": email, "subject": clean, "message": text, "expires_at": expires_at.isoformat()},
            audience=Audience(org_id=order.partner_id, buyer_side=True),
        )
    )
    return link


_LINK_PURPOSE: Final = b"ordergraph-order-link-v1"


def sign_order_link(order_id: UUID, expires_at: datetime, secret: bytes) -> str:
    """A URL-safe token naming the order and the expiry, with an HMAC-SHA256 over both."""
    if not secret:
        raise ValueError("an order link needs a secret")
    payload = f"{order_id.hex}.{int(expires_at.timestamp())}"
    return f"{payload}.{_b64(_mac(payload, secret))}"


def verify_order_link(token: str, secret: bytes, now: datetime) -> tuple[UUID, datetime]:
    """The order id and expiry of a genuine, unexpired token; InvalidInput (field token) otherwise."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not secret:
        raise InvalidInput("This order link is not valid.", field="token")
    order_hex, expiry, signature = parts
    payload = f"{order_hex}.{expiry}"
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        order_id = UUID(hex=order_hex)
        expires_at = datetime.fromtimestamp(int(expiry), UTC)
    except (ValueError, binascii.Error, OverflowError, OSError):
        raise InvalidInput("This order link is not valid.", field="token") from None
    if not hmac.compare_digest(given, _mac(payload, secret)):
        raise InvalidInput("This order link is not valid.", field="token")
    if now >= expires_at:
        raise InvalidInput(f"This order link expired at {expires_at.isoformat()}; ask for a new one.", field="token")
    return order_id, expires_at


def _mac(payload: str, secret: bytes) -> bytes:
    return hmac.new(secret, _LINK_PURPOSE + b":" + payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


# ---- the delivery log ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """One email of the delivery log: an event's notification to one recipient."""

    id: UUID
    event_id: UUID
    order_id: UUID
    recipient: str
    template: Template
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    audience: Audience
    event_audience: Audience
    event_kind: EventKind
    last_error: str = ""
    sent_at: datetime | None = None
    generation: int = 0


def delivery_visible_to(actor: Actor, order: Order, delivery: Delivery) -> bool:
    """Seen by whoever may see both its event and the organisation it was sent to (or for).

    So a partner never sees the provider's internal list, the vendor never sees provider-only
    deliveries, and nobody learns of an internal comment of another organisation.
    """
    return (
        delivery.order_id == order.id
        and order.can_see(actor)
        and delivery.event_audience.admits(actor, order.partner_id)
        and delivery.audience.admits(actor, order.partner_id)
    )


def check_resend(actor: Actor, order: Order, delivery: Delivery | None) -> Delivery:
    """The delivery to send again: any the actor may see (a pending one is tried at once, a sent one once more)."""
    if delivery is None or not delivery_visible_to(actor, order, delivery):
        raise NotFound("Notification")
    return delivery
