"""Versions by side over GraphQL (issue 8, item 8): no VERSION_CONFLICT for a change one cannot see.

Each organisation reads and sends back its own version of an order: the count of the changes it may see.
A change hidden from a side (the provider's notes, a competitor's quote) never refuses that side's next
edit, and never shows in its version; two users of one side editing from the same version still get one
success and one VERSION_CONFLICT, since each could see the other's change.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import OrderRef, attempt, mutate, order_at, quote
from tests.api.test_concurrency import pin_loads, unpin_loads

VERSION = "query($id: ID!) { order(id: $id) { version } }"


async def version_of(api: Api, ref: OrderRef, member: str) -> int:
    """The version of the order `member` sees."""
    data = await api.client(VERSION, {"id": ref.id}, token=api.world[member].token)
    assert data["order"] is not None, f"{member} cannot see the order"
    return int(data["order"]["version"])


async def versions(api: Api, ref: OrderRef, members: tuple[str, ...]) -> dict[str, int]:
    return {member: await version_of(api, ref, member) for member in members}


def conflict(payload: dict[str, Any]) -> tuple[str, int | None]:
    """The single user error's code and currentVersion."""
    assert payload["order"] is None and len(payload["userErrors"]) == 1, payload
    error = payload["userErrors"][0]
    return error["code"], error.get("currentVersion")


async def test_the_partner_edits_with_the_version_it_saw_after_the_provider_edited_its_notes(api: Api) -> None:
    # given an order the provider works on, and the version the partner sees
    ref = await order_at(api, "IN_PROGRESS")
    seen = await version_of(api, ref, "partner")
    # when the provider edits its notes
    notes = await mutate(api, "orderUpdate", {"id": ref.id, "providerNotes": "Call before noon"}, "provider")
    # then the provider's version moved, the buyer side's did not (it cannot see the change)
    assert notes["order"]["version"] == seen + 1
    assert await versions(api, ref, ("partner", "partner_colleague", "vendor")) == dict.fromkeys(
        ("partner", "partner_colleague", "vendor"), seen
    )
    # and the partner's edit with the version it saw succeeds
    payload = await mutate(api, "orderUpdate", {"id": ref.id, "expectedVersion": seen, "name": "Renamed"}, "partner")
    assert payload["order"]["version"] == seen + 1
    # and so does the provider's next edit with its own version, and the notes are kept
    after = await mutate(
        api, "orderUpdate", {"id": ref.id, "expectedVersion": seen + 2, "priority": "HIGH"}, "provider_colleague"
    )
    assert (after["order"]["name"], after["order"]["providerNotes"], after["order"]["version"]) == (
        "Renamed",
        "Call before noon",
        seen + 3,
    )


@pytest.mark.parametrize(
    ("first", "second", "change"),
    [
        ("partner", "partner_colleague", {"campaignName": "Spring"}),
        ("partner", "vendor", {"campaignName": "Spring"}),  # the vendor sees what the partner sees
        ("provider", "provider_colleague", {"providerNotes": "Mine"}),
    ],
    ids=["partner users", "partner and vendor", "provider users"],
)
async def test_two_users_of_one_side_editing_from_the_same_version_one_is_refused(
    api: Api, first: str, second: str, change: dict[str, Any]
) -> None:
    # given an order in progress, as both users see it
    ref = await order_at(api, "IN_PROGRESS")
    seen = await version_of(api, ref, first)
    assert await version_of(api, ref, second) == seen
    # when the first edits, then the second edits from the version both saw
    done = await mutate(api, "orderUpdate", {"id": ref.id, "expectedVersion": seen, **change}, first)
    late = await attempt(api, "orderUpdate", {"id": ref.id, "expectedVersion": seen, "priority": "LOW"}, second)
    # then the second is told the order changed under it, at the version the first left it
    assert conflict(late) == ("VERSION_CONFLICT", done["order"]["version"])
    assert done["order"]["version"] == seen + 1


async def test_provider_notes_never_conflict_with_the_buyer_sides_status_moves(api: Api) -> None:
    # given an approved order, as the partner sees it
    ref = await order_at(api, "APPROVED")
    seen = await version_of(api, ref, "partner")
    # when the provider edits its notes twice
    for text in ("one", "two"):
        await mutate(api, "orderUpdate", {"id": ref.id, "providerNotes": text}, "provider")
    # then the partner cancels with the version it saw
    payload = await mutate(
        api, "orderCancel", {"id": ref.id, "reason": "Plans changed", "expectedVersion": seen}, "partner"
    )
    assert payload["order"]["status"] == "CANCELLED"
    assert payload["order"]["version"] == seen + 1


async def test_a_competitors_quote_does_not_show_in_a_providers_version(api: Api) -> None:
    # given an open request, as every side sees it
    ref = await order_at(api, "PENDING_QUOTES")
    sides = ("partner", "vendor", "provider", "provider2")
    before = await versions(api, ref, sides)
    # when one provider quotes
    await quote(api, ref, "provider", "700")
    # then its own version and the buyer side's moved; the competitor's did not
    after = await versions(api, ref, sides)
    assert {m: after[m] - before[m] for m in sides} == {"partner": 1, "vendor": 1, "provider": 1, "provider2": 0}
    # and the partner, who saw the quote, is refused for a version from before it
    stale = await attempt(
        api, "orderUpdate", {"id": ref.id, "expectedVersion": before["partner"], "name": "X"}, "partner"
    )
    assert conflict(stale) == ("VERSION_CONFLICT", after["partner"])


async def test_racing_edits_of_two_sides_both_succeed_when_neither_can_see_the_other(api: Api) -> None:
    # given an order in progress, and what each side sees
    ref = await order_at(api, "IN_PROGRESS")
    partner, provider = await version_of(api, ref, "partner"), await version_of(api, ref, "provider")
    # when the provider edits its notes while the partner renames it, each from the version it saw, both
    # requests loading the order before either writes
    rendezvous = pin_loads(api)
    try:
        notes, rename = await asyncio.gather(
            attempt(
                api, "orderUpdate", {"id": ref.id, "expectedVersion": provider, "providerNotes": "Hidden"}, "provider"
            ),
            attempt(api, "orderUpdate", {"id": ref.id, "expectedVersion": partner, "name": "Renamed"}, "partner"),
        )
    finally:
        unpin_loads(api, rendezvous)
    assert len(set(rendezvous.loaded[:2])) == 1, f"the two requests loaded rows {rendezvous.loaded}"
    # then both succeed and both changes are kept
    assert notes["userErrors"] == [] and rename["userErrors"] == [], (notes, rename)
    detail = await api.client(doc.ORDER, {"id": ref.id}, token=api.world["provider"].token)
    assert (detail["order"]["name"], detail["order"]["providerNotes"]) == ("Renamed", "Hidden")
    assert await version_of(api, ref, "partner") == partner + 1
    assert await version_of(api, ref, "provider") == provider + 2
