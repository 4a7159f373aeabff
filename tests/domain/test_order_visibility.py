"""Who sees an order and as what: the parties of each user, the provider's notes and the events that carry them."""

from __future__ import annotations

from typing import Any

import pytest

from domain.orders.events import Audience, EventKind, jsonable
from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderStatus, Party
from domain.orders.order import Order
from domain.orders.quotes import QuoteStatus
from tests.domain.world import (
    EVERY_USER,
    FOREIGN_PROVIDER,
    FOREIGN_VENDOR,
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
    D,
    World,
    accepted,
    approved_order,
    committed,
    flat_fee_draft,
    make_world,
    open_request,
    quote_on,
    quoted_draft,
)

S = OrderStatus
P = Party


# ---- provider notes ----------------------------------------------------------------------------------


def test_provider_notes_changes_are_an_event_only_the_provider_organisation_sees() -> None:
    # given an approved order
    world = make_world()
    order = approved_order(world)
    version = order.version
    # when the provider changes the priority and its notes in one command
    order.update(world.actor(PROVIDER), world.tick(), {"priority": Priority.HIGH, "provider_notes": "Secret"})
    # then the version moves once; the provider's event has both fields, the buyer side's the priority only
    assert order.version == version + 1
    mine, theirs = order.pull_events()
    assert mine.before == {"priority": "NORMAL", "provider_notes": ""}
    assert mine.after == {"priority": "HIGH", "provider_notes": "Secret"}
    assert mine.audience == Audience(org_id=world.org_id(PROVIDER), buyer_side=False)
    admitted = {who for who in EVERY_USER if mine.audience.admits(world.actor(who), order.partner_id)}
    assert admitted == {PROVIDER, PROVIDER_2}
    assert (theirs.before, theirs.after) == ({"priority": "NORMAL"}, {"priority": "HIGH"})
    assert theirs.audience == Audience(org_id=order.partner_id, buyer_side=True)
    assert {who for who in EVERY_USER if _seen_events(order, [theirs], world, who)} == {PARTNER, PARTNER_2, VENDOR}
    # and the notes themselves are shown to the provider's users only
    shown = {who for who in EVERY_USER if order.shows_provider_notes_to(world.actor(who))}
    assert shown == {PROVIDER, PROVIDER_2}


def _seen_events(order: Order, events: list[Any], world: World, who: str) -> list[Any]:
    """The events `who` may see: on an order it sees, in their audience (as the timeline shows them)."""
    actor = world.actor(who)
    if not order.can_see(actor):
        return []
    return [e for e in events if e.audience.admits(actor, order.partner_id)]


PROVIDER_MIXES: list[dict[str, Any]] = [
    {"provider_notes": "Call on Tuesday"},
    {"estimated_completion": D},
    {"provider_notes": "Call on Tuesday", "estimated_completion": D},
    {
        "provider_notes": "Call on Tuesday",
        "estimated_completion": D,
        "planned_completion": D,
        "priority": Priority.HIGH,
    },
    {"estimated_completion": D, "planned_completion": D, "owner_id": None},
]


@pytest.mark.parametrize("changes", PROVIDER_MIXES, ids=lambda c: "+".join(c))
def test_one_provider_edit_is_one_event_for_each_reader_with_every_field_it_may_see(changes: dict[str, Any]) -> None:
    # given an approved order (its owner set, so that clearing it is a change)
    world = make_world()
    order = approved_order(world)
    order.update(world.actor(PROVIDER), world.tick(), {"owner_id": world.users[PROVIDER_2].id})
    committed(order)
    before = {name: getattr(order, name) for name in changes}
    # when the provider edits any mix of its fields in one command
    order.update(world.actor(PROVIDER), world.tick(), dict(changes))
    events = order.pull_events()
    assert {e.kind for e in events} == {EventKind.FIELDS_UPDATED}
    for who in EVERY_USER:
        seen = _seen_events(order, events, world, who)
        if not order.can_see(world.actor(who)):
            assert seen == [], who
            continue
        # then everyone who sees the order sees exactly one event of it, with every changed field it may see
        expected = {n for n in changes if n != "provider_notes" or order.shows_provider_notes_to(world.actor(who))}
        if not expected:
            assert seen == [], who
            continue
        [event] = seen
        assert set(event.after) == set(event.before) == expected, who
        assert event.before == {n: jsonable(before[n]) for n in expected}, who
        assert event.after == {n: jsonable(changes[n]) for n in expected}, who
    # and at most one event per audience, the provider notes in none a non-provider may see
    assert len({e.audience for e in events}) == len(events)
    assert all(
        "provider_notes" not in e.after
        for e in events
        if any(e.audience.admits(world.actor(who), order.partner_id) for who in (PARTNER, VENDOR))
    )


def test_a_mixed_provider_edit_moves_last_activity_and_a_notes_only_edit_does_not() -> None:
    # given an approved order
    world = make_world()
    order = approved_order(world)
    last = order.last_activity_at
    # when the provider changes only its notes, then "last activity" (seen by all) keeps its time
    order.update(world.actor(PROVIDER), world.tick(), {"provider_notes": "Private"})
    committed(order)
    assert order.last_activity_at == last
    # and when it changes its notes and the estimate together, the change everyone learns of moves it
    order.update(world.actor(PROVIDER), world.tick(), {"provider_notes": "More", "estimated_completion": D})
    assert order.last_activity_at == world.now
    assert all(e.moves_last_activity for e in order.pull_events())


