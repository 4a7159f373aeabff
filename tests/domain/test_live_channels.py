"""Live-update channels: an event's hint meets exactly the subscribers that may see it.

Walked over every state of every lifecycle path (tests/domain/paths.py), for every actor of the world
and every kind of audience. For events everyone may see, the hand-written roles of the paths are the
oracle (not the code under test): a subscriber shares a channel with the event iff it has a role.
"""

from __future__ import annotations

import pytest

from domain.orders.events import EVERYONE, Audience
from domain.orders.visibility import event_channels, subscriber_channels
from tests.domain.paths import PATHS, STATE_IDS, state_at
from tests.domain.world import FOREIGN_PROVIDER, PARTNER_2, PROVIDER_2, make_world

EVERY_ACTOR = ("partner", "other_partner", "provider", "other_provider", "vendor", "foreign_vendor")
COLLEAGUES = {PARTNER_2: "partner", PROVIDER_2: "provider"}


@pytest.mark.parametrize(("path_index", "steps"), STATE_IDS, ids=[f"{p}-{i}" for p, i in STATE_IDS])
def test_everyones_events_reach_exactly_the_organisations_with_a_role(path_index: int, steps: int) -> None:
    state = state_at(PATHS[path_index], steps)
    channels = event_channels(state.order, EVERYONE)
    for who in (*EVERY_ACTOR, *COLLEAGUES, FOREIGN_PROVIDER):
        role = state.roles.get(COLLEAGUES.get(who, who))
        reached = bool(channels & subscriber_channels(state.world.actor(who)))
        assert reached == (role is not None), (who, role, state.order.status, sorted(channels))
        assert reached == state.order.can_see(state.world.actor(who))


@pytest.mark.parametrize(("path_index", "steps"), STATE_IDS, ids=[f"{p}-{i}" for p, i in STATE_IDS])
def test_restricted_events_reach_their_audience_and_no_one_else(path_index: int, steps: int) -> None:
    state = state_at(PATHS[path_index], steps)
    world, order = state.world, state.order
    for owner in EVERY_ACTOR:
        for buyer_side in (False, True):
            audience = Audience(org_id=world.org_id(owner), buyer_side=buyer_side)
            channels = event_channels(order, audience)
            for who in (*EVERY_ACTOR, *COLLEAGUES, FOREIGN_PROVIDER):
                actor = world.actor(who)
                reached = bool(channels & subscriber_channels(actor))
                admitted = order.can_see(actor) and audience.admits(actor, order.partner_id)
                if admitted:
                    assert reached, (who, owner, buyer_side, order.status)
                if reached:
                    assert audience.admits(actor, order.partner_id), (who, owner, buyer_side, order.status)


def test_each_subscriber_listens_on_its_own_organisation_and_its_kinds_channel() -> None:
    world = make_world()
    partner, provider, vendor = (world.actor(who) for who in ("partner", "provider", "vendor"))
    assert subscriber_channels(partner) == {f"org:{partner.organisation_id}"}
    assert subscriber_channels(provider) == {f"org:{provider.organisation_id}", f"providers:{provider.programme_id}"}
    assert subscriber_channels(vendor) == {f"org:{vendor.organisation_id}", f"vendor:{vendor.programme_id}"}
