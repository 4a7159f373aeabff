"""Versions by side over GraphQL (issue 8, item 8): no VERSION_CONFLICT for a change one cannot see.

Each organisation reads and sends back its own version of an order: the count of the changes it may see.
A change hidden from a side (the provider's notes, a competitor's quote) never refuses that side's next
edit, and never shows in its version; two users of one side editing from the same version still get one
success and one VERSION_CONFLICT, since each could see the other's change.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from schema.common import to_global_id
from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import OrderRef, attempt, mutate, order_at, quote, read_order
from tests.api.live import NOTES, ORDER_UPDATED, STATUS_CHANGE, WITHIN, Live, flat_fee_order
from tests.api.test_concurrency import _RacingUow, pin_loads, unpin_loads

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


async def race(api: Api, *calls: tuple[str, dict[str, Any], str]) -> tuple[list[dict[str, Any]], list[int]]:
    """Run (mutation, input, member) calls at once, every one loading the order before any writes."""
    rendezvous = pin_loads(api)
    try:
        payloads = await asyncio.gather(*(attempt(api, m, input, member) for m, input, member in calls))
    finally:
        unpin_loads(api, rendezvous)
    assert len(set(rendezvous.loaded[: len(calls)])) == 1, f"the requests loaded rows {rendezvous.loaded}"
    return list(payloads), rendezvous.loaded


async def test_two_providers_quoting_at_once_both_quote_and_neither_sees_the_other(api: Api) -> None:
    # given an open request, as each provider sees it
    ref = await order_at(api, "PENDING_QUOTES")
    before = await versions(api, ref, ("partner", "provider", "provider2"))
    lines = [{"description": "Delivery", "quantity": "1", "unitPrice": "500"}]
    # when both providers quote at the same moment
    payloads, loaded = await race(
        api,
        ("quoteSubmit", {"orderId": ref.id, "lineItems": lines}, "provider"),
        ("quoteSubmit", {"orderId": ref.id, "lineItems": lines}, "provider2"),
    )
    # then both quotes are taken: neither is refused for the other's, which it cannot see
    assert [p["userErrors"] for p in payloads] == [[], []]
    assert len(loaded) == 3  # the one whose save came second loaded once more, and went through
    # and each provider's version moved by one, the partner's (who sees both) by two
    after = await versions(api, ref, ("partner", "provider", "provider2"))
    assert {m: after[m] - before[m] for m in after} == {"partner": 2, "provider": 1, "provider2": 1}
    detail = await read_order(api, ref, "partner")
    assert detail is not None and len(detail["quotes"]) == 2


class HoldFirstLoad:
    """Wraps `ports.uow`: the first unit of work to load an order waits just after loading it until released.

    So a test decides which of two requests writes first: the held one loses the race at its save.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.loaded: list[int] = []
        self.first_loaded = asyncio.Event()
        self.release = asyncio.Event()

    def __call__(self) -> Any:
        return _RacingUow(self.factory(), self)  # calls `arrive` once per unit of work, after its first load

    async def arrive(self, version: int) -> None:
        self.loaded.append(version)
        if len(self.loaded) == 1:
            self.first_loaded.set()
            await self.release.wait()


