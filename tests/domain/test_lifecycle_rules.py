"""The order lifecycle's particular rules: who may not move an order, what a move records, releases and closes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.common.errors import InvalidInput, InvalidTransition
from domain.orders.lifecycle import OrderStatus, Party
from domain.orders.order import Order
from domain.orders.quotes import QuoteStatus
from tests.domain.paths import PATHS, state_at
from tests.domain.world import (
    FOREIGN_VENDOR,
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PROVIDER,
    VENDOR,
    World,
    committed,
    flat_fee_draft,
    make_world,
    quote_on,
    quoted_draft,
    snapshot,
)

S = OrderStatus
P = Party


# ---- moves refused to those who cannot see the order, and what an allowed move leaves behind ---------


@pytest.mark.parametrize("who", [OTHER_PARTNER, OTHER_PROVIDER, FOREIGN_VENDOR])
def test_an_actor_who_cannot_see_the_order_moves_nothing_even_calling_the_domain_directly(who: str) -> None:
    # given a quote request addressed to the provider (so the other provider cannot see it)
    world = make_world()
    order = quoted_draft(world, provider=PROVIDER)
    order.submit(world.actor(PARTNER), world.tick())
    committed(order)
    before = snapshot(order)
    actor = world.actor(who)
    assert not order.can_see(actor)
    # when they try any move, then it is refused with nothing allowed, and the order is unchanged
    attempts: list[Callable[[], None]] = [
        lambda: order.approve(actor, world.tick()),
        lambda: order.cancel(actor, world.tick(), "mine now"),
        lambda: order.change_status(actor, world.tick(), S.NOT_STARTED),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidTransition) as refused:
            attempt()
        assert refused.value.allowed == ()
    assert order == before
    assert order.provider_id == world.org_id(PROVIDER)


def test_a_flat_fee_draft_never_opens_for_quotes_and_a_quoted_draft_never_skips_them() -> None:
    # given one draft of each kind, when submitted, then each takes its own row
    world = make_world()
    flat, quoted = flat_fee_draft(world), quoted_draft(world)
    flat.submit(world.actor(PARTNER), world.tick())
    quoted.submit(world.actor(PARTNER), world.tick())
    assert (flat.status, quoted.status) == (S.PENDING_APPROVAL, S.PENDING_QUOTES)
    assert flat.submitted_at is not None and quoted.submitted_at is not None


def test_a_transition_is_recorded_as_one_event_with_actor_time_before_and_after() -> None:
    # given an approved flat-fee order
    state = state_at(PATHS[6], 2)
    world, order = state.world, state.order
    version = order.version
    # when the provider starts work
    now = world.tick()
    order.change_status(world.actor(PROVIDER), now, S.NOT_STARTED)
    # then one STATUS_CHANGED event says who, when, from and to
    [event] = order.pull_events()
    assert event.kind.value == "STATUS_CHANGED"
    assert (event.actor_user_id, event.actor_org_id) == (world.users[PROVIDER].id, world.org_id(PROVIDER))
    assert event.occurred_at == now
    assert event.before == {"status": "APPROVED"}
    assert event.after == {"status": "NOT_STARTED", "action": "CHANGE_STATUS"}
    assert event.order_id == order.id
    assert order.version == version + 1
    assert order.last_activity_at == now


def test_approval_releases_a_flat_fee_order_to_its_provider_once() -> None:
    # given a flat-fee order pending approval, which its provider cannot see
    world = make_world()
    order = flat_fee_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    assert not order.can_see(world.actor(PROVIDER))
    # when the vendor approves it
    approved_at = world.tick()
    order.approve(world.actor(VENDOR), approved_at)
    # then it is released to the provider at that moment, and later moves do not change that
    assert order.released_to_provider_at == approved_at
    order.change_status(world.actor(PROVIDER), world.tick(), S.NOT_STARTED)
    assert order.released_to_provider_at == approved_at


def _quoted_request(world: World, *, provider: str | None, quoters: tuple[str, ...]) -> Order:
    """A submitted QUOTED order (open, or addressed to `provider`) with a quote from each of `quoters`, committed."""
    order = quoted_draft(world, provider=provider)
    order.submit(world.actor(PARTNER), world.tick())
    for who in quoters:
        quote_on(order, world, who)
    return committed(order)


def test_an_open_quote_request_cannot_be_accepted_without_a_quote_by_any_provider_or_the_vendor() -> None:
    # given an open quote request (no provider named) with a quote from each provider
    world = make_world()
    order = _quoted_request(world, provider=None, quoters=(PROVIDER, OTHER_PROVIDER))
    assert order.provider_id is None
    before = snapshot(order)
    # when each provider's users and the vendor try to accept it without a quote
    for who, party, allowed in [
        (PROVIDER, P.CANDIDATE_PROVIDER, ()),
        ("provider_2", P.CANDIDATE_PROVIDER, ()),
        (OTHER_PROVIDER, P.CANDIDATE_PROVIDER, ()),
        (VENDOR, P.VENDOR, ("CANCELLED",)),
    ]:
        actor = world.actor(who)
        assert order.parties_of(actor) == {party}, who
        assert S.APPROVED not in {row.target for row in order.allowed_transitions(actor)}, who
        # then each is refused with an InvalidTransition that does not offer APPROVED
        with pytest.raises(InvalidTransition) as refused:
            order.approve(actor, world.tick())
        assert (refused.value.current, refused.value.requested, refused.value.allowed) == (
            "PENDING_QUOTES",
            "APPROVED",
            allowed,
        ), who
        # and the order is exactly as it was: still open, no provider named, its quotes still open
        assert order == before, who
    assert order.status is S.PENDING_QUOTES and order.provider_id is None
    assert order.released_to_provider_at is None
    assert {q.status for q in order.quotes} == {QuoteStatus.SUBMITTED}
    # the request is still the partner's to award, through one of its quotes
    chosen = next(q for q in order.quotes if q.provider_id == world.org_id(OTHER_PROVIDER))
    order.accept_quote(world.actor(PARTNER), world.tick(), chosen.id, world.programme.quote_approval_threshold)
    assert (order.status, order.provider_id) == (S.APPROVED, world.org_id(OTHER_PROVIDER))


@pytest.mark.parametrize("who", [PROVIDER, "provider_2", VENDOR])
def test_an_addressed_quote_request_is_accepted_without_a_quote_by_its_provider_or_the_vendor(who: str) -> None:
    # given a quote request addressed to the provider, which has quoted on it
    world = make_world()
    order = _quoted_request(world, provider=PROVIDER, quoters=(PROVIDER,))
    [quote] = order.quotes
    addressed = world.org_id(PROVIDER)
    provider, other = world.actor(PROVIDER), world.actor(OTHER_PROVIDER)
    # the addressed provider is a candidate until the order is released to it, and may accept it
    assert order.parties_of(provider) == {P.CANDIDATE_PROVIDER}
    assert S.APPROVED in {row.target for row in order.allowed_transitions(world.actor(who))}
    # another provider cannot even see it: no party, no moves, no quotes, and its approve is refused
    assert order.parties_of(other) == frozenset()
    assert not order.can_see(other)
    assert order.allowed_transitions(other) == []
    assert order.quotes_visible_to(other) == []
    before = snapshot(order)
    with pytest.raises(InvalidTransition) as refused:
        order.approve(other, world.tick())
    assert (refused.value.current, refused.value.requested, refused.value.allowed) == (
        "PENDING_QUOTES",
        "APPROVED",
        (),
    )
    assert order == before
    version = order.version
    # when `who` accepts it without a quote
    now = world.tick()
    order.approve(world.actor(who), now)
    # then it is approved and released to the provider it was addressed to (which it names still)
    assert order.status is S.APPROVED
    assert order.provider_id == addressed
    assert order.released_to_provider_at == now
    assert order.parties_of(provider) == {P.PROVIDER}
    assert not order.can_see(other)
    # the quote left open on it is closed (not accepted: the order was taken without one)
    assert (quote.status, quote.decided_at) == (QuoteStatus.CLOSED, now)
    assert order.lines == before.lines
    # one STATUS_CHANGED event, which names no provider: none was assigned by the move
    [event] = order.pull_events()
    assert event.kind.value == "STATUS_CHANGED"
    assert event.before == {"status": "PENDING_QUOTES"}
    assert event.after == {"status": "APPROVED", "action": "ACCEPT_WITHOUT_QUOTE"}
    assert (event.actor_user_id, event.occurred_at) == (world.users[who].id, now)
    assert order.version == version + 1


@pytest.mark.parametrize(
    ("leave", "provider", "quoters", "who"),
    [
        ("cancel", None, (PROVIDER, OTHER_PROVIDER), PARTNER),
        ("cancel", PROVIDER, (PROVIDER,), VENDOR),
        ("approve", PROVIDER, (PROVIDER,), PROVIDER),
        ("approve", PROVIDER, (PROVIDER,), VENDOR),
    ],
)
def test_leaving_pending_quotes_any_way_closes_the_quotes_still_open(
    leave: str, provider: str | None, quoters: tuple[str, ...], who: str
) -> None:
    # given a quote request (open to all, or addressed to the provider) with open quotes on it
    world = make_world()
    order = _quoted_request(world, provider=provider, quoters=quoters)
    assert len(order.quotes) == len(quoters)
    # when it leaves PENDING_QUOTES without a quote being accepted
    now = world.tick()
    if leave == "cancel":
        order.cancel(world.actor(who), now, "No longer needed")
    else:
        order.approve(world.actor(who), now)
    # then no quote stays open on it: each is closed at that moment
    assert order.status is (S.CANCELLED if leave == "cancel" else S.APPROVED)
    assert {q.status for q in order.quotes} == {QuoteStatus.CLOSED}
    assert all(q.decided_at == now for q in order.quotes)


# ---- (d) cancel needs a reason -----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_cancel_requires_a_reason(reason: str) -> None:
    # given a submitted order
    world = make_world()
    order = committed(quoted_draft(world))
    order.submit(world.actor(PARTNER), world.tick())
    committed(order)
    before = snapshot(order)
    # when the partner cancels without a reason, then it is refused and nothing changes
    with pytest.raises(InvalidInput) as refused:
        order.cancel(world.actor(PARTNER), world.tick(), reason)
    assert refused.value.field == "reason"
    assert order == before


def test_cancel_keeps_the_reason_and_a_too_long_one_is_refused() -> None:
    world = make_world()
    order = committed(quoted_draft(world))
    with pytest.raises(InvalidInput):
        order.cancel(world.actor(PARTNER), world.tick(), "x" * 2001)
    order.cancel(world.actor(PARTNER), world.tick(), "  Budget moved to Q3  ")
    assert (order.status, order.cancel_reason, order.rejected) == (S.CANCELLED, "Budget moved to Q3", False)
    [event] = [e for e in order.pull_events() if e.kind.value == "STATUS_CHANGED"]
    assert event.after == {"status": "CANCELLED", "action": "CANCEL", "reason": "Budget moved to Q3"}


def test_a_vendor_rejection_is_a_cancellation_marked_rejected_with_an_optional_reason() -> None:
    world = make_world()
    order = flat_fee_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    order.reject(world.actor(VENDOR), world.tick(), "")
    assert (order.status, order.rejected, order.cancel_reason) == (S.CANCELLED, True, "")
