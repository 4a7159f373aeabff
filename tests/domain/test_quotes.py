"""Quotes on a quote request: who quotes and sees which quote, accepting, rejecting and declining them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.common.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied, QuoteExpired
from domain.orders.events import EventKind
from domain.orders.lifecycle import OrderStatus, Party
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
    accepted,
    approved_order,
    committed,
    lines,
    make_world,
    open_request,
    quote_on,
    quoted_draft,
    snapshot,
)

S = OrderStatus
P = Party


# ---- quotes ------------------------------------------------------------------------------------------


def test_several_providers_quote_and_each_sees_only_its_own_quote() -> None:
    # given an open request
    world = make_world()
    order = open_request(world)
    # when both providers quote
    mine = quote_on(order, world, PROVIDER, total=1000)
    theirs = quote_on(order, world, OTHER_PROVIDER, total=900)
    # then the buyer side sees both, each provider only its own, nobody else any
    visible = {who: {q.id for q in order.quotes_visible_to(world.actor(who))} for who in EVERY_USER}
    assert visible == {
        PARTNER: {mine.id, theirs.id},
        PARTNER_2: {mine.id, theirs.id},
        VENDOR: {mine.id, theirs.id},
        PROVIDER: {mine.id},
        PROVIDER_2: {mine.id},
        OTHER_PROVIDER: {theirs.id},
        OTHER_PARTNER: set(),
        FOREIGN_VENDOR: set(),
    }
    # and the events of quoting have the same audience
    events = order.pull_events()
    assert [e.kind for e in events] == [EventKind.QUOTE_SUBMITTED, EventKind.QUOTE_SUBMITTED]
    assert [e.audience for e in events] == [mine.audience, theirs.audience]
    assert not events[0].audience.admits(world.actor(OTHER_PROVIDER), order.partner_id)
    assert events[0].after == {"quote_id": str(mine.id), "total": "1000.00"}
    assert (mine.status, mine.total, mine.created_by) == (
        QuoteStatus.SUBMITTED,
        Decimal(1000),
        world.users[PROVIDER].id,
    )


def test_a_provider_keeps_one_open_quote_and_quotes_need_lines_and_a_future_expiry() -> None:
    world = make_world()
    order = open_request(world)
    actor = world.actor(PROVIDER)

    def submit(**kwargs: Any) -> Any:
        args: dict[str, Any] = {"lines": lines(10), "expires_on": None, "promised_completion": None, "message": ""}
        return order.submit_quote(actor, world.tick(), **(args | kwargs))

    with pytest.raises(InvalidInput, match="at least one line"):
        submit(lines=())
    with pytest.raises(InvalidInput) as past:
        submit(expires_on=world.today() - timedelta(days=1))
    assert past.value.field == "expiresOn"
    with pytest.raises(InvalidInput):
        submit(message="x" * 2001)
    submit(expires_on=world.today())
    with pytest.raises(InvalidInput, match="already have an open quote"):
        submit()


@pytest.mark.parametrize("who", [PARTNER, VENDOR, OTHER_PARTNER, FOREIGN_PROVIDER])
def test_only_a_provider_quotes(who: str) -> None:
    world = make_world()
    order = open_request(world)
    before = snapshot(order)
    with pytest.raises(PermissionDenied):
        quote_on(order, world, who)
    assert order == before


def test_a_provider_may_only_quote_on_an_open_quoted_request() -> None:
    world = make_world()
    # a flat-fee order, once the provider sees it, is no quote request
    order = approved_order(world)
    with pytest.raises(InvalidTransition) as refused:
        quote_on(order, world, PROVIDER)
    assert refused.value.current == "APPROVED"
    # a request addressed to one provider is invisible to the other
    addressed = open_request(world, provider=PROVIDER)
    with pytest.raises(PermissionDenied):
        quote_on(addressed, world, OTHER_PROVIDER)
    quote_on(addressed, world, PROVIDER)


@pytest.mark.parametrize(("total", "status"), [(9_999, S.APPROVED), (10_000, S.APPROVED), (10_001, S.PENDING_APPROVAL)])
def test_accepting_a_quote_closes_the_others_and_hands_the_order_to_its_provider(
    total: int, status: OrderStatus
) -> None:
    # given an open request quoted by both providers (threshold 10 000)
    world = make_world()
    order = open_request(world)
    mine = quote_on(order, world, PROVIDER, total=total, promised_in_days=45)
    theirs = quote_on(order, world, OTHER_PROVIDER, total=5)
    committed(order)
    version = order.version
    # when the partner accepts the provider's quote
    now = world.tick()
    order.accept_quote(world.actor(PARTNER), now, mine.id, world.programme.quote_approval_threshold)
    # then the order goes to that provider with the quote's lines and promised date, released now
    assert order.status is status
    assert (mine.status, theirs.status) == (QuoteStatus.ACCEPTED, QuoteStatus.CLOSED)
    assert mine.decided_at == theirs.decided_at == now
    assert order.provider_id == world.org_id(PROVIDER)
    assert order.lines == mine.lines and order.total == Decimal(total)
    assert order.estimated_completion == mine.promised_completion
    assert order.released_to_provider_at == now
    assert order.version == version + 1
    accepted_event, moved = order.pull_events()
    assert accepted_event.kind is EventKind.QUOTE_ACCEPTED and accepted_event.subject_id == mine.id
    assert accepted_event.before == {"provider_id": None, "total": "100.00"}
    assert moved.after == {"status": status.value, "action": "ACCEPT_QUOTE"}
    # the winner sees the order (even while the vendor approves it); the loser no longer does
    assert order.parties_of(world.actor(PROVIDER)) == {P.PROVIDER}
    assert not order.can_see(world.actor(OTHER_PROVIDER))


def test_accepting_without_a_threshold_approves_directly() -> None:
    world = make_world(threshold=None)
    order = open_request(world)
    quote = quote_on(order, world, PROVIDER, total=10**8)
    order.accept_quote(world.actor(PARTNER), world.tick(), quote.id, None)
    assert order.status is S.APPROVED


def test_a_quote_without_a_promised_date_leaves_the_estimate_alone() -> None:
    world = make_world()
    order = open_request(world)
    quote = quote_on(order, world, PROVIDER, promised_in_days=None)
    order.accept_quote(world.actor(PARTNER), world.tick(), quote.id, None)
    assert order.estimated_completion is None


def test_an_expired_quote_cannot_be_accepted_but_one_on_its_last_day_can() -> None:
    # given two quotes expiring in 3 days
    world = make_world()
    order = open_request(world)
    mine = quote_on(order, world, PROVIDER, expires_in_days=3)
    committed(order)
    # when the partner waits until the last day, then it may still accept
    world.now += timedelta(days=3)
    last_day = snapshot(order)
    last_day.accept_quote(world.actor(PARTNER), world.now, mine.id, None)
    assert last_day.status is S.APPROVED
    # when the partner waits one day longer, then the quote has expired and nothing changes
    world.now += timedelta(days=1)
    before = snapshot(order)
    with pytest.raises(QuoteExpired) as expired:
        order.accept_quote(world.actor(PARTNER), world.now, mine.id, None)
    assert expired.value.code.value == "QUOTE_EXPIRED"
    assert order == before


def test_rejecting_a_quote_keeps_the_request_open() -> None:
    world = make_world()
    order = open_request(world)
    mine = quote_on(order, world, PROVIDER)
    theirs = quote_on(order, world, OTHER_PROVIDER)
    committed(order)
    order.reject_quote(world.actor(PARTNER), world.tick(), mine.id, "  Too dear  ")
    assert order.status is S.PENDING_QUOTES
    assert (mine.status, theirs.status) == (QuoteStatus.REJECTED, QuoteStatus.SUBMITTED)
    [event] = order.pull_events()
    assert event.kind is EventKind.QUOTE_REJECTED
    assert event.after == {"quote_id": str(mine.id), "quote_status": "REJECTED", "reason": "Too dear"}
    assert event.audience == mine.audience
    # the rejected provider may quote again; a rejected quote cannot then be accepted
    quote_on(order, world, PROVIDER)
    with pytest.raises(InvalidInput, match="REJECTED"):
        order.accept_quote(world.actor(PARTNER), world.tick(), mine.id, None)


def test_declining_to_quote() -> None:
    world = make_world()
    order = open_request(world)
    # a provider without a quote declines: a DECLINED quote records it
    declined = order.decline_quote(world.actor(OTHER_PROVIDER), world.tick(), "Fully booked")
    assert (declined.status, declined.lines, declined.message) == (QuoteStatus.DECLINED, (), "Fully booked")
    with pytest.raises(InvalidInput, match="already declined"):
        order.decline_quote(world.actor(OTHER_PROVIDER), world.tick(), "again")
    # a provider with an open quote declines: the quote is withdrawn
    mine = quote_on(order, world, PROVIDER)
    withdrawn = order.decline_quote(world.actor(PROVIDER_2), world.tick(), "")
    assert withdrawn is mine and mine.status is QuoteStatus.DECLINED
    assert order.status is S.PENDING_QUOTES
    events = [e for e in order.pull_events() if e.kind is EventKind.QUOTE_DECLINED]
    assert [e.audience.org_id for e in events] == [world.org_id(OTHER_PROVIDER), world.org_id(PROVIDER)]
    # a declined quote cannot be accepted; the partner is not the one to decline
    with pytest.raises(InvalidInput):
        order.accept_quote(world.actor(PARTNER), world.tick(), mine.id, None)
    with pytest.raises(PermissionDenied):
        order.decline_quote(world.actor(PARTNER), world.tick(), "")


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (VENDOR, PermissionDenied),  # sees the quote, but only the partner decides
        (PROVIDER, PermissionDenied),  # its own quote
        (OTHER_PROVIDER, NotFound),  # a competitor's quote does not exist for it
        (OTHER_PARTNER, NotFound),
        (FOREIGN_VENDOR, NotFound),
    ],
)
def test_only_the_ordering_partner_decides_on_quotes(who: str, error: type[Exception]) -> None:
    world = make_world()
    order = open_request(world)
    quote = quote_on(order, world, PROVIDER)
    quote_on(order, world, OTHER_PROVIDER)
    committed(order)
    before = snapshot(order)
    with pytest.raises(error):
        order.accept_quote(world.actor(who), world.tick(), quote.id, None)
    with pytest.raises(error):
        order.reject_quote(world.actor(who), world.tick(), quote.id, "")
    assert order == before


def test_an_unknown_quote_is_not_found_and_a_quote_of_a_decided_order_cannot_be_decided() -> None:
    world = make_world()
    order, mine, theirs = accepted(world)
    with pytest.raises(NotFound):
        order.accept_quote(world.actor(PARTNER), world.tick(), uuid4(), None)
    with pytest.raises(InvalidTransition):
        order.accept_quote(world.actor(PARTNER), world.tick(), theirs.id, None)
    with pytest.raises(InvalidTransition):
        order.reject_quote(world.actor(PARTNER), world.tick(), mine.id, "")


def test_quotes_can_only_be_given_while_the_request_is_open() -> None:
    world = make_world()
    draft = quoted_draft(world)
    with pytest.raises(PermissionDenied):  # nobody but the buyer side sees a draft
        quote_on(draft, world, PROVIDER)
    order, _, _ = accepted(world)
    with pytest.raises(PermissionDenied):  # the loser lost sight of it
        quote_on(order, world, OTHER_PROVIDER)
    with pytest.raises(InvalidTransition):  # the winner works it now
        order.decline_quote(world.actor(PROVIDER), world.tick(), "")