async def overtaken(
    api: Api, held: tuple[str, dict[str, Any], str], first: tuple[str, dict[str, Any], str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `held` until it has loaded the order, then `first` to its end, then the rest of `held`."""
    holder = HoldFirstLoad(api.runtime.ports.uow)
    api.runtime.ports = dataclasses.replace(api.runtime.ports, uow=holder)
    try:
        late = asyncio.create_task(attempt(api, *held))
        async with asyncio.timeout(5):
            await holder.first_loaded.wait()
        early = await attempt(api, *first)
        holder.release.set()
        async with asyncio.timeout(5):
            return await late, early
    finally:
        holder.release.set()
        api.runtime.ports = dataclasses.replace(api.runtime.ports, uow=holder.factory)


async def test_a_rename_overtaken_by_provider_notes_goes_through(api: Api) -> None:
    # given an order in progress, and what each side sees
    ref = await order_at(api, "IN_PROGRESS")
    partner, provider = await version_of(api, ref, "partner"), await version_of(api, ref, "provider")
    # when the partner's rename has loaded the order, and the provider's notes edit is made before it writes
    rename, notes = await overtaken(
        api,
        ("orderUpdate", {"id": ref.id, "expectedVersion": partner, "name": "Renamed"}, "partner"),
        ("orderUpdate", {"id": ref.id, "expectedVersion": provider, "providerNotes": "Hidden"}, "provider"),
    )
    # then both go through: the partner cannot see the notes, so it is not refused for them
    assert notes["userErrors"] == [] and rename["userErrors"] == [], (notes, rename)
    assert rename["order"]["version"] == partner + 1
    detail = await api.client(doc.ORDER, {"id": ref.id}, token=api.world["provider"].token)
    assert (detail["order"]["name"], detail["order"]["providerNotes"]) == ("Renamed", "Hidden")
    assert await version_of(api, ref, "provider") == provider + 2


async def test_provider_notes_overtaken_by_a_rename_are_refused(api: Api) -> None:
    # given an order in progress, and what each side sees
    ref = await order_at(api, "IN_PROGRESS")
    partner, provider = await version_of(api, ref, "partner"), await version_of(api, ref, "provider")
    # when the provider's notes edit has loaded the order, and the partner renames it before it writes
    notes, rename = await overtaken(
        api,
        ("orderUpdate", {"id": ref.id, "expectedVersion": provider, "providerNotes": "Hidden"}, "provider"),
        ("orderUpdate", {"id": ref.id, "expectedVersion": partner, "name": "Renamed"}, "partner"),
    )
    # then the rename goes through, and the provider, who may see it, is told, at its own version
    assert rename["userErrors"] == [], rename
    assert conflict(notes) == ("VERSION_CONFLICT", provider + 1)
    detail = await api.client(doc.ORDER, {"id": ref.id}, token=api.world["provider"].token)
    assert (detail["order"]["name"], detail["order"]["providerNotes"]) == ("Renamed", "")


async def test_each_audience_of_a_live_update_sees_its_own_version(live: Live) -> None:
    # given an approved order followed live by the partner, the vendor and the provider, and their versions
    order_id = await flat_fee_order(live)
    members = ("partner", "vendor", "provider_colleague")
    clients = [await live.client(m) for m in members]
    feeds = [await c.subscribe(ORDER_UPDATED, id=order_id) for c in clients]
    await asyncio.sleep(0.1)  # let the subscriptions reach the bus
    seen = {m: (await live.gql(m, VERSION, id=order_id))["order"]["version"] for m in members}
    # when the provider edits its notes, then changes the status
    await live.gql("provider", NOTES, id=order_id, notes="Hidden from the buyer side")
    await live.gql("provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    # then the provider's users received both, at their own versions
    provider = [(await clients[2].next(feeds[2], within=WITHIN))["orderUpdated"] for _ in range(2)]
    assert [(u["change"], u["order"]["version"]) for u in provider] == [
        ("FIELDS", seen["provider_colleague"] + 1),
        ("STATUS", seen["provider_colleague"] + 2),
    ]
    # and the buyer side only the status change, at its version: one more than it saw, as it reads it now
    for member, client, feed in zip(members[:2], clients[:2], feeds[:2], strict=True):
        update = (await client.next(feed, within=WITHIN))["orderUpdated"]
        now = (await live.gql(member, VERSION, id=order_id))["order"]["version"]
        assert (update["change"], update["order"]["version"], now) == ("STATUS", seen[member] + 1, seen[member] + 1)
        await client.nothing(feed)
    for client in clients:
        await client.close()


@pytest.fixture
def follow_ups(monkeypatch: pytest.MonkeyPatch) -> None:
    """orderMessageSend among the mutations `attempt` runs, reading the order back like the others."""
    document = doc._order_mutation("orderMessageSend", "OrderMessageSendInput")
    monkeypatch.setitem(doc.MUTATIONS, "orderMessageSend", document)


@pytest.mark.usefixtures("follow_ups")
async def test_a_reassigning_follow_up_is_refused_at_the_senders_own_version_not_the_rows(api: Api) -> None:
    # given an order the provider won, after a competitor's quote it never saw
    ref = await order_at(api, "PENDING_QUOTES")
    await quote(api, ref, "provider2", "650")
    won = await quote(api, ref, "provider", "700")
    await mutate(api, "quoteAccept", {"id": won}, "partner")
    provider = await version_of(api, ref, "provider")
    colleague = api.world["provider_colleague"]
    follow_up = {
        "orderId": ref.id,
        "to": [colleague.user.email],
        "subject": "Yours now",
        "body": "Please take this one.",
        "assigneeId": to_global_id("User", colleague.user.id),
        "expectedVersion": provider,
    }
    # when the provider's reassigning follow-up has loaded the order, and the partner renames it first
    sent, rename = await overtaken(
        api,
        ("orderMessageSend", follow_up, "provider"),
        ("orderUpdate", {"id": ref.id, "name": "Renamed"}, "partner"),
    )
    # then the provider, who may see the rename, is refused at its own version: the competitor's
    # quote neither counts in it nor shows through the refusal
    assert rename["userErrors"] == [], rename
    assert conflict(sent) == ("VERSION_CONFLICT", provider + 1)
