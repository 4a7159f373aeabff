"""Placing an order and editing its fields: field policy, validation, versions and events, line items, assignment."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.common import check_line, search_text, with_article
from domain.common.errors import InvalidInput, PermissionDenied
from domain.orders.catalogue import Service
from domain.orders.events import EVERYONE, EventKind, jsonable
from domain.orders.fields import FIELD_EDITORS, UNSET, Priority
from domain.orders.lifecycle import OrderKind, OrderStatus, Party
from domain.orders.lines import MAX_LINES, Line, validate_lines
from domain.orders.placing import new_order
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
    flat_fee_draft,
    lines,
    make_world,
    open_request,
    quoted_draft,
    snapshot,
)

S = OrderStatus
P = Party


# ---- field policy ------------------------------------------------------------------------------------

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
        ([Line("two\nlines", Decimal(1), Decimal(1))], "One-line text"),
        ([Line("x" * 201, Decimal(1), Decimal(1))], "description"),
        ([Line("a", Decimal(0), Decimal(1))], "quantity"),
        ([Line("a", Decimal("NaN"), Decimal(1))], "quantity"),
        ([Line("a", Decimal(1), Decimal(-1))], "price"),
        ([Line("a", Decimal(1), Decimal("Infinity"))], "price"),
        ([Line("a", Decimal(1), Decimal(1))] * (MAX_LINES + 1), "At most"),
        ([Line("a", Decimal(1), Decimal("0.001"))], "two decimal places"),
        ([Line("a", Decimal("1.005"), Decimal(1))], "two decimal places"),
        ([Line("a", Decimal(10), Decimal(100_000_000))], "must stay below"),
        # huge factors are refused before they are multiplied (their product overflowed: decimal.Overflow)
        ([Line("a", Decimal("1E+500000"), Decimal("1E+500000"))], "must stay below"),
        ([Line("a", Decimal("1E+500000"), Decimal(0))], "must stay below"),
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


@pytest.mark.parametrize(
    "text",
    ["a\nb", "a\r\nb", "a\tb", "\x00", "a\u2028b", "abc\u202egpj.exe", "\u2067x\u2069", "\u200fx"],
)
def test_one_line_texts_refuse_breaks_controls_and_direction_overrides(text: str) -> None:
    with pytest.raises(InvalidInput, match="One-line text") as refused:
        check_line(text, "name")
    assert refused.value.field == "name"


def test_one_line_texts_keep_what_names_really_hold() -> None:
    for text in ("Café Müller", "東京 Webinar", "Family 👩\u200d👩\u200d👧", "R&D — Q3 (EMEA)", "a\u00a0b"):
        assert check_line(text, "name") == text


@pytest.mark.parametrize(("text", "expected"), [(None, ""), ("  Webinar ", "Webinar"), ("s" * 200, "s" * 200)])
def test_search_text_is_trimmed(text: str | None, expected: str) -> None:
    assert search_text(text) == expected


@pytest.mark.parametrize("text", ["s" * 201, "\x00", "\x00Webinar", "a\nb"])
def test_search_text_is_one_bounded_line(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        search_text(text)
    assert refused.value.field == "search"
