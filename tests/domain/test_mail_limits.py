"""The bounds on the email users send: every rate window walked, every source of allowed addresses walked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.common.errors import ErrorCode
from domain.common.ports import Policy
from domain.notifications.planning import Circle, Person
from domain.notifications.recipients import RecipientSide
from domain.notifications.sending import (
    ORDER_ADDRESSES,
    SEND_WINDOWS,
    RateLimited,
    RecipientNotAllowed,
    Sender,
    SendWindow,
    TooManyRecipients,
    check_list_additions,
    check_recipient_count,
    check_recipients_allowed,
    check_send_rate,
    is_message,
    order_addresses,
)
from domain.orders.comments import CommentVisibility, new_comment
from domain.orders.events import EventKind
from tests.domain.world import OTHER_PARTNER, PARTNER, PROVIDER, VENDOR, World, flat_fee_approved, make_world

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


# ---- the rate windows --------------------------------------------------------------------------------------


def test_every_window_counts_a_distinct_sender_over_a_setting_of_the_policy() -> None:
    assert {w.sender for w in SEND_WINDOWS} == set(Sender)
    for window in SEND_WINDOWS:
        assert window.most(Policy()) >= 1, window


@pytest.mark.parametrize("window", SEND_WINDOWS, ids=lambda w: w.sender.value)
def test_each_window_allows_its_limit_then_refuses_until_the_oldest_counted_leaves_it(window: SendWindow) -> None:
    # given a limit of 3 and a sender that sent 2 messages inside the window
    limit = 3
    step = window.length / 10
    two = [NOW - step, NOW - 2 * step]
    # then a third is allowed
    check_send_rate(window, limit, two, NOW)
    # and a fourth is not, until the oldest of the 3 latest is a whole window old
    three = [NOW - step, NOW - 2 * step, NOW - 3 * step]
    with pytest.raises(RateLimited) as refused:
        check_send_rate(window, limit, three, NOW)
    assert refused.value.code is ErrorCode.RATE_LIMITED
    assert (refused.value.limit, refused.value.window) == (limit, window)
    retry_at = NOW - 3 * step + window.length
    assert refused.value.retry_after == int((retry_at - NOW).total_seconds())
    assert str(limit) in refused.value.message and window.span in refused.value.message
    # and at that moment one more is allowed again
    check_send_rate(window, limit, three, retry_at)
    # messages older than the window are never counted, whatever their number
    check_send_rate(window, limit, [NOW - window.length - timedelta(seconds=1)] * 50, NOW)


@pytest.mark.parametrize("window", SEND_WINDOWS, ids=lambda w: w.sender.value)
def test_each_window_takes_its_limit_from_the_policy(window: SendWindow) -> None:
    policy = replace(Policy(), **{window.setting: 2})
    assert window.most(policy) == 2


def test_follow_ups_and_order_links_are_messages_and_plain_comments_are_not() -> None:
    w = make_world()
    _, order = flat_fee_approved(w)
    comment = new_comment(
        actor=w.actor(PARTNER), order=order, now=NOW, body="hi", visibility=CommentVisibility.SHARED, files=[]
    )
    plain = comment.events[0]
    assert plain.kind in {EventKind.COMMENT_ADDED} and not is_message(plain)
    follow_up = replace(plain, after={**plain.after, "message": {"to": ["a@b.example"], "subject": "s"}})
    assert is_message(follow_up)
    assert is_message(replace(plain, kind=EventKind.ORDER_LINK_SENT, after={}))
    assert not is_message(replace(plain, kind=EventKind.STATUS_CHANGED))


# ---- recipients per message --------------------------------------------------------------------------------


def test_a_message_names_at_most_its_limit_of_distinct_addresses() -> None:
    check_recipient_count(["a@x.example", "A@x.example ", "b@x.example"], 2)  # the same address twice is one
    with pytest.raises(TooManyRecipients) as refused:
        check_recipient_count(["a@x.example", "b@x.example", "c@x.example"], 2)
    assert (refused.value.code, refused.value.limit, refused.value.field) == (ErrorCode.TOO_MANY_RECIPIENTS, 2, "to")
    assert "at most 2" in refused.value.message


# ---- who may be written to -----------------------------------------------------------------------------------

PARTNER_LIST = "desk@partner.example"
PROVIDER_LIST = "ops@provider.example"


def order_circle(w: World, *, inactive: str | None = None) -> Circle:
    """The approved order's people (partner, provider, vendor, not the other partner) and both lists."""
    orgs = {o.id: o for o in w.organisations.values()}
    around = {w.org_id(PARTNER), w.org_id(PROVIDER), w.org_id(VENDOR)}
    people = {
        u.id: Person.of(replace(u, active=u.email != inactive), orgs[u.organisation_id])
        for u in w.users.values()
        if u.organisation_id in around
    }
    lists = {RecipientSide.PARTNER: (PARTNER_LIST,), RecipientSide.PROVIDER: (PROVIDER_LIST,)}
    return Circle(people, frozenset(), lists)


