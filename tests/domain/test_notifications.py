"""Who is told what: the notification rules as tables, follow-ups, delivery ids and order links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.common.errors import InvalidInput
from domain.identity.model import Organisation
from domain.notifications.deliveries import Template
from domain.notifications.follow_ups import new_follow_up
from domain.notifications.links import check_link_opens, new_order_link, sign_order_link, verify_order_link
from domain.notifications.planning import Circle, Person, delivery_id, plan_notifications
from domain.notifications.recipients import RecipientSide
from domain.orders.comments import CommentVisibility, new_comment
from domain.orders.events import Audience, EventKind, OrderEvent
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
    World,
    approved_order,
    committed,
    flat_fee_approved,
    flat_fee_draft,
    flat_fee_submitted,
    make_world,
    open_request,
    quote_on,
    quoted_draft,
)

PROVIDER_LIST = "ops@provider-agency.example"
PARTNER_LIST = "desk@partner-msp.example"


def people(world: World) -> dict:
    orgs = {o.id: o for o in world.organisations.values()}
    return {u.id: Person.of(u, orgs[u.organisation_id]) for u in world.users.values()}


def circle(world: World, *, watchers: tuple[str, ...] = (), lists: bool = True) -> Circle:
    recipients = {RecipientSide.PROVIDER: (PROVIDER_LIST,), RecipientSide.PARTNER: (PARTNER_LIST,)} if lists else {}
    return Circle(people(world), frozenset(world.users[w].id for w in watchers), recipients)


def told(events: list[OrderEvent], order: Order, c: Circle) -> dict[str, str]:
    """Every address told about `events`, with the template (the last event's wins for the test's reading)."""
    found: dict[str, str] = {}
    for event in events:
        for planned in plan_notifications(event, order, c):
            found[planned.recipient] = planned.template.value
    return found


def email(who: str) -> str:
    return f"{who}@example.test"


# ---- the table: a story, then who is told --------------------------------------------------------


def flat_fee_rejected(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = flat_fee_submitted(w)
    order.reject(w.actor(VENDOR), w.tick(), "over budget")
    return order.pull_events(), order


def provider_moves_status(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = flat_fee_approved(w)
    order.change_status(w.actor(PROVIDER), w.tick(), OrderStatus.NOT_STARTED)
    return order.pull_events(), order


def partner_cancels_approved(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = flat_fee_approved(w)
    order.cancel(w.actor(PARTNER), w.tick(), "no longer needed")
    return order.pull_events(), order


def named_quote_request(w: World) -> tuple[list[OrderEvent], Order]:
    order = committed(quoted_draft(w, provider=PROVIDER))
    order.submit(w.actor(PARTNER), w.tick())
    return order.pull_events(), order


def open_quote_request(w: World) -> tuple[list[OrderEvent], Order]:
    order = committed(quoted_draft(w))
    order.submit(w.actor(PARTNER), w.tick())
    return order.pull_events(), order


def open_request_quoted(w: World) -> tuple[list[OrderEvent], Order]:
    order = committed(quoted_draft(w))
    order.submit(w.actor(PARTNER), w.tick())
    order.pull_events()
    quote_on(order, w, OTHER_PROVIDER)
    return order.pull_events(), order


def open_request_quote_rejected(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = open_request_quoted(w)
    order.reject_quote(w.actor(PARTNER), w.tick(), order.quotes[0].id, "too dear")
    return order.pull_events(), order


def quote_accepted(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = open_request_quoted(w)
    order.accept_quote(w.actor(PARTNER), w.tick(), order.quotes[0].id, Decimal("10000"))
    return order.pull_events(), order


def quote_accepted_over_threshold(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = open_request_quoted(w)
    order.accept_quote(w.actor(PARTNER), w.tick(), order.quotes[0].id, Decimal("10"))
    return order.pull_events(), order


def comment(visibility: CommentVisibility, author: str = PARTNER) -> Callable[[World], tuple[list[OrderEvent], Order]]:
    def story(w: World) -> tuple[list[OrderEvent], Order]:
        _, order = flat_fee_approved(w)
        note = new_comment(actor=w.actor(author), order=order, now=w.tick(), body="Hi", visibility=visibility, files=[])
        return note.pull_events(), order

    return story


def comment_before_release(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = flat_fee_submitted(w)
    note = new_comment(
        actor=w.actor(PARTNER), order=order, now=w.tick(), body="Hi", visibility=CommentVisibility.SHARED, files=[]
    )
    return note.pull_events(), order


def provider_notes_edited(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = flat_fee_approved(w)
    order.update(w.actor(PROVIDER), w.tick(), {"provider_notes": "secret margin"})
    return order.pull_events(), order


def assigned(w: World) -> tuple[list[OrderEvent], Order]:
    _, order = flat_fee_approved(w)
    order.assign(w.actor(PROVIDER), w.tick(), w.users[PROVIDER_2])
    return order.pull_events(), order


ALL_WATCHING = (PARTNER_2, PROVIDER_2, VENDOR, OTHER_PROVIDER, OTHER_PARTNER)

CASES = [
    pytest.param(flat_fee_submitted, (), {email(VENDOR): "approval_requested"}, id="submitted-flat-fee:vendor-only"),
    pytest.param(
        flat_fee_approved,
        (),
        {
            email(PARTNER): "order_approved",
            PARTNER_LIST: "order_approved",
            email(PROVIDER): "order_approved",  # no assignee yet: the provider's admins
            PROVIDER_LIST: "order_approved",
        },
        id="approved:both-sides",
    ),
    pytest.param(
        flat_fee_rejected,
        (),
        {email(PARTNER): "order_rejected", PARTNER_LIST: "order_rejected"},
        id="rejected-before-release:partner-only",
    ),
    pytest.param(
        provider_moves_status,
        (),
        {email(PARTNER): "status_changed", PARTNER_LIST: "status_changed"},
        id="provider-moves:partner-side",
    ),
    pytest.param(
        partner_cancels_approved,
        (),
        {email(PROVIDER): "status_changed", PROVIDER_LIST: "status_changed"},
        id="partner-cancels:provider-side",
    ),
    pytest.param(
        named_quote_request,
        (),
        {email(PROVIDER): "quote_requested", PROVIDER_LIST: "quote_requested"},
        id="named-request:its-provider",
    ),
    pytest.param(
        open_quote_request,
        ALL_WATCHING,
        # every provider of the programme may quote: each one's admins (never another programme's)
        {email(PROVIDER): "quote_requested", email(OTHER_PROVIDER): "quote_requested"},
        id="open-request:every-provider-of-the-programme",
    ),
    pytest.param(
        open_request_quoted,
        (),
        {email(PARTNER): "quote_submitted", PARTNER_LIST: "quote_submitted"},
        id="quote:buyer-only",
    ),
    pytest.param(
        open_request_quote_rejected, (), {email(OTHER_PROVIDER): "quote_rejected"}, id="quote-rejected:its-author-only"
    ),
    pytest.param(
        quote_accepted,
        (),
        # the order's provider is now the winner: its list (PROVIDER_LIST here) hears too
        {email(OTHER_PROVIDER): "quote_accepted", PROVIDER_LIST: "quote_accepted"},
        id="quote-accepted:winner",
    ),
    pytest.param(
        quote_accepted_over_threshold,
        (),
        {email(OTHER_PROVIDER): "quote_accepted", PROVIDER_LIST: "quote_accepted", email(VENDOR): "approval_requested"},
        id="quote-accepted-over-threshold:winner-and-vendor",
    ),
    pytest.param(
        comment(CommentVisibility.SHARED),
        ALL_WATCHING,
        {
            email(PROVIDER): "comment_added",
            PROVIDER_LIST: "comment_added",
            email(PARTNER_2): "comment_added",
            email(PROVIDER_2): "comment_added",
            email(VENDOR): "comment_added",
        },
        id="shared-comment:other-side-and-watchers-who-see-it",
    ),
    pytest.param(
        comment(CommentVisibility.INTERNAL),
        ALL_WATCHING,
        {email(PARTNER_2): "comment_added"},
        id="internal-comment:stays-inside",
    ),
    pytest.param(
        comment(CommentVisibility.INTERNAL, PROVIDER),
        ALL_WATCHING,
        {email(PROVIDER_2): "comment_added"},
        id="provider-internal-comment:stays-inside",
    ),
    pytest.param(comment_before_release, (PROVIDER_2,), {}, id="provider-not-told-before-release"),
    pytest.param(provider_notes_edited, ALL_WATCHING, {}, id="provider-notes:nobody"),
    pytest.param(assigned, ALL_WATCHING, {email(PROVIDER_2): "order_assigned"}, id="assigned:the-assignee"),
]


@pytest.mark.parametrize(("story", "watchers", "expected"), CASES)
def test_who_is_told(
    story: Callable[[World], tuple[list[OrderEvent], Order]], watchers: tuple[str, ...], expected: dict[str, str]
) -> None:
    # given a world, a story on an order and who watches it
    world = make_world()
    events, order = story(world)
    # when the story's events are planned
    got = told(events, order, circle(world, watchers=watchers))
    # then exactly the expected people are told, each with its template
    assert got == expected


def test_the_actor_and_inactive_users_are_never_told() -> None:
    world = make_world()
    events, order = comment(CommentVisibility.SHARED, PROVIDER)(world)
    c = circle(world, watchers=(PROVIDER, "inactive_provider", PARTNER_2))
    got = told(events, order, c)
    assert email(PROVIDER) not in got
    assert email("inactive_provider") not in got
    assert got[email(PARTNER)] == "comment_added"


def test_the_assignee_is_the_providers_voice_instead_of_its_admins() -> None:
    world = make_world()
    _, order = assigned(world)
    order.change_status(world.actor(PROVIDER_2), world.tick(), OrderStatus.NOT_STARTED)
    order.pull_events()
    note = new_comment(
        actor=world.actor(PARTNER),
        order=order,
        now=world.tick(),
        body="?",
        visibility=CommentVisibility.SHARED,
        files=[],
    )
    got = told(note.pull_events(), order, circle(world, lists=False))
    assert got == {email(PROVIDER_2): "comment_added"}


def test_a_follow_up_goes_to_its_addresses_and_to_the_other_side() -> None:
    world = make_world()
    _, order = flat_fee_approved(world)
    message = new_follow_up(
        actor=world.actor(PROVIDER),
        order=order,
        now=world.tick(),
        to=["Client@Customer.example", email(PROVIDER)],
        subject="  Your\nwebinar  ",
        body="Dates attached",
        visibility=CommentVisibility.SHARED,
        files=[],
        colleagues=set(),
    )
    event = message.events[0]
    assert event.after["message"] == {"to": ["client@customer.example", email(PROVIDER)], "subject": "Your webinar"}
    planned = {p.recipient: p for p in plan_notifications(event, order, circle(world))}
    assert {k: p.template for k, p in planned.items()} == {
        "client@customer.example": Template.FOLLOW_UP,
        email(PROVIDER): Template.FOLLOW_UP,  # the author asked for a copy
        email(PARTNER): Template.FOLLOW_UP,
        PARTNER_LIST: Template.FOLLOW_UP,
    }
    # the addresses the provider chose are in its own log, not the partner's
    assert planned["client@customer.example"].audience == Audience(org_id=world.org_id(PROVIDER))


def test_an_internal_follow_up_goes_to_colleagues_only() -> None:
    world = make_world()
    _, order = flat_fee_approved(world)
    with pytest.raises(InvalidInput) as refused:
        new_follow_up(
            actor=world.actor(PARTNER),
            order=order,
            now=world.tick(),
            to=[email(PARTNER_2), "someone@outside.example"],
            subject="Internal",
            body="b",
            visibility=CommentVisibility.INTERNAL,
            files=[],
            colleagues={email(PARTNER_2)},
        )
    assert refused.value.field == "to"


@pytest.mark.parametrize(
    ("to", "subject", "field"),
    [
        ([], "s", "to"),
        (["not-an-address"], "s", "to.0"),
        ([f"a{i}@x.example" for i in range(21)], "s", "to"),
        (["a@x.example"], "", "subject"),
        (["a@x.example"], "x" * 201, "subject"),
    ],
)
def test_follow_up_input_is_checked(to: list[str], subject: str, field: str) -> None:
    world = make_world()
    _, order = flat_fee_approved(world)
    with pytest.raises(InvalidInput) as refused:
        new_follow_up(
            actor=world.actor(PARTNER),
            order=order,
            now=world.tick(),
            to=to,
            subject=subject,
            body="b",
            visibility=CommentVisibility.SHARED,
            files=[],
            colleagues=set(),
        )
    assert refused.value.field == field


# ---- delivery ids and order links ----------------------------------------------------------------


def test_a_delivery_id_is_the_same_for_the_same_event_and_address() -> None:
    event = uuid4()
    assert delivery_id(event, "A@x.example ") == delivery_id(event, "a@x.example")
    assert delivery_id(event, "a@x.example") != delivery_id(event, "b@x.example")
    assert delivery_id(event, "a@x.example") != delivery_id(uuid4(), "a@x.example")


def test_an_order_link_verifies_until_it_expires() -> None:
    world = make_world()
    order_id, secret = uuid4(), b"k" * 32
    expires = world.now + timedelta(days=7)
    token = sign_order_link(order_id, expires, secret)
    assert verify_order_link(token, secret, world.now) == (order_id, expires.replace(microsecond=0))
    with pytest.raises(InvalidInput, match="expired"):
        verify_order_link(token, secret, expires)
    with pytest.raises(InvalidInput, match="not valid"):
        verify_order_link(token, b"another key", world.now)
    payload, _, signature = token.rpartition(".")
    forged = f"{uuid4().hex}.{payload.split('.')[1]}.{signature}"
    for bad in (forged, token[:-2], "", "a.b.c", token + "x", token.replace(".", "", 1)):
        with pytest.raises(InvalidInput):
            verify_order_link(bad, secret, world.now)


def test_an_order_link_opens_only_while_its_order_is_a_draft() -> None:
    world = make_world()
    # a draft opens; once submitted (or approved), the link is spent
    check_link_opens(committed(flat_fee_draft(world)))
    for order in (open_request(world), approved_order(world)):
        with pytest.raises(InvalidInput, match=f"no longer opens: order #{order.number} is {order.status.value}") as no:
            check_link_opens(order)
        assert no.value.field == "token"


def test_an_order_link_goes_to_a_partner_user_for_a_draft() -> None:
    world = make_world()
    order = committed(flat_fee_draft(world))
    orgs = {o.id: o for o in world.organisations.values()}
    person = {who: Person.of(world.users[who], orgs[world.org_id(who)]) for who in (PARTNER_2, PROVIDER)}
    link = new_order_link(
        actor=world.actor(PARTNER),
        order=order,
        now=world.now,
        recipient=person[PARTNER_2],
        to=email(PARTNER_2).upper(),
        subject="",
        message="Please finish",
    )
    [event] = link.pull_events()
    assert event.kind is EventKind.ORDER_LINK_SENT
    assert event.audience == Audience(org_id=order.partner_id, buyer_side=True)
    planned = plan_notifications(event, order, circle(world))
    assert [(p.recipient, p.template) for p in planned] == [(email(PARTNER_2), Template.ORDER_LINK)]
    with pytest.raises(InvalidInput):  # not the partner's user
        new_order_link(
            actor=world.actor(PARTNER),
            order=order,
            now=world.now,
            recipient=person[PROVIDER],
            to=email(PROVIDER),
            subject="",
            message="",
        )
    order.submit(world.actor(PARTNER), world.tick())
    with pytest.raises(InvalidInput, match="DRAFT"):
        new_order_link(
            actor=world.actor(PARTNER),
            order=order,
            now=world.now,
            recipient=person[PARTNER_2],
            to=email(PARTNER_2),
            subject="",
            message="",
        )


def test_person_of_normalises_the_email() -> None:
    world = make_world()
    user = world.users[PARTNER]
    user.email = " Partner@Example.TEST "
    org: Organisation = world.organisations["partner"]
    assert Person.of(user, org).email == "partner@example.test"
