"""The order aggregate: its fields, its quotes, and every rule for changing them.

Methods check the caller's party against the lifecycle table and the field policy (`fields`),
change the state, bump the version and record an `OrderEvent`. No I/O happens here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.common import (
    MAX_TEXT,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    QuoteExpired,
    check_text,
    with_article,
)
from domain.identity import Actor, OrgKind, User
from domain.orders.events import EVERYONE, Audience, EventKind, OrderEvent, jsonable
from domain.orders.fields import FIELD_EDITORS, PROVIDER_PRIVATE_FIELDS, UNSET, Priority, validate_fields
from domain.orders.lifecycle import (
    CLOSED,
    Action,
    OrderKind,
    OrderStatus,
    Party,
    Transition,
    find_transition,
    transitions_from,
)
from domain.orders.lines import Line, total_of, validate_lines
from domain.orders.quotes import Quote, QuoteStatus
from domain.orders.versions import Versions, version_seen


@dataclass(slots=True)
class Order:
    """A request for service from a partner to a provider, through its lifecycle."""

    id: UUID
    programme_id: UUID
    number: int
    kind: OrderKind
    status: OrderStatus
    name: str
    partner_id: UUID
    created_by: UUID
    created_at: datetime
    campaign_name: str = ""
    activity_type: str = ""
    partner_contact_id: UUID | None = None
    provider_id: UUID | None = None
    service_id: UUID | None = None
    end_customer: str = ""
    owner_id: UUID | None = None
    assignee_id: UUID | None = None
    priority: Priority = Priority.NORMAL
    lines: tuple[Line, ...] = ()
    po_number: str = ""
    po_not_required: bool = False
    requested_completion: date | None = None
    planned_completion: date | None = None
    estimated_completion: date | None = None
    provider_notes: str = ""
    cancel_reason: str = ""
    rejected: bool = False
    submitted_at: datetime | None = None
    released_to_provider_at: datetime | None = None
    last_activity_at: datetime | None = None
    # Every command, what a save checks the row against; callers see `version_for` (domain.orders.versions).
    version: int = 1
    public_version: int = 1  # the commands everyone who sees the order sees (its creation is 1)
    audience_versions: dict[Audience, int] = field(default_factory=dict)  # those only one audience sees
    quotes: list[Quote] = field(default_factory=list)
    events: list[OrderEvent] = field(default_factory=list, repr=False)
    _uncounted: Versions | None = field(default=None, init=False, repr=False, compare=False)  # before this command

    # ---- who is asking -------------------------------------------------------------

    def parties_of(self, actor: Actor) -> frozenset[Party]:
        """How `actor` relates to this order; empty when it may not see the order at all."""
        if actor.programme_id != self.programme_id:
            return frozenset()
        if actor.kind is OrgKind.VENDOR:
            return frozenset({Party.VENDOR})
        if actor.kind is OrgKind.PARTNER:
            return frozenset({Party.PARTNER}) if actor.organisation_id == self.partner_id else frozenset()
        if self.released_to_provider_at is not None and self.provider_id == actor.organisation_id:
            return frozenset({Party.PROVIDER})
        if self.is_open_quote_request_for(actor.organisation_id):
            return frozenset({Party.CANDIDATE_PROVIDER})
        return frozenset()

    def is_open_quote_request_for(self, provider_id: UUID) -> bool:
        """True while `provider_id` may quote on this order."""
        return (
            self.kind is OrderKind.QUOTED
            and self.status is OrderStatus.PENDING_QUOTES
            and self.provider_id in (None, provider_id)
        )

    def can_see(self, actor: Actor) -> bool:
        """True when `actor` may read this order."""
        return bool(self.parties_of(actor))

    def version_for(self, actor: Actor) -> int:
        """The order's version as `actor` (who may see it) sees it: bumped by each change it may see (`versions`)."""
        return version_seen(self.public_version, self.audience_versions, actor, self.partner_id)

    def shows_provider_notes_to(self, actor: Actor) -> bool:
        """Provider notes reach the order's provider users only."""
        return Party.PROVIDER in self.parties_of(actor)

    def allowed_transitions(self, actor: Actor) -> list[Transition]:
        """The moves `actor` may make next, in table order."""
        parties = self.parties_of(actor)
        if not parties:
            return []
        return [
            row
            for row in transitions_from(self.status, parties=parties, kind=self.kind)
            if self._guard(row, actor) is None
        ]

    @property
    def total(self) -> Decimal:
        """The order's value: the sum of its line items."""
        return total_of(self.lines)

    # ---- lifecycle -------------------------------------------------------------------

    def submit(self, actor: Actor, now: datetime) -> None:
        """Send a draft: quoted orders open for quotes, flat-fee orders wait for approval."""
        if not self.name.strip():
            raise InvalidInput("An order needs a name before it is submitted.", field="name")
        if self.kind is OrderKind.FLAT_FEE and (self.provider_id is None or not self.lines):
            raise InvalidInput("A flat-fee order needs a provider's service.", field="serviceId")
        target = OrderStatus.PENDING_QUOTES if self.kind is OrderKind.QUOTED else OrderStatus.PENDING_APPROVAL
        self._move(Action.SUBMIT, target, actor, now)
        self.submitted_at = now

    def approve(self, actor: Actor, now: datetime) -> None:
        """Vendor approval of a pending order, or acceptance of a quote request without a quote."""
        if self.status is OrderStatus.PENDING_QUOTES:
            self._move(Action.ACCEPT_WITHOUT_QUOTE, OrderStatus.APPROVED, actor, now)
        else:
            self._move(Action.APPROVE, OrderStatus.APPROVED, actor, now)

    def reject(self, actor: Actor, now: datetime, reason: str) -> None:
        """Vendor rejection: the order is cancelled with the reason REJECTED."""
        self._move(Action.REJECT, OrderStatus.CANCELLED, actor, now, reason=_reason(reason, required=False))
        self.rejected = True

    def change_status(self, actor: Actor, now: datetime, target: OrderStatus) -> None:
        """The provider's Change Status among the working statuses."""
        self._move(Action.CHANGE_STATUS, target, actor, now)

    def cancel(self, actor: Actor, now: datetime, reason: str) -> None:
        """Cancel within the cancel window; a reason is required."""
        self._move(Action.CANCEL, OrderStatus.CANCELLED, actor, now, reason=_reason(reason, required=True))

    def archive(self, actor: Actor, now: datetime) -> None:
        """Archive a complete or cancelled order; it leaves the default Manage Orders view."""
        self._move(Action.ARCHIVE, OrderStatus.ARCHIVED, actor, now)

    def _guard(self, row: Transition, actor: Actor) -> str | None:
        """Conditions beyond the table; returns why the row is closed, or None."""
        # An open request (no provider named) is the partner's to award, through a quote;
        # only a request addressed to one provider may be accepted without a quote.
        if row.action is Action.ACCEPT_WITHOUT_QUOTE and self.provider_id is None:
            return "an open quote request is awarded by accepting one of its quotes"
        return None

    def _move(
        self,
        action: Action,
        target: OrderStatus,
        actor: Actor,
        now: datetime,
        *,
        reason: str | None = None,
    ) -> None:
        parties = self.parties_of(actor)
        row = find_transition(action, self.status, target, parties, self.kind)
        if row is None or self._guard(row, actor) is not None:
            allowed = sorted({t.target.value for t in self.allowed_transitions(actor)})
            raise InvalidTransition(self.status.value, target.value, allowed)
        before: dict[str, Any] = {"status": self.status.value}
        after: dict[str, Any] = {"status": target.value, "action": action.value}
        if reason is not None:
            self.cancel_reason = reason
            after["reason"] = reason
        if self.status is OrderStatus.PENDING_QUOTES:
            # However the request ends (cancelled, accepted without a quote), no quote stays open on it.
            for quote in self.quotes:
                if quote.status is QuoteStatus.SUBMITTED:
                    quote.status = QuoteStatus.CLOSED
                    quote.decided_at = now
        self.status = target
        if target is OrderStatus.APPROVED and self.released_to_provider_at is None:
            self.released_to_provider_at = now
        self._record(EventKind.STATUS_CHANGED, actor, now, before, after)

    # ---- fields ----------------------------------------------------------------------

    def update(self, actor: Actor, now: datetime, changes: dict[str, Any]) -> None:
        """Edit fields under the field policy; recorded as one FIELDS_UPDATED event per audience (`_record_fields`)."""
        if self.status in (OrderStatus.CANCELLED, OrderStatus.ARCHIVED):
            raise PermissionDenied(
                f"{with_article(self.status.value, capital=True)} order can no longer be edited.", field="id"
            )
        parties = self.parties_of(actor)
        changes = {k: v for k, v in changes.items() if v is not UNSET}
        if not changes:
            raise InvalidInput("Nothing to change.", field=None)
        for name in changes:
            editors = FIELD_EDITORS.get(name)
            if editors is None:
                raise InvalidInput(f"{name} cannot be edited.", field=name)
            if not editors & parties:
                raise PermissionDenied(f"You may not edit {name.replace('_', ' ')} on this order.", field=name)
        validate_fields(changes)
        changed: dict[str, tuple[object, object]] = {}
        for name, value in changes.items():
            old = getattr(self, name)
            if old == value:
                continue
            changed[name] = (jsonable(old), jsonable(value))
            setattr(self, name, value)
        if changed:
            self._record_fields(actor, now, changed)

    def set_draft_lines(self, actor: Actor, now: datetime, lines: Sequence[Line]) -> None:
        """Replace the line items of a draft (the buyer side only)."""
        if self.status is not OrderStatus.DRAFT or not {Party.PARTNER, Party.VENDOR} & self.parties_of(actor):
            raise PermissionDenied("Line items can be changed on a draft by its buyer only.", field="lines")
        if self.kind is OrderKind.FLAT_FEE:
            raise PermissionDenied("A flat-fee order is priced by its service.", field="lines")
        new = validate_lines(lines)
        before = jsonable(self.total)
        self.lines = new
        self._record_fields(actor, now, {"total": (before, jsonable(self.total))})

    def assign(self, actor: Actor, now: datetime, assignee: User | None) -> None:
        """Assign the order to a user of its provider (or clear the assignment)."""
        if Party.PROVIDER not in self.parties_of(actor):
            raise PermissionDenied("Only the order's provider assigns it.", field="id")
        if self.status in CLOSED:
            raise PermissionDenied(
                f"{with_article(self.status.value, capital=True)} order can no longer be assigned.", field="id"
            )
        if assignee is not None and (assignee.organisation_id != self.provider_id or not assignee.active):
            raise InvalidInput("The assignee must be an active user of the order's provider.", field="assigneeId")
        new_id = assignee.id if assignee else None
        if new_id == self.assignee_id:
            return
        before = {"assignee_id": jsonable(self.assignee_id)}
        self.assignee_id = new_id
        self._record(EventKind.ASSIGNED, actor, now, before, {"assignee_id": jsonable(new_id)})

    # ---- quotes ----------------------------------------------------------------------

    def submit_quote(
        self,
        actor: Actor,
        now: datetime,
        *,
        lines: Sequence[Line],
        expires_on: date | None,
        promised_completion: date | None,
        message: str,
    ) -> Quote:
        """A provider quotes on an open request; one open quote per provider."""
        self._require_quoting_provider(actor)
        checked = validate_lines(lines)
        if not checked:
            raise InvalidInput("A quote needs at least one line item.", field="lines")
        if expires_on is not None and expires_on < now.date():
            raise InvalidInput("The quote's expiry date is in the past.", field="expiresOn")
        if len(message) > MAX_TEXT:
            raise InvalidInput(f"The message is longer than {MAX_TEXT} characters.", field="message")
        check_text(message, "message")
        if self._open_quote_of(actor.organisation_id) is not None:
            raise InvalidInput("You already have an open quote on this order.", field="orderId")
        quote = Quote(
            id=uuid4(),
            order_id=self.id,
            provider_id=actor.organisation_id,
            status=QuoteStatus.SUBMITTED,
            lines=checked,
            expires_on=expires_on,
            promised_completion=promised_completion,
            message=message.strip(),
            created_by=actor.user_id,
            created_at=now,
        )
        self.quotes.append(quote)
        after = {"quote_id": str(quote.id), "total": jsonable(quote.total)}
        self._record(EventKind.QUOTE_SUBMITTED, actor, now, {}, after, audience=quote.audience, subject=quote.id)
        return quote

    def decline_quote(self, actor: Actor, now: datetime, message: str) -> Quote:
        """A provider declines to quote (withdrawing its open quote, if any)."""
        self._require_quoting_provider(actor)
        check_text(message, "message")
        if any(q.provider_id == actor.organisation_id and q.status is QuoteStatus.DECLINED for q in self.quotes):
            raise InvalidInput("You have already declined to quote on this order.", field="orderId")
        quote = self._open_quote_of(actor.organisation_id)
        if quote is None:
            quote = Quote(
                id=uuid4(),
                order_id=self.id,
                provider_id=actor.organisation_id,
                status=QuoteStatus.DECLINED,
                lines=(),
                expires_on=None,
                promised_completion=None,
                message=message.strip()[:MAX_TEXT],
                created_by=actor.user_id,
                created_at=now,
                decided_at=now,
            )
            self.quotes.append(quote)
        else:
            quote.status = QuoteStatus.DECLINED
            quote.decided_at = now
        after = {"quote_id": str(quote.id), "quote_status": QuoteStatus.DECLINED.value}
        self._record(EventKind.QUOTE_DECLINED, actor, now, {}, after, audience=quote.audience, subject=quote.id)
        return quote

    def accept_quote(self, actor: Actor, now: datetime, quote_id: UUID, approval_threshold: Decimal | None) -> Quote:
        """The partner accepts a quote: others close, the order goes to its provider."""
        quote = self._quote_for_buyer(actor, quote_id)
        if quote.expires_on is not None and quote.expires_on < now.date():
            raise QuoteExpired(f"This quote expired on {quote.expires_on.isoformat()}.", field="id")
        needs_approval = approval_threshold is not None and quote.total > approval_threshold
        target = OrderStatus.PENDING_APPROVAL if needs_approval else OrderStatus.APPROVED
        if find_transition(Action.ACCEPT_QUOTE, self.status, target, self.parties_of(actor), self.kind) is None:
            allowed = sorted({t.target.value for t in self.allowed_transitions(actor)})
            raise InvalidTransition(self.status.value, target.value, allowed)
        quote.status = QuoteStatus.ACCEPTED
        quote.decided_at = now
        for other in self.quotes:
            if other is not quote and other.status is QuoteStatus.SUBMITTED:
                other.status = QuoteStatus.CLOSED
                other.decided_at = now
        before = {"provider_id": jsonable(self.provider_id), "total": jsonable(self.total)}
        self.provider_id = quote.provider_id
        self.lines = quote.lines
        if quote.promised_completion is not None:
            self.estimated_completion = quote.promised_completion
        # The accepted provider learns of the order now, even while the vendor approves it.
        self.released_to_provider_at = now
        after = {"quote_id": str(quote.id), "provider_id": str(quote.provider_id), "total": jsonable(self.total)}
        self._record(EventKind.QUOTE_ACCEPTED, actor, now, before, after, subject=quote.id)
        self._move(Action.ACCEPT_QUOTE, target, actor, now)
        return quote

    def reject_quote(self, actor: Actor, now: datetime, quote_id: UUID, reason: str) -> Quote:
        """The partner rejects one quote; the order stays open for others."""
        quote = self._quote_for_buyer(actor, quote_id)
        quote.status = QuoteStatus.REJECTED
        quote.decided_at = now
        after = {"quote_id": str(quote.id), "quote_status": QuoteStatus.REJECTED.value}
        if reason.strip():
            after["reason"] = reason.strip()[:MAX_TEXT]
        self._record(EventKind.QUOTE_REJECTED, actor, now, {}, after, audience=quote.audience, subject=quote.id)
        return quote

    def quotes_visible_to(self, actor: Actor) -> list[Quote]:
        """The buyer side sees every quote; a provider sees its own (nobody sees any on an order it cannot see)."""
        if not self.can_see(actor):  # Audience.admits assumes the order is visible: any vendor passes buyer_side
            return []
        return [q for q in self.quotes if q.audience.admits(actor, self.partner_id)]

    def _require_quoting_provider(self, actor: Actor) -> None:
        parties = self.parties_of(actor)
        if not actor.is_provider or not {Party.CANDIDATE_PROVIDER, Party.PROVIDER} & parties:
            raise PermissionDenied("Only a provider may quote, on an order open for quotes.", field="orderId")
        if not self.is_open_quote_request_for(actor.organisation_id):
            raise InvalidTransition(self.status.value, OrderStatus.PENDING_QUOTES.value, [])

    def _open_quote_of(self, provider_id: UUID) -> Quote | None:
        return next(
            (q for q in self.quotes if q.provider_id == provider_id and q.status is QuoteStatus.SUBMITTED),
            None,
        )

    def _quote_for_buyer(self, actor: Actor, quote_id: UUID) -> Quote:
        quote = next((q for q in self.quotes if q.id == quote_id), None)
        if quote is None or not self.can_see(actor) or not quote.audience.admits(actor, self.partner_id):
            raise NotFound("Quote")
        if Party.PARTNER not in self.parties_of(actor):
            raise PermissionDenied("Only the ordering partner decides on quotes.", field="id")
        if self.status is not OrderStatus.PENDING_QUOTES:
            raise InvalidTransition(self.status.value, self.status.value, [])
        if quote.status is not QuoteStatus.SUBMITTED:
            raise InvalidInput(f"This quote is {quote.status.value}, not open.", field="id")
        return quote

    # ---- events ----------------------------------------------------------------------

    def _record(
        self,
        kind: EventKind,
        actor: Actor | None,
        now: datetime,
        before: dict[str, Any],
        after: dict[str, Any],
        *,
        audience: Audience = EVERYONE,
        subject: UUID | None = None,
    ) -> None:
        self.events.append(
            OrderEvent(
                kind=kind,
                order_id=self.id,
                actor_user_id=actor.user_id if actor else None,
                actor_org_id=actor.organisation_id if actor else None,
                occurred_at=now,
                before=before,
                after=after,
                audience=audience,
                subject_id=subject,
            )
        )
        self._count_command()
        if audience.org_id is None:  # restricted events must not reveal their time to others
            self.last_activity_at = now

    def _record_fields(self, actor: Actor, now: datetime, changed: dict[str, tuple[object, object]]) -> None:
        """Record changed fields (name -> JSON-ready before and after) as the command's FIELDS_UPDATED events.

        One command records at most one FIELDS_UPDATED event per audience, and each reader sees one,
        holding every changed field it may see, whatever the mix of fields and however many steps of
        the command changed them (an earlier step's, not yet pulled, is merged in):

        - no provider-private field changed: one event everyone who sees the order sees;
        - provider-private fields changed (only the order's provider edits them, so the order is
          released to it and nobody else sees it but the buyer side): one event for the provider's
          organisation with every changed field, and, if other fields changed too, one for the
          buyer side (the partner and the vendor) with those fields only. Provider notes never reach
          the buyer side, and the provider is not told twice.
        """
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        earlier = [e for e in self.events if e.kind is EventKind.FIELDS_UPDATED]
        for event in earlier:
            for name, value in event.before.items():
                before.setdefault(name, value)
            after.update(event.after)
        for name, (old, new) in changed.items():
            before.setdefault(name, old)
            after[name] = new
        self.events = [e for e in self.events if e.kind is not EventKind.FIELDS_UPDATED]
        public = [name for name in after if name not in PROVIDER_PRIVATE_FIELDS]
        if len(public) == len(after):
            groups = [(EVERYONE, public)]
        else:
            groups = [(Audience(org_id=self.provider_id), list(after))]
            if public:
                groups.append((Audience(org_id=self.partner_id, buyer_side=True), public))
        known_to_all = bool(public)  # the public fields' change reaches every reader, in one event or the other
        for audience, names in groups:
            self.events.append(
                OrderEvent(
                    kind=EventKind.FIELDS_UPDATED,
                    order_id=self.id,
                    actor_user_id=actor.user_id,
                    actor_org_id=actor.organisation_id,
                    occurred_at=now,
                    before={name: before[name] for name in names},
                    after={name: after[name] for name in names},
                    audience=audience,
                    known_to_all=known_to_all,
                )
            )
        self._count_command()
        if known_to_all:
            self.last_activity_at = now

    def _count_command(self) -> None:
        """Count the command so far (its unpulled events) once, in the versions of those who may see it."""
        # From the counters before the command: a later step may widen who sees it (notes, then a shared field).
        if self.events[0].kind is not EventKind.ORDER_CREATED:  # a new order is at version 1 for everyone
            self._uncounted = self._uncounted or Versions(self.version, self.public_version, self.audience_versions)
            counted = self._uncounted.with_command(self.events)
            self.version, self.public_version, self.audience_versions = counted.row, counted.public, counted.audiences

    def pull_events(self) -> list[OrderEvent]:
        """Hand the recorded events to the unit of work, once; the next change is a new command."""
        events, self.events = self.events, []
        self._uncounted = None
        return events


def _reason(reason: str, *, required: bool) -> str:
    text = check_text(reason, "reason").strip()
    if required and not text:
        raise InvalidInput("A reason is required.", field="reason")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"The reason is longer than {MAX_TEXT} characters.", field="reason")
    return text