def test_a_provider_notes_change_does_not_move_last_activity_which_everyone_sees() -> None:
    # given an approved order last touched at its approval
    world = make_world()
    order = approved_order(world)
    last = order.last_activity_at
    # when only the provider notes change, then "last activity" (visible to all) keeps its time
    order.update(world.actor(PROVIDER), world.tick(), {"provider_notes": "Private"})
    assert order.last_activity_at == last
    # and a public change moves it
    order.update(world.actor(PROVIDER), world.tick(), {"priority": Priority.HIGH})
    assert order.last_activity_at == world.now


# ---- visibility --------------------------------------------------------------------------------------


def _scenario(name: str, world: World) -> Order:
    partner, vendor = world.actor(PARTNER), world.actor(VENDOR)
    if name == "quoted draft":
        return quoted_draft(world)
    if name == "quoted, open to all":
        return open_request(world)
    if name == "quoted, addressed to the provider":
        return open_request(world, provider=PROVIDER)
    if name in ("quoted, accepted", "quoted, accepted over the threshold"):
        return accepted(world, total=1000 if name == "quoted, accepted" else 50_000)[0]
    order = flat_fee_draft(world)
    if name == "flat fee draft":
        return order
    order.submit(partner, world.tick())
    if name == "flat fee pending approval":
        return order
    if name == "flat fee rejected":
        order.reject(vendor, world.tick(), "")
        return order
    order.approve(vendor, world.tick())
    assert name == "flat fee approved"
    return order


NO: Party | None = None  # cannot see the order
# scenario -> the party of: partner, partner_2, other partner, provider, provider_2, other provider, vendor,
# foreign vendor, foreign provider (None: cannot see the order at all)
VISIBILITY: dict[str, tuple[Party | None, ...]] = {
    "quoted draft": (P.PARTNER, P.PARTNER, NO, NO, NO, NO, P.VENDOR, NO, NO),
    "quoted, open to all": (
        *(P.PARTNER, P.PARTNER, NO),
        *(P.CANDIDATE_PROVIDER, P.CANDIDATE_PROVIDER, P.CANDIDATE_PROVIDER),
        *(P.VENDOR, NO, NO),
    ),
    "quoted, addressed to the provider": (
        *(P.PARTNER, P.PARTNER, NO),
        *(P.CANDIDATE_PROVIDER, P.CANDIDATE_PROVIDER, NO),
        *(P.VENDOR, NO, NO),
    ),
    "quoted, accepted": (P.PARTNER, P.PARTNER, NO, P.PROVIDER, P.PROVIDER, NO, P.VENDOR, NO, NO),
    "quoted, accepted over the threshold": (P.PARTNER, P.PARTNER, NO, P.PROVIDER, P.PROVIDER, NO, P.VENDOR, NO, NO),
    "flat fee draft": (P.PARTNER, P.PARTNER, NO, NO, NO, NO, P.VENDOR, NO, NO),
    "flat fee pending approval": (P.PARTNER, P.PARTNER, NO, NO, NO, NO, P.VENDOR, NO, NO),
    "flat fee rejected": (P.PARTNER, P.PARTNER, NO, NO, NO, NO, P.VENDOR, NO, NO),
    "flat fee approved": (P.PARTNER, P.PARTNER, NO, P.PROVIDER, P.PROVIDER, NO, P.VENDOR, NO, NO),
}
WHO = (
    PARTNER,
    PARTNER_2,
    OTHER_PARTNER,
    PROVIDER,
    PROVIDER_2,
    OTHER_PROVIDER,
    VENDOR,
    FOREIGN_VENDOR,
    FOREIGN_PROVIDER,
)


@pytest.mark.parametrize("scenario", VISIBILITY)
def test_who_sees_an_order_and_as_what(scenario: str) -> None:
    world = make_world()
    order = _scenario(scenario, world)
    for who, party in zip(WHO, VISIBILITY[scenario], strict=True):
        actor = world.actor(who)
        assert order.parties_of(actor) == ({party} if party else set()), (scenario, who)
        assert order.can_see(actor) is (party is not None), (scenario, who)
        # provider notes reach the users of the provider the order was released to, and no one else
        assert order.shows_provider_notes_to(actor) is (party is P.PROVIDER), (scenario, who)
        if party is None:
            assert order.allowed_transitions(actor) == []
            assert order.quotes_visible_to(actor) == []


def test_a_losing_provider_loses_sight_of_the_order_and_its_own_quote_on_it() -> None:
    world = make_world()
    order, _, theirs = accepted(world)
    assert theirs.status is QuoteStatus.CLOSED
    assert not order.can_see(world.actor(OTHER_PROVIDER))
    assert order.quotes_visible_to(world.actor(OTHER_PROVIDER)) == []


def test_the_vendor_of_another_programme_sees_no_quote() -> None:
    # Audience.admits lets any vendor through a buyer-side audience; the order must gate it first
    world = make_world()
    order = open_request(world)
    quote_on(order, world, PROVIDER)
    assert order.quotes_visible_to(world.actor(FOREIGN_VENDOR)) == []
    assert len(order.quotes_visible_to(world.actor(VENDOR))) == 1


def test_a_flat_fee_order_reaches_its_provider_at_approved_and_stays_with_it() -> None:
    world = make_world()
    order = flat_fee_draft(world)
    provider = world.actor(PROVIDER)
    order.submit(world.actor(PARTNER), world.tick())
    assert not order.can_see(provider)
    order.approve(world.actor(VENDOR), world.tick())
    for status in (S.NOT_STARTED, S.COMPLETE):
        order.change_status(provider, world.tick(), status)
    order.archive(provider, world.tick())
    assert order.parties_of(provider) == {P.PROVIDER}
