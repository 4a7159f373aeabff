"""The order aggregate: field policy, versions and events, assignment, quotes, flat-fee orders, visibility."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.common import with_article
from domain.common.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied, QuoteExpired
from domain.orders.catalogue import Service
from domain.orders.events import EVERYONE, Audience, EventKind, jsonable
from domain.orders.fields import FIELD_EDITORS, UNSET, Priority
from domain.orders.lifecycle import OrderKind, OrderStatus, Party
from domain.orders.lines import MAX_LINES, Line, validate_lines
from domain.orders.order import Order
from domain.orders.placing import new_order
from domain.orders.quotes import QuoteStatus
from tests.domain.world import (
    FOREIGN_PROVIDER,
    FOREIGN_VENDOR,
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
    World,
    committed,
    flat_fee_draft,
    lines,
    make_world,
    quote_on,
    quoted_draft,
    snapshot,
)

S = OrderStatus
P = Party
EVERY_USER = (PARTNER, PARTNER_2, OTHER_PARTNER, PROVIDER, PROVIDER_2, OTHER_PROVIDER, VENDOR, FOREIGN_VENDOR)


def open_request(world: World, *, provider: str | None = None) -> Order:
    """A submitted QUOTED order, committed."""
    order = quoted_draft(world, provider=provider)
    order.submit(world.actor(PARTNER), world.tick())
    return committed(order)


def approved_order(world: World) -> Order:
    """A flat-fee order the vendor approved: partner, vendor and provider all have a part in it."""
    order = flat_fee_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    order.approve(world.actor(VENDOR), world.tick())
    return committed(order)


def accepted(world: World, *, total: int = 1000) -> tuple[Order, Any, Any]:
    """An open request quoted by both providers, the provider's quote accepted."""
    order = open_request(world)
    mine = quote_on(order, world, PROVIDER, total=total)
    theirs = quote_on(order, world, OTHER_PROVIDER, total=total - 1)
    committed(order)
    order.accept_quote(world.actor(PARTNER), world.tick(), mine.id, world.programme.quote_approval_threshold)
    return committed(order), mine, theirs


# ---- field policy ------------------------------------------------------------------------------------

D = date(2026, 5, 1)

# field -> (a new value, who may edit it); written from product.md: provider notes, estimated completion
# (and the provider's own planning and owner) are the provider's; the order's terms are the buyer side's.
FIELD_POLICY: dict[str, tuple[Callable[[World], Any], set[Party]]] = {
    "name": (lambda w: "Summer campaign", {P.PARTNER, P.VENDOR}),
    "campaign_name": (lambda w: "Summer push", {P.PARTNER, P.VENDOR}),
    "activity_type": (lambda w: "Event", {P.PARTNER, P.VENDOR}),
    "partner_contact_id": (lambda w: w.users[PARTNER_2].id, {P.PARTNER, P.VENDOR}),
    "end_customer": (lambda w: "Acme Ltd", {P.PARTNER, P.VENDOR}),
    "requested_completion": (lambda w: D, {P.PARTNER, P.VENDOR}),
    "po_number": (lambda w: "PO-4711", {P.PARTNER, P.VENDOR}),
    "po_not_required": (lambda w: True, {P.PARTNER, P.VENDOR}),
    "priority": (lambda w: Priority.URGENT, {P.PARTNER, P.VENDOR, P.PROVIDER}),
    "planned_completion": (lambda w: D, {P.PROVIDER}),
    "estimated_completion": (lambda w: D, {P.PROVIDER}),
    "provider_notes": (lambda w: "Call the partner on Tuesday", {P.PROVIDER}),
    "owner_id": (lambda w: w.users[PROVIDER_2].id, {P.PROVIDER}),
}


def test_the_field_policy_covers_exactly_the_editable_fields() -> None:
    assert {name: set(parties) for name, parties in FIELD_EDITORS.items()} == {
        name: parties for name, (_, parties) in FIELD_POLICY.items()
    }


