"""Leaving the view: which event tells a subscriber that an order left what it may see, and that its hint gets there.

Walked over every step of every lifecycle path (tests/domain/paths.py) for every actor of the world. The
hand-written roles of the paths are the oracle, not the code under test: an actor with a role before a
step and none after it lost sight of the order in that step, and exactly one event of the step must say
so to it; no event of any other step, and nothing to anyone else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import pytest

from domain.orders.events import EVERYONE, Audience, EventKind, OrderEvent
from domain.orders.lifecycle import OrderStatus, Party
from domain.orders.order import Order
from domain.orders.visibility import event_channels, left_view, live_channels, subscriber_channels
from tests.domain.paths import PATHS, ROLES_OF_A_DRAFT, Path, State, apply, start
from tests.domain.world import (
    FOREIGN_PROVIDER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
    committed,
    make_world,
    quoted_draft,
)

S = OrderStatus
EVERY_ACTOR = ("partner", "other_partner", "provider", "other_provider", "vendor", "foreign_vendor")
COLLEAGUES = {PARTNER_2: "partner", PROVIDER_2: "provider"}
EVERYONE_TESTED = (*EVERY_ACTOR, *COLLEAGUES, FOREIGN_PROVIDER)


@dataclass
class Taken:
    """One step of a path: its events, the order as committed, and who had a role in it before and after."""

    index: int
    events: list[OrderEvent]
    order: Order
    roles_before: dict[str, Party | None]
    roles_after: dict[str, Party | None]


def taken_steps(path: Path) -> tuple[State, list[Taken]]:
    """Every step of `path` with its events; the state is the end of the path."""
    world = make_world()
    state = State(world, committed(start(path, world)), dict(ROLES_OF_A_DRAFT), {})
    taken: list[Taken] = []
    for index, step in enumerate(path.steps):
        before = dict(state.roles)
        apply(state, step)
        events = state.order.pull_events()
        state.roles.update(step.roles)
        taken.append(Taken(index, events, copy.deepcopy(state.order), before, dict(state.roles)))
    return state, taken


def role(roles: dict[str, Party | None], who: str) -> Party | None:
    return roles.get(COLLEAGUES.get(who, who))


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_exactly_one_event_says_the_order_left_the_view_of_whoever_lost_sight_of_it(path: Path) -> None:
    # given every step of the path, its events read as each actor with the order as committed
    state, taken = taken_steps(path)
    for step in taken:
        for who in EVERYONE_TESTED:
            actor = state.world.actor(who)
            lost = role(step.roles_before, who) is not None and role(step.roles_after, who) is None
            saying = [e for e in step.events if left_view(step.order, e, actor)]
            # then exactly one event says the order left its view when it lost sight of it, none otherwise
            assert len(saying) == (1 if lost else 0), (step.index, who, [e.kind for e in saying])
            # and that event's hint reaches it
            for event in saying:
                assert live_channels(step.order, event) & subscriber_channels(actor), (step.index, who)


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_an_event_read_late_says_the_same(path: Path) -> None:
    # given every event of the path, read only once the whole path was walked (a slow subscriber)
    state, taken = taken_steps(path)
    for step in taken:
        for who in EVERYONE_TESTED:
            lost = role(step.roles_before, who) is not None and role(step.roles_after, who) is None
            saying = [e for e in step.events if left_view(state.order, e, state.world.actor(who))]
            # then the event that took the order out of its view still says so, and no other does
            assert len(saying) == (1 if lost and role(state.roles, who) is None else 0), (step.index, who)


def test_the_losers_of_an_open_request_are_told_by_the_acceptance_and_the_winner_is_not() -> None:
    # given an open request quoted by both providers, the provider's quote accepted
    [path] = [p for p in PATHS if p.name.startswith("quoted: two quotes")]
    state, taken = taken_steps(path)
    [accepted] = [t for t in taken if any(e.kind is EventKind.QUOTE_ACCEPTED for e in t.events)]
    order = accepted.order
    for who, expected in ((OTHER_PROVIDER, [EventKind.QUOTE_ACCEPTED]), (PROVIDER, []), (PARTNER, []), (VENDOR, [])):
        actor = state.world.actor(who)
        assert [e.kind for e in accepted.events if left_view(order, e, actor)] == expected, who


def test_a_request_addressed_to_one_provider_leaves_its_view_only_when_cancelled() -> None:
    # given a request addressed to the provider (the other provider never sees it)
    world = make_world()
    order = quoted_draft(world, provider=PROVIDER)
    order.submit(world.actor(PARTNER), world.tick())
    committed(order)
    # when the partner cancels it
    order.cancel(world.actor(PARTNER), world.tick(), "Budget cut")
    [cancelled] = order.pull_events()
    # then the provider (and its colleague) are told it left their view, nobody else is
    told = {who for who in EVERYONE_TESTED if left_view(order, cancelled, world.actor(who))}
    assert told == {PROVIDER, PROVIDER_2}
    assert cancelled.kind is EventKind.STATUS_CHANGED


def test_no_event_it_may_not_see_and_no_event_of_another_order_says_the_order_left() -> None:
    # given an open request the vendor cancelled (both providers lost sight of it with that event)
    world = make_world()
    order = quoted_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    committed(order)
    order.cancel(world.actor(VENDOR), world.tick(), "Called off")
    [cancelled] = order.pull_events()
    provider = world.actor(PROVIDER)
    assert left_view(order, cancelled, provider)
    # when the same change is told with an audience the provider is not in, of another order, or of another kind
    internal = replace(cancelled, audience=Audience(org_id=world.org_id(VENDOR)))
    buyer_side = replace(cancelled, audience=Audience(org_id=order.partner_id, buyer_side=True))
    elsewhere = replace(cancelled, order_id=quoted_draft(world).id)
    comment = replace(cancelled, kind=EventKind.COMMENT_ADDED)
    fields = replace(cancelled, kind=EventKind.FIELDS_UPDATED)
    malformed = replace(cancelled, before={"status": "NO_SUCH_STATUS"})
    # then none of them says the order left its view
    for event in (internal, buyer_side, elsewhere, comment, fields, malformed):
        assert not left_view(order, event, provider), event


def test_a_hint_goes_where_it_always_went_and_to_whoever_could_see_the_order_just_before() -> None:
    # given every event of every path, with the order as committed after its step
    for path in PATHS:
        _, taken = taken_steps(path)
        for step in taken:
            for event in step.events:
                # then its channels include the usual ones (the walk above checks that whoever lost sight is reached)
                assert event_channels(step.order, event.audience) <= live_channels(step.order, event)
    # and a restricted event goes to its audience only, whatever the order was before
    world = make_world()
    order = quoted_draft(world)
    audience = Audience(org_id=world.org_id(OTHER_PROVIDER))
    event = OrderEvent(EventKind.STATUS_CHANGED, order.id, None, None, world.now, {"status": "PENDING_QUOTES"}, {})
    assert live_channels(order, replace(event, audience=audience)) == event_channels(order, audience)
    assert live_channels(order, replace(event, audience=EVERYONE)) >= event_channels(order, EVERYONE)
