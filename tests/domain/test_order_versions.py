"""Versions by side: each reader's version counts the changes it may see, and no other.

The rule (issue 8, item 8): an optimistic-concurrency check never refuses a caller for a change it
cannot see, yet a caller never overwrites unawares a concurrent change it could see. So the version a
reader sees (`Order.version_for`) moves with every command that changed something it may see, by one,
and stays put for a command whose changes are hidden from it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderStatus
from domain.orders.order import Order
from tests.domain.world import (
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
    D,
    World,
    approved_order,
    committed,
    make_world,
    open_request,
    quote_on,
    quoted_draft,
)

BUYER_SIDE = (PARTNER, PARTNER_2, VENDOR)
PROVIDER_SIDE = (PROVIDER, PROVIDER_2)


def versions(order: Order, world: World, readers: tuple[str, ...]) -> dict[str, int]:
    """The version each of `readers` (who may all see `order`) sees."""
    assert all(order.can_see(world.actor(who)) for who in readers)
    return {who: order.version_for(world.actor(who)) for who in readers}


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """By how much each reader's version moved."""
    return {who: after[who] - before[who] for who in before}


Command = Callable[[Order, World], object]


def edit(who: str, **changes: object) -> Command:
    return lambda order, w: order.update(w.actor(who), w.tick(), changes)


# (what happens on an approved order, by how much the buyer side's and the provider's versions move)
RELEASED_CASES: list[tuple[str, Command, int, int]] = [
    ("provider notes only", edit(PROVIDER, provider_notes="Call first"), 0, 1),
    ("provider notes and a shared field", edit(PROVIDER, provider_notes="Call", priority=Priority.HIGH), 1, 1),
    ("a field of the provider everyone sees", edit(PROVIDER, estimated_completion=D), 1, 1),
    ("an edit that changes nothing", edit(PROVIDER, provider_notes=""), 0, 0),
    ("a buyer-side field", edit(PARTNER, name="Renamed"), 1, 1),
    ("the vendor edits a field", edit(VENDOR, po_number="PO-1"), 1, 1),
    ("a status change", lambda o, w: o.change_status(w.actor(PROVIDER), w.tick(), OrderStatus.NOT_STARTED), 1, 1),
    ("an assignment", lambda o, w: o.assign(w.actor(PROVIDER), w.tick(), w.users[PROVIDER_2]), 1, 1),
]


@pytest.mark.parametrize(
    ("command", "buyer", "provider"), [c[1:] for c in RELEASED_CASES], ids=[c[0] for c in RELEASED_CASES]
)
def test_a_command_moves_the_version_of_exactly_those_who_may_see_a_change(
    command: Command, buyer: int, provider: int
) -> None:
    # given an order its provider works on, and the versions every side sees
    w = make_world()
    order = approved_order(w)
    readers = BUYER_SIDE + PROVIDER_SIDE
    before = versions(order, w, readers)
    # when one command is made
    command(order, w)
    committed(order)
    # then the versions of those who may see a change moved by one, the others' not at all
    expected = {**dict.fromkeys(BUYER_SIDE, buyer), **dict.fromkeys(PROVIDER_SIDE, provider)}
    assert moved(before, versions(order, w, readers)) == expected


def test_provider_notes_never_move_the_buyer_sides_version_however_often_they_change() -> None:
    # given an approved order, as its sides see it
    w = make_world()
    order = approved_order(w)
    buyer = order.version_for(w.actor(PARTNER))
    provider = order.version_for(w.actor(PROVIDER))
    # when the provider edits its notes three times
    for text in ("one", "two", "three"):
        order.update(w.actor(PROVIDER), w.tick(), {"provider_notes": text})
        committed(order)
    # then the buyer side still sees the version it saw; the provider's moved three times
    assert order.version_for(w.actor(PARTNER)) == order.version_for(w.actor(VENDOR)) == buyer
    assert order.version_for(w.actor(PROVIDER)) == provider + 3
    # and a change the buyer side may see moves every side's version by one
    order.update(w.actor(PARTNER), w.tick(), {"name": "Renamed"})
    committed(order)
    assert order.version_for(w.actor(PARTNER)) == buyer + 1
    assert order.version_for(w.actor(PROVIDER)) == provider + 4