@pytest.mark.parametrize("field", FIELD_POLICY)
@pytest.mark.parametrize(("who", "party"), [(PARTNER, P.PARTNER), (VENDOR, P.VENDOR), (PROVIDER, P.PROVIDER)])
def test_each_field_is_editable_only_by_its_parties(field: str, who: str, party: Party) -> None:
    # given an approved order all three sides take part in
    world = make_world()
    order = approved_order(world)
    assert order.parties_of(world.actor(who)) == {party}
    value_of, editors = FIELD_POLICY[field]
    value = value_of(world)
    before = snapshot(order)
    # when `who` edits the field
    if party in editors:
        order.update(world.actor(who), world.tick(), {field: value})
        # then the value is set, the version bumped once and one event says who changed what
        assert getattr(order, field) == value
        assert order.version == before.version + 1
        [event] = order.pull_events()
        assert event.kind is EventKind.FIELDS_UPDATED
        assert event.actor_user_id == world.users[who].id
        assert set(event.after) == {field}
    else:
        # then it is refused, naming the field, and nothing changes
        with pytest.raises(PermissionDenied) as refused:
            order.update(world.actor(who), world.tick(), {field: value})
        assert refused.value.field == field
        assert order == before


@pytest.mark.parametrize("field", FIELD_POLICY)
def test_a_provider_still_quoting_edits_nothing(field: str) -> None:
    world = make_world()
    order = open_request(world)
    before = snapshot(order)
    with pytest.raises(PermissionDenied):
        order.update(world.actor(PROVIDER), world.tick(), {field: FIELD_POLICY[field][0](world)})
    assert order == before


@pytest.mark.parametrize(
    "field",
    [
        "status",
        "kind",
        "provider_id",
        "partner_id",
        "programme_id",
        "number",
        "version",
        "lines",
        "assignee_id",
        "cancel_reason",
        "rejected",
        "released_to_provider_at",
        "quotes",
        "no_such_field",
    ],
)
def test_fields_outside_the_policy_cannot_be_edited_by_anyone(field: str) -> None:
    world = make_world()
    order = approved_order(world)
    before = snapshot(order)
    for who in (PARTNER, VENDOR, PROVIDER):
        with pytest.raises(InvalidInput) as refused:
            order.update(world.actor(who), world.tick(), {field: None})
        assert refused.value.field == field
    assert order == before


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


def test_an_update_that_changes_nothing_records_nothing_and_keeps_the_version() -> None:
    world = make_world()
    order = approved_order(world)
    before = snapshot(order)
    order.update(world.actor(PARTNER), world.tick(), {"name": order.name, "priority": order.priority})
    assert order == before


def test_unset_values_are_left_out_and_an_update_of_nothing_is_refused() -> None:
    world = make_world()
    order = approved_order(world)
    order.update(world.actor(PARTNER), world.tick(), {"name": "Kept", "campaign_name": UNSET})
    assert (order.name, order.campaign_name) == ("Kept", "")
    with pytest.raises(InvalidInput, match="Nothing to change"):
        order.update(world.actor(PARTNER), world.tick(), {"name": UNSET})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"campaign_name": 42}, "campaign_name"),
        ({"priority": "HIGH"}, "priority"),
        ({"provider_notes": "x" * 20_001}, "providerNotes"),
    ],
)
def test_invalid_values_are_refused_whole(changes: dict[str, Any], field: str) -> None:
    # given an approved order, when an edit mixes a valid and an invalid value, then nothing is changed
    world = make_world()
    order = approved_order(world)
    who = PROVIDER if "provider_notes" in changes else PARTNER
    before = snapshot(order)
    with pytest.raises(InvalidInput) as refused:
        order.update(world.actor(who), world.tick(), {"priority": Priority.LOW, **changes})
    assert refused.value.field == field
    assert order == before


def test_text_values_are_trimmed() -> None:
    world = make_world()
    order = approved_order(world)
    order.update(world.actor(PARTNER), world.tick(), {"name": "  Trimmed  ", "po_number": " PO-1 "})
    assert (order.name, order.po_number) == ("Trimmed", "PO-1")


@pytest.mark.parametrize("status", [S.CANCELLED, S.ARCHIVED])
def test_a_cancelled_or_archived_order_can_no_longer_be_edited(status: OrderStatus) -> None:
    world = make_world()
    order = approved_order(world)
    order.cancel(world.actor(PARTNER), world.tick(), "Called off")
    if status is S.ARCHIVED:
        order.archive(world.actor(VENDOR), world.tick())
    committed(order)
    for who, field in ((PARTNER, "name"), (PROVIDER, "provider_notes")):
        with pytest.raises(PermissionDenied):
            order.update(world.actor(who), world.tick(), {field: "late"})


