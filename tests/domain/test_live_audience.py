"""The live audience: every read decision made for a user is made the same for its audience.

Live events are read once per audience (`live_audience`) and sent to every subscriber of it, so
nothing the read side decides may depend on which user of an organisation reads, nor on its role.
Walked over every state of every lifecycle path, for every actor of the world in every role. When
this fails because a decision came to depend on the role, the role belongs in the audience.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from domain.identity.model import Role
from domain.notifications.recipients import NotificationSettings, settings_visible_to
from domain.orders.events import EVERYONE, Audience
from domain.orders.queries import viewer_for
from domain.orders.visibility import NOBODY, live_audience, subscriber_channels
from tests.domain.paths import PATHS, STATE_IDS, state_at
from tests.domain.world import FOREIGN_PROVIDER, PARTNER_2, PROVIDER_2, make_world

EVERY_ACTOR = ("partner", "other_partner", "provider", "other_provider", "vendor", "foreign_vendor")
EVERYONE_WHO = (*EVERY_ACTOR, PARTNER_2, PROVIDER_2, FOREIGN_PROVIDER)


def test_colleagues_share_an_audience_that_is_none_of_them_with_the_least_role() -> None:
    world = make_world()
    partner, colleague_in_another_role = world.actor("partner"), world.actor(PARTNER_2)
    assert colleague_in_another_role.role is not partner.role
    assert live_audience(partner) == live_audience(colleague_in_another_role)
    assert live_audience(partner).user_id == NOBODY
    assert live_audience(partner).role is Role.MEMBER
    assert NOBODY not in {world.actor(who).user_id for who in EVERYONE_WHO}


def test_other_organisations_are_other_audiences() -> None:
    world = make_world()
    audiences = {live_audience(world.actor(who)) for who in EVERY_ACTOR}
    assert len(audiences) == len(EVERY_ACTOR)


@pytest.mark.parametrize(("path_index", "steps"), STATE_IDS, ids=[f"{p}-{i}" for p, i in STATE_IDS])
def test_every_read_decision_is_the_same_for_a_user_and_its_audience(path_index: int, steps: int) -> None:
    state = state_at(PATHS[path_index], steps)
    order = state.order
    # every user, as the world has them and in every other role: no decision may depend on the role either
    users = [replace(state.world.actor(who), role=role) for who in EVERYONE_WHO for role in Role]
    for actor in users:
        audience = live_audience(actor)
        assert viewer_for(audience) == viewer_for(actor)
        assert subscriber_channels(audience) == subscriber_channels(actor)
        assert order.can_see(audience) == order.can_see(actor)
        assert order.parties_of(audience) == order.parties_of(actor)
        assert order.shows_provider_notes_to(audience) == order.shows_provider_notes_to(actor)
        assert order.allowed_transitions(audience) == order.allowed_transitions(actor)
        assert order.quotes_visible_to(audience) == order.quotes_visible_to(actor)
        for owner in EVERY_ACTOR:
            for restricted in (Audience(org_id=state.world.org_id(owner), buyer_side=b) for b in (False, True)):
                assert restricted.admits(audience, order.partner_id) == restricted.admits(actor, order.partner_id)
        assert EVERYONE.admits(audience, order.partner_id) == EVERYONE.admits(actor, order.partner_id)


def test_only_watching_is_personal_in_the_notification_settings() -> None:
    # given an order two colleagues may see, one of whom watches it
    world = make_world()
    state = state_at(PATHS[0], 1)
    order = state.order
    partner, colleague = world.actor("partner"), world.actor(PARTNER_2)
    people = {partner.user_id: partner.organisation_id, colleague.user_id: colleague.organisation_id}
    settings = NotificationSettings(order_id=order.id, recipients={}, watcher_ids=frozenset({partner.user_id, uuid4()}))
    mine, theirs, shared = (
        settings_visible_to(a, order, settings, people) for a in (partner, colleague, live_audience(partner))
    )
    # then the watcher and its colleague differ only in `watching`, and the audience watches nothing
    assert (mine.watching, theirs.watching, shared.watching) == (True, False, False)
    assert replace(mine, watching=False) == theirs == shared
