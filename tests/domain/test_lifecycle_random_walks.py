"""Random walks through the order lifecycle: whatever anyone does, the order only ever takes rows of the table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.common.errors import DomainError
from domain.orders.lifecycle import OrderKind, OrderStatus, transitions_from
from domain.orders.order import Order
from domain.orders.quotes import QuoteStatus
from tests.domain.paths import call
from tests.domain.world import (
    ACTORS,
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


# ---- random walks: whatever anyone does, the order stays in a state the table can reach ---------------

# Who would plausibly try each action; a walk mixes plausible steps with fully random ones.
PLAUSIBLE: dict[str, tuple[str, ...]] = {
    "submit": (PARTNER,),
    "approve": (VENDOR, PROVIDER, OTHER_PROVIDER),
    "reject": (VENDOR,),
    "cancel": (PARTNER, VENDOR, PROVIDER),
    "cancel_blank": (PARTNER,),
    "archive": (PROVIDER, VENDOR, OTHER_PROVIDER),
    "change_status": (PROVIDER, OTHER_PROVIDER, "provider_2"),
    "quote": (PROVIDER, OTHER_PROVIDER),
    "quote_big": (PROVIDER, OTHER_PROVIDER),
    "decline": (PROVIDER, OTHER_PROVIDER),
    "accept_first": (PARTNER, "partner_2"),
    "accept_last": (PARTNER,),
    "reject_quote": (PARTNER,),
    "edit_notes": (PROVIDER,),
    "edit_name": (PARTNER, VENDOR),
}
EVERYONE = [*ACTORS, "provider_2", "partner_2"]
STATUSES = st.sampled_from(list(OrderStatus))
STEP = st.one_of(
    st.sampled_from(list(PLAUSIBLE)).flatmap(
        lambda action: st.tuples(st.sampled_from(PLAUSIBLE[action]), st.just(action), STATUSES)
    ),
    st.tuples(st.sampled_from(EVERYONE), st.sampled_from(list(PLAUSIBLE)), STATUSES),
)


def reachable(kind: OrderKind) -> set[OrderStatus]:
    """The statuses the table can take an order of `kind` to from DRAFT."""
    seen, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        for row in transitions_from(frontier.pop(), kind=kind):
            if row.target not in seen:
                seen.add(row.target)
                frontier.append(row.target)
    return seen


def test_a_flat_fee_order_can_never_be_open_for_quotes() -> None:
    assert reachable(OrderKind.QUOTED) == set(OrderStatus)
    assert reachable(OrderKind.FLAT_FEE) == set(OrderStatus) - {S.PENDING_QUOTES}


def _act(world: World, order: Order, who: str, action: str, target: OrderStatus) -> None:
    actor, now = world.actor(who), world.tick(60 * 24)
    threshold = world.programme.quote_approval_threshold
    open_quotes = [q for q in order.quotes if q.status is QuoteStatus.SUBMITTED] or order.quotes
    if action == "cancel_blank":
        order.cancel(actor, now, " ")
    elif action in ("quote", "quote_big"):
        quote_on(order, world, who, total=50000 if action == "quote_big" else 300, expires_in_days=1)
    elif action == "decline":
        order.decline_quote(actor, now, "Too busy")
    elif action in ("accept_first", "accept_last", "reject_quote"):
        if not open_quotes:
            return
        quote = open_quotes[-1 if action == "accept_last" else 0]
        if action == "reject_quote":
            order.reject_quote(actor, now, quote.id, "Too dear")
        else:
            order.accept_quote(actor, now, quote.id, threshold)
    elif action == "edit_notes":
        order.update(actor, now, {"provider_notes": f"notes {now.isoformat()}"})
    elif action == "edit_name":
        order.update(actor, now, {"name": f"Renamed {now.isoformat()}"})
    else:
        call(order, world, who, action, target)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.sampled_from(["quoted", "quoted_to_provider", "flat_fee"]),
    steps=st.lists(STEP, min_size=1, max_size=40),
)
# always tried: accepting a quote request without a quote, open (refused) and addressed (allowed)
@example(
    start="quoted",
    steps=[(PARTNER, "submit", S.DRAFT), (PROVIDER, "quote", S.DRAFT), (PROVIDER, "approve", S.DRAFT)],
)
@example(start="quoted", steps=[(PARTNER, "submit", S.DRAFT), (VENDOR, "approve", S.DRAFT)])
@example(
    start="quoted_to_provider",
    steps=[(PARTNER, "submit", S.DRAFT), (PROVIDER, "quote", S.DRAFT), (PROVIDER, "approve", S.DRAFT)],
)
@example(start="quoted_to_provider", steps=[(PARTNER, "submit", S.DRAFT), (VENDOR, "approve", S.DRAFT)])
def test_random_actions_by_random_actors_only_ever_take_rows_of_the_table(
    start: str, steps: list[tuple[str, str, OrderStatus]]
) -> None:
    world = make_world()
    if start == "flat_fee":
        order = flat_fee_draft(world)
    else:
        order = quoted_draft(world, provider=PROVIDER if start == "quoted_to_provider" else None)
    committed(order)
    was_cancelled = was_complete = False
    for who, action, target in steps:
        actor = world.actor(who)
        parties = order.parties_of(actor)
        before = snapshot(order)
        try:
            _act(world, order, who, action, target)
        except DomainError:
            # every refusal leaves the order exactly as it was
            assert order == before, (who, action, target)
            continue
        events = order.pull_events()
        if order == before:
            continue
        # a command that changed anything recorded events and bumped the version exactly once
        assert events and order.version == before.version + 1
        assert all(e.actor_user_id == actor.user_id and e.occurred_at == world.now for e in events)
        if order.status is not before.status:
            # the move is a row of the table for a party the actor held, for this kind of order
            assert any(
                row.source is before.status and row.target is order.status and row.parties & parties
                for row in transitions_from(before.status, kind=order.kind)
            ), (who, action, before.status, order.status)
        # only an accepted quote names the order's provider; a quote request is accepted without a quote
        # only when it was addressed to one provider from the start
        if action not in ("accept_first", "accept_last"):
            assert order.provider_id == before.provider_id, (who, action)
        if action == "approve" and before.status is S.PENDING_QUOTES:
            assert before.provider_id is not None, (who, action)
        # a cancelled order never returns to work; a complete one only goes on to ARCHIVED
        if was_cancelled or was_complete:
            assert order.status in (S.CANCELLED, S.COMPLETE, S.ARCHIVED)
        was_cancelled = was_cancelled or order.status is S.CANCELLED
        was_complete = was_complete or order.status is S.COMPLETE
        # outside PENDING_QUOTES no quote is left open; the provider it is released to can see it
        if order.status is not S.PENDING_QUOTES:
            assert all(q.status is not QuoteStatus.SUBMITTED for q in order.quotes)
        if order.released_to_provider_at is not None:
            assert order.provider_id is not None
        assert order.status in reachable(order.kind)


def test_accepting_an_expired_quote_is_refused_without_change() -> None:
    # one case the random walk exercises, spelled out: a quote expires while the partner waits
    world = make_world()
    order = quoted_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    quote = quote_on(order, world, PROVIDER, expires_in_days=1)
    committed(order)
    world.now += timedelta(days=2)
    before = snapshot(order)
    with pytest.raises(DomainError):
        order.accept_quote(world.actor(PARTNER), world.now, quote.id, None)
    assert order == before