def test_every_source_of_the_order_s_addresses_adds_what_it_says() -> None:
    # given an approved order, its circle, and the provider acting
    w = make_world()
    _, order = flat_fee_approved(w)
    c = order_circle(w)
    provider, partner = w.actor(PROVIDER), w.actor(PARTNER)
    # then each source of ORDER_ADDRESSES contributes, and only to whom it says
    found = {what: (source(provider, order, c), source(partner, order, c)) for what, source in ORDER_ADDRESSES}
    assert len(found) == 3
    users, partner_list, provider_list = found.values()
    assert users[0] == users[1] == {p.email for p in c.people.values()}
    assert partner_list == (frozenset(), {PARTNER_LIST})  # the partner's list: the buyer side's
    assert provider_list == ({PROVIDER_LIST}, frozenset())  # the provider's list: the provider's only
    assert order_addresses(provider, order, c) == users[0] | {PROVIDER_LIST}


def test_an_outside_address_is_refused_by_name_unless_the_organisation_allows_them() -> None:
    w = make_world()
    _, order = flat_fee_approved(w)
    outsider = w.users[OTHER_PARTNER].email
    c = order_circle(w, inactive=w.users[VENDOR].email)
    partner = w.actor(PARTNER)
    # the order's people and the partner's list are fine (in any case)
    check_recipients_allowed(partner, order, c, [w.users[PROVIDER].email.upper(), PARTNER_LIST], outside_allowed=False)
    # an address of no one on the order, the provider's internal list (not the partner's to probe), or
    # a deactivated user: refused, naming the address and where it was given
    for refused_address in ("client@customer.example", PROVIDER_LIST, outsider, w.users[VENDOR].email):
        with pytest.raises(RecipientNotAllowed) as refused:
            check_recipients_allowed(partner, order, c, [PARTNER_LIST, refused_address], outside_allowed=False)
        assert refused.value.code is ErrorCode.RECIPIENT_NOT_ALLOWED
        assert (refused.value.address, refused.value.field) == (refused_address.lower(), "to.1")
        assert refused_address.lower() in refused.value.message
    # unless the organisation allows outside addresses
    check_recipients_allowed(partner, order, c, ["client@customer.example"], outside_allowed=True)


def test_a_list_gains_only_the_order_s_people_unless_the_organisation_allows_outside_addresses() -> None:
    w = make_world()
    c = order_circle(w)
    provider = w.users[PROVIDER].email
    # what the list had stays, and the order's people may be added
    check_list_additions(c, [PARTNER_LIST], [PARTNER_LIST, provider.upper()], outside_allowed=False)
    # an outside address may not, named where it was given
    with pytest.raises(RecipientNotAllowed) as refused:
        check_list_additions(c, [PARTNER_LIST], [provider, "Spam@Target.example"], outside_allowed=False)
    assert (refused.value.address, refused.value.field) == ("spam@target.example", "emails.1")
    # unless the organisation may email outside addresses
    check_list_additions(c, [], ["spam@target.example"], outside_allowed=True)
