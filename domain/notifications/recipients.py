"""Per-order recipient lists: email validation, who may edit each side, who may read them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final
from uuid import UUID

from domain.common import InvalidInput, PermissionDenied, has_control
from domain.identity import Actor, normalise_email
from domain.orders import (
    Audience,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
    Party,
)

MAX_RECIPIENTS: Final = 20
"""Most addresses in one recipient list or one follow-up's `to`."""


MAX_EMAIL_LENGTH: Final = 320


_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class RecipientSide(Enum):
    """Whose notification list: the order's provider's (internal to it) or the partner's."""

    PROVIDER = "PROVIDER"
    PARTNER = "PARTNER"


RECIPIENT_FIELDS: Final = {
    RecipientSide.PROVIDER: "provider_notification_emails",
    RecipientSide.PARTNER: "partner_notification_emails",
}
"""The field name a recipient list's changes are recorded under (a FIELDS_UPDATED event)."""


def clean_email(email: str, *, field: str) -> str:
    """One address, normalised; refused when it is not an email address."""
    text = normalise_email(email)
    if len(text) > MAX_EMAIL_LENGTH or not _EMAIL.match(text) or has_control(text):
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
