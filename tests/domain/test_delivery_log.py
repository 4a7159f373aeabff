"""The delivery side of notifications: recipient lists, who sees which delivery, and resends."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from uuid import uuid4

import pytest

from domain.common.errors import InvalidInput, NotFound, PermissionDenied
from domain.notifications.deliveries import Delivery, DeliveryStatus, Template, check_resend, delivery_visible_to
from domain.notifications.planning import delivery_id
from domain.notifications.recipients import NotificationSettings, RecipientList, RecipientSide, settings_visible_to
from domain.orders.events import EVERYONE, Audience, EventKind
from domain.orders.order import Order
from tests.domain.world import (
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
    flat_fee_approved,
    make_world,
)

# ---- recipient lists --------------------------------------------------------------------------


def test_each_side_edits_and_sees_only_its_own_list() -> None:
    world = make_world()
    _, order = flat_fee_approved(world)
    provider_list = RecipientList(order.id, RecipientSide.PROVIDER)
    with pytest.raises(PermissionDenied):
        provider_list.replace(world.actor(PARTNER), order, ["a@x.example"], world.tick())
    with pytest.raises(PermissionDenied):
        provider_list.replace(world.actor(VENDOR), order, ["a@x.example"], world.tick())
    provider_list.replace(world.actor(PROVIDER), order, ["B@x.example", "b@x.example", "c@x.example"], world.tick())
    assert provider_list.emails == ("b@x.example", "c@x.example")
    [event] = provider_list.pull_events()
    assert (event.kind, event.audience) == (EventKind.FIELDS_UPDATED, Audience(org_id=world.org_id(PROVIDER)))
    assert event.after == {"provider_notification_emails": ["b@x.example", "c@x.example"]}

    partner_list = RecipientList(order.id, RecipientSide.PARTNER)
    with pytest.raises(PermissionDenied):
        partner_list.replace(world.actor(PROVIDER), order, ["a@x.example"], world.tick())
    partner_list.replace(world.actor(VENDOR), order, ["a@x.example"], world.tick())
    [event] = partner_list.pull_events()
    assert event.audience == Audience(org_id=order.partner_id, buyer_side=True)

    settings = NotificationSettings(
        order.id,
        {RecipientSide.PROVIDER: provider_list.emails, RecipientSide.PARTNER: partner_list.emails},
        frozenset({world.users[PARTNER_2].id, world.users[PROVIDER_2].id}),
    )
    owners = {world.users[PARTNER_2].id: world.org_id(PARTNER), world.users[PROVIDER_2].id: world.org_id(PROVIDER)}
    as_partner = settings_visible_to(world.actor(PARTNER), order, settings, owners)
    assert (as_partner.provider_emails, as_partner.partner_emails) == (None, ("a@x.example",))
    assert as_partner.watcher_ids == (world.users[PARTNER_2].id,)  # never the other side's watchers
    as_provider = settings_visible_to(world.actor(PROVIDER_2), order, settings, owners)
    assert (as_provider.provider_emails, as_provider.partner_emails) == (("b@x.example", "c@x.example"), None)
    assert as_provider.watching is True


def test_an_unchanged_list_records_nothing() -> None:
    world = make_world()
    _, order = flat_fee_approved(world)
    partner_list = RecipientList(order.id, RecipientSide.PARTNER, ("a@x.example",))
    partner_list.replace(world.actor(PARTNER), order, [" A@x.example "], world.tick())
    assert partner_list.pull_events() == []


# ---- the delivery log's visibility ------------------------------------------------------------------


def delivery(order: Order, audience: Audience, event_audience: Audience = EVERYONE) -> Delivery:
    event_id = uuid4()
    return Delivery(
        id=delivery_id(event_id, "x@y.example"),
        event_id=event_id,
        order_id=order.id,
        recipient="x@y.example",
        template=Template.COMMENT_ADDED,
        status=DeliveryStatus.SENT,
        attempts=1,
        created_at=order.created_at,
        audience=audience,
        event_audience=event_audience,
        event_kind=EventKind.COMMENT_ADDED,
    )


def test_the_log_shows_each_organisation_its_own_deliveries() -> None:
    world = make_world()
    _, order = flat_fee_approved(world)
    partner, provider = world.org_id(PARTNER), world.org_id(PROVIDER)
    to_provider_list = delivery(order, Audience(org_id=provider))
    to_partner = delivery(order, Audience(org_id=partner, buyer_side=True))
    internal_to_partner = delivery(order, Audience(org_id=partner, buyer_side=True), Audience(org_id=partner))
    seen = {
        who: [
            name
            for name, d in (("provider", to_provider_list), ("partner", to_partner), ("internal", internal_to_partner))
            if delivery_visible_to(world.actor(who), order, d)
        ]
        for who in (PARTNER, PROVIDER, VENDOR, OTHER_PARTNER, OTHER_PROVIDER)
    }
    assert seen == {
        PARTNER: ["partner", "internal"],
        PROVIDER: ["provider"],
        VENDOR: ["partner"],  # not the provider's own list, not the partner's internal mail
        OTHER_PARTNER: [],
        OTHER_PROVIDER: [],
    }


MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("status", "attempts", "sent_minutes_ago", "refused"),
    [
        pytest.param(DeliveryStatus.FAILED, 15, None, None, id="failed: starts over"),
        pytest.param(DeliveryStatus.PENDING, 3, None, None, id="retrying: tried at once"),
        pytest.param(DeliveryStatus.PENDING, 0, None, "queued for its first try", id="queued: on its way"),
        pytest.param(DeliveryStatus.SENT, 1, 1, "can be sent again from", id="sent a minute ago"),
        pytest.param(DeliveryStatus.SENT, 1, 9, "can be sent again from", id="sent 9 minutes ago"),
        pytest.param(DeliveryStatus.SENT, 1, 10, None, id="sent 10 minutes ago: once more"),
    ],
)
def test_a_resend_never_makes_a_stream_of_copies(
    status: DeliveryStatus, attempts: int, sent_minutes_ago: int | None, refused: str | None
) -> None:
    world = make_world()
    _, order = flat_fee_approved(world)
    now = world.tick()
    sent_at = now - sent_minutes_ago * MINUTE if sent_minutes_ago is not None else None
    mail = dataclasses.replace(
        delivery(order, Audience(org_id=world.org_id(PARTNER), buyer_side=True)),
        status=status,
        attempts=attempts,
        sent_at=sent_at,
    )
    if refused is None:
        assert check_resend(world.actor(PARTNER), order, mail, now) is mail
    else:
        with pytest.raises(InvalidInput, match=refused) as no:
            check_resend(world.actor(PARTNER), order, mail, now)
        assert no.value.field == "id"
    # and one the actor may not see is not found, whatever its state
    with pytest.raises(NotFound):
        check_resend(world.actor(OTHER_PARTNER), order, mail, now)