# Every status with the article it takes in a sentence, written by hand: a new status must be added here.
STATUS_WITH_ARTICLE: dict[OrderStatus, str] = {
    S.DRAFT: "a DRAFT",
    S.PENDING_QUOTES: "a PENDING_QUOTES",
    S.PENDING_APPROVAL: "a PENDING_APPROVAL",
    S.APPROVED: "an APPROVED",
    S.NOT_STARTED: "a NOT_STARTED",
    S.IN_PROGRESS: "an IN_PROGRESS",
    S.WAITING_FOR_PARTNER: "a WAITING_FOR_PARTNER",
    S.SCHEDULED: "a SCHEDULED",
    S.EXECUTING: "an EXECUTING",
    S.COMPLETE: "a COMPLETE",
    S.CANCELLED: "a CANCELLED",
    S.ARCHIVED: "an ARCHIVED",
}


def test_every_status_takes_its_article() -> None:
    assert set(STATUS_WITH_ARTICLE) == set(OrderStatus)
    for status, expected in STATUS_WITH_ARTICLE.items():
        assert with_article(status.value) == expected
        assert with_article(status.value, capital=True) == expected[0].upper() + expected[1:]


@pytest.mark.parametrize("status", list(OrderStatus), ids=lambda s: s.value)
def test_a_refusal_naming_the_status_takes_the_right_article(status: OrderStatus) -> None:
    # given an order its provider works, put in `status` (directly: some statuses are reached by long paths)
    world = make_world()
    order = approved_order(world)
    order.status = status
    committed(order)
    expected = STATUS_WITH_ARTICLE[status]
    sentence_start = expected[0].upper() + expected[1:]
    refusals: dict[str, str] = {}
    # when the provider edits its notes and assigns the order
    for name, attempt in (
        ("edited", lambda: order.update(world.actor(PROVIDER), world.tick(), {"provider_notes": "late"})),
        ("assigned", lambda: order.assign(world.actor(PROVIDER), world.tick(), world.users[PROVIDER_2])),
    ):
        try:
            attempt()
        except PermissionDenied as refused:
            refusals[name] = refused.message
    # then the statuses that refuse say so with the article the status takes ("An ARCHIVED order ...")
    assert ("edited" in refusals) == (status in (S.CANCELLED, S.ARCHIVED))
    assert ("assigned" in refusals) == (status in (S.COMPLETE, S.CANCELLED, S.ARCHIVED))
    for name, message in refusals.items():
        assert message == f"{sentence_start} order can no longer be {name}."


def test_a_complete_order_still_takes_field_edits() -> None:
    # The code allows edits on COMPLETE (only CANCELLED and ARCHIVED are refused), although
    # lifecycle.CLOSED's docstring says a COMPLETE order takes "no more edits" (see the report).
    world = make_world()
    order = approved_order(world)
    for status in (S.NOT_STARTED, S.COMPLETE):
        order.change_status(world.actor(PROVIDER), world.tick(), status)
    order.update(world.actor(PROVIDER), world.tick(), {"provider_notes": "Invoice sent"})
    assert order.provider_notes == "Invoice sent"


# ---- versions and events -----------------------------------------------------------------------------


def test_the_version_moves_once_per_command_and_events_carry_actor_time_before_and_after() -> None:
    # given a new draft: version 1, with its creation event
    world = make_world()
    created_at = world.now
    order = quoted_draft(world)
    assert order.version == 1
    [created] = order.pull_events()
    assert created.kind is EventKind.ORDER_CREATED
    assert (created.actor_user_id, created.actor_org_id) == (world.users[PARTNER].id, world.org_id(PARTNER))
    assert created.occurred_at == created_at
    assert created.after == {"status": "DRAFT", "kind": "QUOTED", "number": order.number}
    # when three commands are committed one after the other
    commands: list[tuple[str, Callable[[], None]]] = [
        ("rename", lambda: order.update(world.actor(PARTNER), world.tick(), {"name": "B", "end_customer": "Acme"})),
        ("lines", lambda: order.set_draft_lines(world.actor(PARTNER), world.tick(), lines(250))),
        ("submit", lambda: order.submit(world.actor(PARTNER), world.tick())),
    ]
    for index, (name, command) in enumerate(commands, start=2):
        command()
        events = order.pull_events()
        # then each moved the version by exactly one and stamped its events with the actor and now
        assert order.version == index, name
        assert all(e.occurred_at == world.now and e.actor_user_id == world.users[PARTNER].id for e in events)
        assert order.last_activity_at == world.now
    # and the events said what changed, in JSON-ready values
    order.update(world.actor(PARTNER), world.tick(), {"requested_completion": D, "priority": Priority.HIGH})
    [event] = order.pull_events()
    assert event.before == {"requested_completion": None, "priority": "NORMAL"}
    assert event.after == {"requested_completion": "2026-05-01", "priority": "HIGH"}