def test_one_command_is_one_change_whatever_it_records() -> None:
    # given an approved order
    w = make_world()
    order = approved_order(w)
    before = versions(order, w, BUYER_SIDE + PROVIDER_SIDE)
    # when one command edits provider notes and then a shared field in two steps (events merged)
    order.update(w.actor(PROVIDER), w.tick(), {"provider_notes": "Hidden"})
    order.update(w.actor(PROVIDER), w.tick(), {"priority": Priority.URGENT})
    # then, before and after commit, every reader's version moved by exactly one: the command is seen by all
    assert set(moved(before, versions(order, w, BUYER_SIDE + PROVIDER_SIDE)).values()) == {1}
    committed(order)
    assert set(moved(before, versions(order, w, BUYER_SIDE + PROVIDER_SIDE)).values()) == {1}


def test_a_quote_moves_the_version_of_its_provider_and_the_buyer_side_only() -> None:
    # given an open request every provider may quote on
    w = make_world()
    order = open_request(w)
    readers = (*BUYER_SIDE, PROVIDER, PROVIDER_2, OTHER_PROVIDER)
    before = versions(order, w, readers)
    # when one provider quotes
    quote_on(order, w, PROVIDER)
    committed(order)
    # then its users and the buyer side see a new version; the competing provider does not
    assert moved(before, versions(order, w, readers)) == {
        **dict.fromkeys(BUYER_SIDE, 1),
        PROVIDER: 1,
        PROVIDER_2: 1,
        OTHER_PROVIDER: 0,
    }
    # and when the other provider declines to quote, only its own and the buyer side's move
    middle = versions(order, w, readers)
    order.decline_quote(w.actor(OTHER_PROVIDER), w.tick(), "Too busy")
    committed(order)
    assert moved(middle, versions(order, w, readers)) == {
        **dict.fromkeys(BUYER_SIDE, 1),
        PROVIDER: 0,
        PROVIDER_2: 0,
        OTHER_PROVIDER: 1,
    }


def test_the_partner_rejecting_a_quote_moves_its_provider_and_the_buyer_side_only() -> None:
    # given an open request with a quote from each provider
    w = make_world()
    order = open_request(w)
    mine = quote_on(order, w, PROVIDER)
    committed(order)
    quote_on(order, w, OTHER_PROVIDER)
    committed(order)
    readers = (*BUYER_SIDE, PROVIDER, OTHER_PROVIDER)
    before = versions(order, w, readers)
    # when the partner rejects the provider's quote
    order.reject_quote(w.actor(PARTNER), w.tick(), mine.id, "Too dear")
    committed(order)
    # then the provider and the buyer side see the change; the competitor does not
    assert moved(before, versions(order, w, readers)) == {
        **dict.fromkeys(BUYER_SIDE, 1),
        PROVIDER: 1,
        OTHER_PROVIDER: 0,
    }


def test_the_accepted_provider_keeps_counting_from_what_it_saw() -> None:
    # given an open request quoted by both providers, as the winner sees it
    w = make_world()
    order = open_request(w)
    mine = quote_on(order, w, PROVIDER)
    committed(order)
    quote_on(order, w, OTHER_PROVIDER)
    committed(order)
    seen = order.version_for(w.actor(PROVIDER))
    buyer = order.version_for(w.actor(PARTNER))
    # when the partner accepts its quote
    order.accept_quote(w.actor(PARTNER), w.tick(), mine.id, w.programme.quote_approval_threshold)
    committed(order)
    # then both sides' versions moved by one from what each saw
    assert order.version_for(w.actor(PROVIDER)) == seen + 1
    assert order.version_for(w.actor(PARTNER)) == order.version_for(w.actor(VENDOR)) == buyer + 1


def test_a_new_order_is_at_version_one_for_everyone_and_drafts_count_for_the_buyer_side() -> None:
    w = make_world()
    order = committed(quoted_draft(w))
    assert versions(order, w, BUYER_SIDE) == dict.fromkeys(BUYER_SIDE, 1)
    order.update(w.actor(PARTNER), w.tick(), {"name": "Renamed"})
    committed(order)
    assert versions(order, w, BUYER_SIDE) == dict.fromkeys(BUYER_SIDE, 2)
    assert not order.can_see(w.actor(OTHER_PARTNER))


def test_the_row_version_counts_every_command_for_the_storage_check() -> None:
    # given an approved order: the row's version is what a save checks, whoever made the change
    w = make_world()
    order = approved_order(w)
    row = order.version
    # when a change only the provider sees, then one everyone sees, are made
    order.update(w.actor(PROVIDER), w.tick(), {"provider_notes": "Hidden"})
    committed(order)
    order.update(w.actor(PARTNER), w.tick(), {"name": "Renamed"})
    committed(order)
    # then the row moved twice: every write is checked against every other
    assert order.version == row + 2
