"""The order lifecycle: the transition table, walked through the public methods of `Order`.

`MOVES` below is the product's lifecycle (product.md, "Status lifecycle") written out by
hand, status by status and party by party. The tests check that the domain allows exactly
those moves, refuses every other one with an `InvalidTransition` naming the current,
requested and allowed statuses, and leaves a refused order untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.common.errors import DomainError, InvalidInput, InvalidTransition
from domain.orders import lifecycle
from domain.orders.lifecycle import (
    CLOSED,
    TERMINAL,
    TRANSITIONS,
    WORKING,
    Action,
    OrderKind,
    OrderStatus,
    Party,
    Transition,
    find_transition,
    transitions_from,
)
from domain.orders.order import Order
from domain.orders.quotes import QuoteStatus
from tests.domain.paths import PATHS, STATE_IDS, Path, State, call, state_at, walk
from tests.domain.world import (
    ACTORS,
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
SUBMITTED = None  # stands for the status `submit` leads to: PENDING_QUOTES or PENDING_APPROVAL by kind

Move = tuple[str, OrderStatus | None]


def _work_from(source: OrderStatus) -> set[Move]:
    return {("change_status", t) for t in (*WORK, S.COMPLETE) if t is not source}


WORK = (S.NOT_STARTED, S.IN_PROGRESS, S.WAITING_FOR_PARTNER, S.SCHEDULED, S.EXECUTING)
CANCEL: Move = ("cancel", S.CANCELLED)
ARCHIVE: Move = ("archive", S.ARCHIVED)

# The lifecycle as product.md states it: (status, party) -> the (method, target) moves open to that party.
# Anything not listed is refused. An OPEN quote request (no provider named) is awarded only by the partner
# accepting one of its quotes: nobody may accept it without a quote, so `approve` is open to no one on it.
MOVES: dict[tuple[OrderStatus, Party], set[Move]] = {
    (S.DRAFT, P.PARTNER): {("submit", SUBMITTED), CANCEL},
    (S.PENDING_QUOTES, P.PARTNER): {("accept_quote", S.PENDING_APPROVAL), ("accept_quote", S.APPROVED), CANCEL},
    (S.PENDING_QUOTES, P.CANDIDATE_PROVIDER): set(),
    (S.PENDING_QUOTES, P.VENDOR): {CANCEL},
    (S.PENDING_APPROVAL, P.PARTNER): {CANCEL},
    (S.PENDING_APPROVAL, P.VENDOR): {("approve", S.APPROVED), ("reject", S.CANCELLED), CANCEL},
    (S.APPROVED, P.PARTNER): {CANCEL},
    (S.APPROVED, P.VENDOR): {CANCEL},
    (S.APPROVED, P.PROVIDER): {("change_status", S.NOT_STARTED), CANCEL},
    (S.NOT_STARTED, P.PARTNER): {CANCEL},
    (S.NOT_STARTED, P.VENDOR): {CANCEL},
    (S.NOT_STARTED, P.PROVIDER): _work_from(S.NOT_STARTED) | {CANCEL},
    (S.IN_PROGRESS, P.PROVIDER): _work_from(S.IN_PROGRESS),
    (S.WAITING_FOR_PARTNER, P.PROVIDER): _work_from(S.WAITING_FOR_PARTNER),
    (S.SCHEDULED, P.PROVIDER): _work_from(S.SCHEDULED),
    (S.EXECUTING, P.PROVIDER): _work_from(S.EXECUTING),
    (S.COMPLETE, P.PROVIDER): {ARCHIVE},
    (S.COMPLETE, P.VENDOR): {ARCHIVE},
    (S.CANCELLED, P.PROVIDER): {ARCHIVE},
    (S.CANCELLED, P.VENDOR): {ARCHIVE},
}

# A quote request ADDRESSED to one provider may also be accepted without a quote ("approve"), by that
# provider (a candidate until the order is released to it) or by the vendor; these add to `MOVES`.
ADDRESSED_MOVES: dict[tuple[OrderStatus, Party], set[Move]] = {
    (S.PENDING_QUOTES, P.CANDIDATE_PROVIDER): {("approve", S.APPROVED)},
    (S.PENDING_QUOTES, P.VENDOR): {("approve", S.APPROVED)},
}


def submit_target(order: Order) -> OrderStatus:
    return S.PENDING_QUOTES if order.kind is OrderKind.QUOTED else S.PENDING_APPROVAL


def expected_moves(order: Order, party: Party | None) -> set[tuple[str, OrderStatus]]:
    """The moves `party` may make on `order`, per the product."""
    if party is None:
        return set()
    moves = set(MOVES.get((order.status, party), set()))
    if order.provider_id is not None:  # while PENDING_QUOTES: addressed to one provider when it was placed
        moves |= ADDRESSED_MOVES.get((order.status, party), set())
    return {(method, submit_target(order) if target is SUBMITTED else target) for method, target in moves}


def calls_for(order: Order) -> list[tuple[str, OrderStatus]]:
    """Every public lifecycle call, with the status it asks for."""
    return [
        *(("change_status", target) for target in OrderStatus),
        ("submit", submit_target(order)),
        ("approve", S.APPROVED),
        ("reject", S.CANCELLED),
        ("cancel", S.CANCELLED),
        ("archive", S.ARCHIVED),
    ]


def _state_id(ids: tuple[int, int]) -> str:
    path, index = ids
    return f"path{path}-step{index}"


# ---- (a) every status is reached, by the party allowed to -------------------------------------------


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_each_path_walks_through_the_expected_statuses(path: Path) -> None:
    # given a fresh draft, when each step is taken by the party the product names,
    # then the order reaches the step's status (walk() asserts it after every step)
    seen = [state.order.status for state in walk(path)]
    assert seen == [S.DRAFT, *(step.status for step in path.steps)]
    assert seen[-1] is S.ARCHIVED


def test_the_paths_reach_every_status_of_seed_000_plus_draft() -> None:
    # given all paths, when walked, then together they visit every status
    reached = {state.order.status for path in PATHS for state in walk(path)}
    assert reached == set(OrderStatus)


def _action_of(method: str, source: OrderStatus) -> Action:
    if method == "approve":
        return Action.ACCEPT_WITHOUT_QUOTE if source is S.PENDING_QUOTES else Action.APPROVE
    return {
        "submit": Action.SUBMIT,
        "accept": Action.ACCEPT_QUOTE,
        "reject": Action.REJECT,
        "change_status": Action.CHANGE_STATUS,
        "cancel": Action.CANCEL,
        "archive": Action.ARCHIVE,
    }[method]


def test_the_paths_take_every_row_of_the_table() -> None:
    # given every path, when the (action, source, target) of each status change is collected,
    # then every row of the table has been taken (the working statuses form a complete graph,
    # of which the paths walk a representative part)
    taken: set[tuple[Action, OrderStatus, OrderStatus]] = set()
    for path in PATHS:
        source = S.DRAFT
        for step in path.steps:
            if step.status is not source:
                taken.add((_action_of(step.method, source), source, step.status))
            source = step.status
    rows = {(row.action, row.source, row.target) for row in TRANSITIONS}
    among_work = {r for r in rows if r[1] in WORKING and r[2] in (*WORKING, S.COMPLETE)}
    assert rows - among_work - taken == set()
    assert taken <= rows


# ---- (b) for every status, party and target: allowed exactly when the table says so -----------------


@pytest.mark.parametrize("ids", STATE_IDS, ids=_state_id)
@pytest.mark.parametrize("who", ACTORS)
def test_every_lifecycle_call_is_allowed_exactly_when_the_table_has_a_row_for_the_party(
    ids: tuple[int, int], who: str
) -> None:
    path_index, steps = ids
    state = state_at(PATHS[path_index], steps)
    world, order = state.world, state.order
    party = state.roles[who]
    actor = world.actor(who)

    # the actor relates to the order as the product says
    assert order.parties_of(actor) == (frozenset({party}) if party else frozenset())
    expected = expected_moves(order, party)
    allowed = tuple(sorted({target.value for _, target in expected}))
    # allowed_transitions lists exactly the targets the party may reach
    assert tuple(sorted({row.target.value for row in order.allowed_transitions(actor)})) == allowed

    for method, target in calls_for(order):
        given = copy.deepcopy(order)
        before = snapshot(given)
        if (method, target) in expected:
            call(given, world, who, method, target)
            assert given.status is target, (method, target)
            assert given.version == before.version + 1
            continue
        # every refusal, the guarded one (accepting an open request without a quote) included, is an
        # InvalidTransition naming the current, requested and allowed statuses
        with pytest.raises(InvalidTransition) as refused:
            call(given, world, who, method, target)
        assert refused.value.current == order.status.value
        assert refused.value.requested == target.value
        assert refused.value.allowed == allowed
        assert refused.value.code.value == "INVALID_TRANSITION"
        if method == "approve" and order.status is S.PENDING_QUOTES and party in (P.CANDIDATE_PROVIDER, P.VENDOR):
            # refused only on an open request, and neither a candidate nor the vendor is offered APPROVED there
            assert order.provider_id is None
            assert S.APPROVED.value not in refused.value.allowed
        assert given == before, f"{who} {method} {target} changed the order"


def test_an_invalid_transition_says_current_requested_and_allowed_in_its_message() -> None:
    # given an approved flat-fee order, when its provider asks for COMPLETE, then the message names all three
    state = state_at(PATHS[6], 2)
    assert state.order.status is S.APPROVED
    with pytest.raises(InvalidTransition) as refused:
        state.order.change_status(state.world.actor(PROVIDER), state.world.tick(), S.COMPLETE)
    assert refused.value.message == (
        "Cannot move the order from APPROVED to COMPLETE; allowed from APPROVED: CANCELLED, NOT_STARTED."
    )
    assert refused.value.field == "status"


def test_submitting_an_order_twice_says_it_is_already_submitted() -> None:
    # given a flat-fee order its partner has submitted (it waits for approval)
    world = make_world()
    order = flat_fee_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    committed(order)
    before = snapshot(order)
    # when the partner submits it again
    with pytest.raises(InvalidTransition) as refused:
        order.submit(world.actor(PARTNER), world.tick())
    # then it is an INVALID_TRANSITION that says plainly the order is already there, with the statuses
    assert refused.value.message == ("The order is already PENDING_APPROVAL; allowed from PENDING_APPROVAL: CANCELLED.")
    assert refused.value.code.value == "INVALID_TRANSITION"
    assert refused.value.field == "status"
    assert (refused.value.current, refused.value.requested, refused.value.allowed) == (
        "PENDING_APPROVAL",
        "PENDING_APPROVAL",
        ("CANCELLED",),
    )
    assert order == before


def _refusal(order: Order, world: World, who: str, method: str, target: OrderStatus) -> DomainError | None:
    """The error a lifecycle call raises on a copy of `order`, or None when it is allowed."""
    try:
        call(copy.deepcopy(order), world, who, method, target)
    except DomainError as refused:
        return refused
    return None


def test_every_refused_move_to_the_current_status_says_already_and_every_other_says_from_and_to() -> None:
    # given every state of every path, and every actor who sees the order there
    already = 0
    for path_index, steps in STATE_IDS:
        state = state_at(PATHS[path_index], steps)
        current = state.order.status.value
        for who in ACTORS:
            if state.roles[who] is None:
                continue
            for method, target in calls_for(state.order):
                # when the actor makes a move the lifecycle refuses
                refused = _refusal(state.order, state.world, who, method, target)
                if not isinstance(refused, InvalidTransition):
                    continue  # allowed, or refused for another reason (e.g. a missing reason)
                allowed = ", ".join(refused.allowed) or "none"
                # then a move to where the order already is says so; any other names both statuses
                if target is state.order.status:
                    already += 1
                    expected = f"The order is already {current}; allowed from {current}: {allowed}."
                else:
                    expected = f"Cannot move the order from {current} to {target.value}; allowed from {current}: "
                    expected += f"{allowed}."
                assert refused.message == expected, (who, method, target)
    assert already > 0


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


def test_find_transition_allows_nothing_to_no_party() -> None:
    # given a real row, when looked up for no party at all, then nothing is allowed
    assert find_transition(Action.CANCEL, S.PENDING_QUOTES, S.CANCELLED, [P.PARTNER], OrderKind.QUOTED)
    assert find_transition(Action.CANCEL, S.PENDING_QUOTES, S.CANCELLED, [], OrderKind.QUOTED) is None


def test_transitions_from_respects_the_kind_of_the_order() -> None:
    # given a draft, then submit leads to PENDING_QUOTES for QUOTED and PENDING_APPROVAL for FLAT_FEE
    quoted = transitions_from(S.DRAFT, parties=[P.PARTNER], kind=OrderKind.QUOTED)
    flat = transitions_from(S.DRAFT, parties=[P.PARTNER], kind=OrderKind.FLAT_FEE)
    assert {(r.action, r.target) for r in quoted} == {
        (Action.SUBMIT, S.PENDING_QUOTES),
        (Action.CANCEL, S.CANCELLED),
    }
    assert {(r.action, r.target) for r in flat} == {
        (Action.SUBMIT, S.PENDING_APPROVAL),
        (Action.CANCEL, S.CANCELLED),
    }


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


# ---- (c) the import-time check rejects a broken table ------------------------------------------------


def _without(target: OrderStatus) -> tuple[Transition, ...]:
    return tuple(row for row in TRANSITIONS if row.target is not target)


BROKEN_TABLES: dict[str, tuple[tuple[Transition, ...], str]] = {
    "a status nobody can reach": (_without(S.SCHEDULED), "unreachable statuses in the order lifecycle: ['SCHEDULED']"),
    "no way to archive": (_without(S.ARCHIVED), "unreachable statuses in the order lifecycle: ['ARCHIVED']"),
    "a way out of ARCHIVED": (
        (*TRANSITIONS, Transition(Action.CHANGE_STATUS, S.ARCHIVED, S.IN_PROGRESS, frozenset({P.PROVIDER}))),
        "terminal status ARCHIVED has a way out",
    ),
    "a cancelled order back to work": (
        (*TRANSITIONS, Transition(Action.CHANGE_STATUS, S.CANCELLED, S.NOT_STARTED, frozenset({P.PROVIDER}))),
        "a cancelled order may only be archived",
    ),
    "a complete order back to work": (
        (*TRANSITIONS, Transition(Action.CHANGE_STATUS, S.COMPLETE, S.EXECUTING, frozenset({P.PROVIDER}))),
        "a complete order may only be archived",
    ),
    "a row nobody may take": (
        (*TRANSITIONS[:-1], replace(TRANSITIONS[-1], parties=frozenset())),
        "transition without a party",
    ),
    "a duplicate row": ((*TRANSITIONS, TRANSITIONS[0]), "duplicate rows in the order lifecycle"),
}


@pytest.mark.parametrize("broken", BROKEN_TABLES, ids=list(BROKEN_TABLES))
def test_the_import_time_check_rejects_a_broken_table(broken: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a table broken in one way
    rows, message = BROKEN_TABLES[broken]
    monkeypatch.setattr(lifecycle, "TRANSITIONS", rows)
    # when the import-time check runs, then it refuses the table and says why
    with pytest.raises(AssertionError, match="^" + message.replace("[", r"\[").replace("(", r"\(")):
        lifecycle._check_table()


def test_the_real_table_passes_its_own_check() -> None:
    lifecycle._check_table()


def test_terminal_and_closed_statuses() -> None:
    assert {S.ARCHIVED} == TERMINAL
    assert {S.COMPLETE, S.CANCELLED, S.ARCHIVED} == CLOSED
    assert all(row.source not in TERMINAL for row in TRANSITIONS)


# ---- (d) cancel needs a reason; cancelled never returns to work; COMPLETE only goes to ARCHIVED -------


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


def _every_call_by_everyone(state: State) -> list[tuple[str, str, OrderStatus]]:
    return [(who, method, target) for who in ACTORS for method, target in calls_for(state.order)]


@pytest.mark.parametrize(
    "ids",
    [(p, i) for p, i in STATE_IDS if i and PATHS[p].steps[i - 1].status in (S.CANCELLED, S.COMPLETE)],
    ids=_state_id,
)
def test_a_cancelled_or_complete_order_only_goes_on_to_archived(ids: tuple[int, int]) -> None:
    # given a cancelled or complete order (reached every way the paths reach one)
    state = state_at(PATHS[ids[0]], ids[1])
    # when anyone tries anything, then the only move that ever succeeds is to ARCHIVED
    for who, method, target in _every_call_by_everyone(state):
        given = copy.deepcopy(state.order)
        try:
            call(given, state.world, who, method, target)
        except DomainError:
            continue
        assert given.status is S.ARCHIVED, (who, method, target)


def test_the_table_has_no_row_from_cancelled_or_complete_except_to_archived() -> None:
    for row in TRANSITIONS:
        if row.source in (S.CANCELLED, S.COMPLETE):
            assert row.target is S.ARCHIVED


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