def test_two_steps_in_one_unit_of_work_make_one_version() -> None:
    # given a draft, when it is edited twice before its events are pulled (one command, as update_order does)
    world = make_world()
    order = committed(quoted_draft(world))
    total = jsonable(order.total)
    order.update(world.actor(PARTNER), world.tick(), {"name": "B"})
    order.set_draft_lines(world.actor(PARTNER), world.tick(), lines(10))
    # then it is one new version with one event holding both changes (the name and the total)
    assert order.version == 2
    [event] = order.pull_events()
    assert event.kind is EventKind.FIELDS_UPDATED
    assert event.before == {"name": "Spring campaign", "total": total}
    assert event.after == {"name": "B", "total": jsonable(order.total)}
    assert event.audience == EVERYONE


def test_draft_lines_are_the_buyer_sides_and_only_on_a_quoted_draft() -> None:
    world = make_world()
    order = committed(quoted_draft(world))
    order.set_draft_lines(world.actor(VENDOR), world.tick(), [*lines(100), *lines(50)])
    assert order.total == Decimal(150)
    [event] = order.pull_events()
    assert (event.before, event.after) == ({"total": "100.00"}, {"total": "150.00"})
    with pytest.raises(PermissionDenied):
        order.set_draft_lines(world.actor(OTHER_PARTNER), world.tick(), lines(1))
    order.submit(world.actor(PARTNER), world.tick())
    with pytest.raises(PermissionDenied):
        order.set_draft_lines(world.actor(PARTNER), world.tick(), lines(1))


