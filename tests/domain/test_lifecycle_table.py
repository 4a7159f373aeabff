"""The order lifecycle's transition table (`MOVES`, from product.md): exactly its moves allowed, all others refused."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from domain.common.errors import DomainError, InvalidTransition
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
from tests.domain.paths import PATHS, STATE_IDS, Path, State, call, state_at, walk
from tests.domain.world import (
    ACTORS,
    PARTNER,
    PROVIDER,
    World,
    committed,
    flat_fee_draft,
    make_world,
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


# ---- (d) cancelled never returns to work; COMPLETE only goes to ARCHIVED -----------------------------


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