def test_a_flat_fee_draft_keeps_the_price_of_its_service() -> None:
    # given a flat-fee draft priced from the provider's service
    world = make_world()
    order = committed(flat_fee_draft(world))
    before = snapshot(order)
    # when the partner tries to replace its line items (say, at a price of zero), then it is refused
    with pytest.raises(PermissionDenied) as refused:
        order.set_draft_lines(world.actor(PARTNER), world.tick(), (Line("Webinar in a box", Decimal(1), Decimal(0)),))
    assert refused.value.field == "lines"
    assert order == before


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([Line(" ", Decimal(1), Decimal(1))], "description"),
        ([Line("x" * 201, Decimal(1), Decimal(1))], "description"),
        ([Line("a", Decimal(0), Decimal(1))], "quantity"),
        ([Line("a", Decimal("NaN"), Decimal(1))], "quantity"),
        ([Line("a", Decimal(1), Decimal(-1))], "price"),
        ([Line("a", Decimal(1), Decimal("Infinity"))], "price"),
        ([Line("a", Decimal(1), Decimal(1))] * (MAX_LINES + 1), "At most"),
        ([Line("a", Decimal(1), Decimal("0.001"))], "two decimal places"),
        ([Line("a", Decimal("1.005"), Decimal(1))], "two decimal places"),
        ([Line("a", Decimal(10), Decimal(100_000_000))], "must stay below"),
    ],
)
def test_line_items_are_validated(bad: list[Line], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_lines(bad)


def test_line_descriptions_are_trimmed_and_totals_add_up() -> None:
    checked = validate_lines([Line(" a ", Decimal(2), Decimal("1.25")), Line("b", Decimal(1), Decimal(0))])
    assert [line.description for line in checked] == ["a", "b"]
    assert sum(line.total for line in checked) == Decimal("2.50")
    assert Line("a", Decimal("0.5"), Decimal("0.05")).total == Decimal("0.03")  # rounded half-up to the cent


# ---- assignment --------------------------------------------------------------------------------------


def test_the_provider_assigns_the_order_to_its_own_active_users() -> None:
    world = make_world()
    order = approved_order(world)
    # when the provider assigns it to a colleague, then the assignment is an event
    order.assign(world.actor(PROVIDER), world.tick(), world.users[PROVIDER_2])
    assert order.assignee_id == world.users[PROVIDER_2].id
    [event] = order.pull_events()
    assert event.kind is EventKind.ASSIGNED
    assert (event.before, event.after) == ({"assignee_id": None}, {"assignee_id": str(world.users[PROVIDER_2].id)})
    # assigning to the same user again changes nothing
    before = snapshot(order)
    order.assign(world.actor(PROVIDER_2), world.tick(), world.users[PROVIDER_2])
    assert order == before
    # and the assignment can be cleared
    order.assign(world.actor(PROVIDER), world.tick(), None)
    assert order.assignee_id is None
    assert order.version == before.version + 1


@pytest.mark.parametrize(
    ("who", "assignee", "error"),
    [
        (PARTNER, PROVIDER_2, PermissionDenied),
        (VENDOR, PROVIDER_2, PermissionDenied),
        (OTHER_PROVIDER, OTHER_PROVIDER, PermissionDenied),
        (PROVIDER, PARTNER, InvalidInput),
        (PROVIDER, OTHER_PROVIDER, InvalidInput),
        (PROVIDER, "inactive_provider", InvalidInput),
    ],
)
def test_assignment_rules(who: str, assignee: str, error: type[Exception]) -> None:
    world = make_world()
    order = approved_order(world)
    before = snapshot(order)
    with pytest.raises(error):
        order.assign(world.actor(who), world.tick(), world.users[assignee])
    assert order == before


def test_a_provider_still_quoting_cannot_assign_and_a_closed_order_cannot_be_assigned() -> None:
    world = make_world()
    request = open_request(world)
    with pytest.raises(PermissionDenied):
        request.assign(world.actor(PROVIDER), world.tick(), world.users[PROVIDER_2])
    order = approved_order(world)
    order.change_status(world.actor(PROVIDER), world.tick(), S.NOT_STARTED)
    order.change_status(world.actor(PROVIDER), world.tick(), S.COMPLETE)
    committed(order)
    with pytest.raises(PermissionDenied, match="COMPLETE"):
        order.assign(world.actor(PROVIDER), world.tick(), world.users[PROVIDER_2])


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


# ---- flat-fee orders from a service -------------------------------------------------------------------


def test_a_flat_fee_order_is_priced_from_its_service() -> None:
    world = make_world()
    order = flat_fee_draft(world)
    service = world.service
    assert (order.kind, order.status, order.version) == (OrderKind.FLAT_FEE, S.DRAFT, 1)
    assert order.provider_id == service.provider_id
    assert order.service_id == service.id
    assert order.lines == (Line(service.name, Decimal(1), service.price),)
    assert order.total == service.price
    assert order.activity_type == service.activity_type
    assert order.partner_id == world.org_id(PARTNER)
    assert order.partner_contact_id == world.users[PARTNER].id
    assert order.programme_id == world.programme.id


def test_new_order_rules() -> None:
    world = make_world()
    base: dict[str, Any] = {"now": world.now, "number": 7, "name": "X"}
    partner = world.actor(PARTNER)
    with pytest.raises(PermissionDenied):
        new_order(actor=world.actor(VENDOR), kind=OrderKind.QUOTED, **base)
    with pytest.raises(PermissionDenied):
        new_order(actor=world.actor(PROVIDER), kind=OrderKind.QUOTED, **base)
    with pytest.raises(InvalidInput) as no_service:
        new_order(actor=partner, kind=OrderKind.FLAT_FEE, **base)
    assert no_service.value.field == "serviceId"
    with pytest.raises(InvalidInput):
        new_order(actor=partner, kind=OrderKind.FLAT_FEE, service=world.inactive_service, **base)
    with pytest.raises(InvalidInput):
        new_order(actor=partner, kind=OrderKind.QUOTED, service=world.service, **base)
    with pytest.raises(InvalidInput) as contact:
        new_order(actor=partner, kind=OrderKind.QUOTED, partner_contact=world.users[OTHER_PARTNER], **base)
    assert contact.value.field == "partnerContactId"
    with pytest.raises(InvalidInput):
        new_order(actor=partner, kind=OrderKind.QUOTED, **(base | {"name": " "}))
    # the service's activity type is only a default
    order = new_order(actor=partner, kind=OrderKind.FLAT_FEE, service=world.service, activity_type="Custom", **base)
    assert order.activity_type == "Custom"
    # a flat-fee order's provider is the service's, whatever else was passed
    other = Service(world.service.id, world.org_id(PROVIDER), "S", "T", Decimal(5))
    order = new_order(
        actor=partner, kind=OrderKind.FLAT_FEE, service=other, provider_id=world.org_id(OTHER_PROVIDER), **base
    )
    assert order.provider_id == world.org_id(PROVIDER)


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
