"""Optimistic concurrency over GraphQL: one of two racing changes wins, the other is told; nothing is lost.

Racing requests run concurrently with asyncio.gather over the ASGI transport. To make "both loaded the
order at the same version" certain rather than likely, `Rendezvous` holds every unit of work just after it
loads the order until the other one has loaded it too (or a short time has passed): the requests are still
real GraphQL requests, only their interleaving is pinned.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from types import TracebackType
from typing import Any
from uuid import UUID

import pytest

from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import (
    OrderRef,
    attempt,
    mutate,
    order_at,
    org_key,
    quote,
    read_order,
    user_id,
)

# ---- pinning the interleaving -----------------------------------------------------------------------


class Rendezvous:
    """Wraps `ports.uow`: each unit of work that loads an order waits there until `parties` have loaded it."""

    def __init__(self, factory: Callable[[], Any], parties: int = 2, timeout: float = 3.0) -> None:
        self.factory = factory
        self.parties = parties
        self.timeout = timeout
        self.loaded: list[int] = []  # the version each unit of work loaded
        self.everyone_loaded = asyncio.Event()

    def __call__(self) -> Any:  # a UnitOfWork (duck-typed)
        return _RacingUow(self.factory(), self)

    async def arrive(self, version: int) -> None:
        self.loaded.append(version)
        if len(self.loaded) >= self.parties:
            self.everyone_loaded.set()
        try:
            async with asyncio.timeout(self.timeout):
                await self.everyone_loaded.wait()
        except TimeoutError:
            pass  # the backend serialised the loads; the test sees it in `loaded`


class _RacingOrders:
    def __init__(self, inner: Any, rendezvous: Rendezvous) -> None:
        self._inner = inner
        self._rendezvous = rendezvous
        self._arrived = False

    async def get(self, order_id: UUID) -> Any:
        order = await self._inner.get(order_id)
        if order is not None and not self._arrived:
            self._arrived = True
            await self._rendezvous.arrive(order.version)
        return order

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _RacingUow:
    def __init__(self, inner: Any, rendezvous: Rendezvous) -> None:
        self._inner = inner
        self._rendezvous = rendezvous

    async def __aenter__(self) -> _RacingUow:
        await self._inner.__aenter__()
        self.orders = _RacingOrders(self._inner.orders, self._rendezvous)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def pin_loads(api: Api) -> Rendezvous:
    """From now on, units of work meet after loading an order (see Rendezvous)."""
    rendezvous = Rendezvous(api.runtime.ports.uow)
    api.runtime.ports = dataclasses.replace(api.runtime.ports, uow=rendezvous)
    return rendezvous


def unpin_loads(api: Api, rendezvous: Rendezvous) -> None:
    api.runtime.ports = dataclasses.replace(api.runtime.ports, uow=rendezvous.factory)


# ---- helpers ------------------------------------------------------------------------------------------


def outcome(payload: dict[str, Any]) -> str:
    """'ok', or the typename of the single user error."""
    if not payload["userErrors"]:
        assert payload["order"] is not None
        return "ok"
    assert payload["order"] is None and len(payload["userErrors"]) == 1, payload
    return str(payload["userErrors"][0]["__typename"])


async def status_changes(api: Api, ref: OrderRef) -> list[str]:
    detail = await read_order(api, ref, "provider")
    assert detail is not None
    return [e["after"]["status"] for e in detail["activity"] if e["kind"] == "STATUS_CHANGED"]


async def race_status_changes(
    api: Api, ref: OrderRef, moves: list[tuple[str, str]], expected_version: int | None
) -> list[dict[str, Any]]:
    """Run (member, target status) changes concurrently; their payloads in the same order."""

    def input_for(status: str) -> dict[str, Any]:
        data: dict[str, Any] = {"id": ref.id, "status": status}
        if expected_version is not None:
            data["expectedVersion"] = expected_version
        return data

    return list(await asyncio.gather(*(attempt(api, "orderStatusChange", input_for(s), member) for member, s in moves)))


def assert_one_winner(payloads: list[dict[str, Any]], version: int) -> dict[str, Any]:
    """Exactly one succeeded at version + 1; the other got VERSION_CONFLICT naming that version."""
    outcomes = sorted(outcome(p) for p in payloads)
    assert outcomes == ["VersionConflictError", "ok"], payloads
    winner = next(p for p in payloads if not p["userErrors"])
    loser = next(p for p in payloads if p["userErrors"])
    error = loser["userErrors"][0]
    assert error["code"] == "VERSION_CONFLICT"
    assert error["field"] == "expectedVersion"
    assert error["currentVersion"] in (version, version + 1)
    assert winner["order"]["version"] == version + 1
    return winner


# ---- tests ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rounds", [3])
async def test_two_changes_with_the_same_expected_version_one_wins(api: Api, rounds: int) -> None:
    # given an order in progress
    ref = await order_at(api, "IN_PROGRESS")
    for _ in range(rounds):
        version = ref.version
        history = await status_changes(api, ref)
        targets = [s for s in ("WAITING_FOR_PARTNER", "SCHEDULED", "EXECUTING") if s != ref.status][:2]
        # when two provider users change its status at once, both sending the version they loaded
        payloads = await race_status_changes(
            api, ref, [("provider", targets[0]), ("provider_colleague", targets[1])], version
        )
        # then exactly one wins, the other gets VERSION_CONFLICT, and the order shows only the winner's change
        winner = assert_one_winner(payloads, version)
        after = await read_order(api, ref, "provider")
        assert after is not None
        assert (after["status"], after["version"]) == (winner["order"]["status"], version + 1)
        assert await status_changes(api, ref) == [*history, winner["order"]["status"]]
        ref.update(after)


async def test_two_changes_loaded_at_the_same_version_without_expected_version_one_wins(api: Api) -> None:
    # given an order in progress, and two provider users who both load it at the same version
    ref = await order_at(api, "IN_PROGRESS")
    version = ref.version
    history = await status_changes(api, ref)
    rendezvous = pin_loads(api)
    try:
        # when both change its status without sending a version
        payloads = await race_status_changes(
            api, ref, [("provider", "WAITING_FOR_PARTNER"), ("provider_colleague", "SCHEDULED")], None
        )
    finally:
        unpin_loads(api, rendezvous)
    # then both did load the same version; one wins, the other is told the order changed under it
    # (the loser loads once more, to see whether what beat it is something it may see: it is)
    assert rendezvous.loaded[:2] == [version, version], f"the two requests loaded versions {rendezvous.loaded}"
    winner = assert_one_winner(payloads, version)
    after = await read_order(api, ref, "provider")
    assert after is not None
    assert (after["status"], after["version"]) == (winner["order"]["status"], version + 1)
    assert await status_changes(api, ref) == [*history, winner["order"]["status"]]


async def test_two_quotes_accepted_at_once_only_one_is(api: Api) -> None:
    # given an open request with a quote from each provider, loaded by two partner users at the same version
    ref = await order_at(api, "PENDING_QUOTES")
    await quote(api, ref, "provider", "700")
    await quote(api, ref, "provider2", "800")
    seen = await read_order(api, ref, "partner")
    assert seen is not None
    version = seen["version"]  # the partner's version: each provider's own counts its quote only
    rendezvous = pin_loads(api)
    try:
        # when each accepts a different quote at the same moment
        payloads = await asyncio.gather(
            attempt(api, "quoteAccept", {"id": ref.quotes["provider"]}, "partner"),
            attempt(api, "quoteAccept", {"id": ref.quotes["provider2"]}, "partner_colleague"),
        )
    finally:
        unpin_loads(api, rendezvous)
    # then one quote is accepted, the other acceptance is refused with VERSION_CONFLICT
    assert rendezvous.loaded[:2] == [version, version]  # and the loser once more, after losing
    winner = assert_one_winner(list(payloads), version)
    after = await read_order(api, ref, "partner")
    assert after is not None
    statuses = sorted(q["status"] for q in after["quotes"])
    assert statuses == ["ACCEPTED", "CLOSED"]
    accepted = next(q for q in after["quotes"] if q["status"] == "ACCEPTED")
    assert accepted["id"] == winner["quote"]["id"]
    assert after["provider"]["id"] == accepted["provider"]["id"]


STALE_CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    # (situation, member, mutation, extra input)
    ("DRAFT", "partner", "orderUpdate", {"name": "Renamed"}),
    ("DRAFT", "partner", "orderSubmit", {}),
    ("PENDING_APPROVAL", "vendor", "orderApprove", {}),
    ("PENDING_APPROVAL", "vendor", "orderReject", {"reason": "No"}),
    ("IN_PROGRESS", "provider", "orderStatusChange", {"status": "SCHEDULED"}),
    ("NOT_STARTED", "partner", "orderCancel", {"reason": "Changed plans"}),
    ("COMPLETE", "provider", "orderArchive", {}),
    ("APPROVED", "provider", "orderAssign", {"assigneeId": "provider_colleague"}),
]


@pytest.mark.parametrize(("route", "member", "mutation", "extra"), STALE_CASES, ids=[c[2] for c in STALE_CASES])
@pytest.mark.parametrize("offset", [-1, 1], ids=["stale", "future"])
async def test_a_wrong_expected_version_is_refused_and_changes_nothing(
    api: Api, route: str, member: str, mutation: str, extra: dict[str, Any], offset: int
) -> None:
    # given an order, and what it looks like now
    ref = await order_at(api, route)
    if "assigneeId" in extra:
        extra = {**extra, "assigneeId": user_id(api, extra["assigneeId"])}
    before = await read_order(api, ref, "vendor")
    assert before is not None
    # when a member allowed to make the change sends a version other than the current one
    payload = await attempt(api, mutation, {"id": ref.id, "expectedVersion": ref.version + offset, **extra}, member)
    # then it is refused with VERSION_CONFLICT naming the current version, and nothing changed
    assert payload["order"] is None
    assert [(e["__typename"], e["code"], e["field"], e["currentVersion"]) for e in payload["userErrors"]] == [
        ("VersionConflictError", "VERSION_CONFLICT", "expectedVersion", ref.version)
    ]
    assert await read_order(api, ref, "vendor") == before
    # and with the current version it goes through
    payload = await attempt(api, mutation, {"id": ref.id, "expectedVersion": ref.version, **extra}, member)
    assert payload["userErrors"] == []
    assert payload["order"]["version"] == ref.version + 1


@pytest.mark.parametrize("mutation", ["quoteAccept", "quoteReject"])
async def test_a_stale_expected_version_on_a_quote_decision_is_refused(api: Api, mutation: str) -> None:
    # given a quote, after which the order changed (another provider quoted)
    ref = await order_at(api, "PENDING_QUOTES")
    await quote(api, ref, "provider", "700")
    then = await read_order(api, ref, "partner")
    assert then is not None
    stale = then["version"]  # the partner's version (it sees every quote; each provider, its own)
    await quote(api, ref, "provider2", "800")
    before = await read_order(api, ref, "partner")
    assert before is not None and before["version"] == stale + 1
    # when the partner decides on the first quote with the version it saw then
    payload = await attempt(api, mutation, {"id": ref.quotes["provider"], "expectedVersion": stale}, "partner")
    # then it is a VERSION_CONFLICT and nothing changed
    assert payload["quote"] is None and payload["order"] is None
    assert [(e["code"], e["currentVersion"]) for e in payload["userErrors"]] == [("VERSION_CONFLICT", stale + 1)]
    assert await read_order(api, ref, "partner") == before


async def test_every_successful_mutation_bumps_the_version_by_exactly_one_for_those_who_see_it(api: Api) -> None:
    # given a partner's new draft at version 1
    create = await mutate(api, "orderCreate", {"kind": "QUOTED", "name": "Versioned", "lineItems": []}, "partner")
    order_id = create["order"]["id"]
    assert create["order"]["version"] == 1
    ref = OrderRef(order_id, "Versioned", "QUOTED", "DRAFT", 1)
    provider_colleague = user_id(api, "provider_colleague")
    buyer, everyone = {"partner", "vendor"}, {"partner", "vendor", "provider", "provider2"}
    # (member, mutation, input, the organisations that may see the change: product.md's visibility)
    steps: list[tuple[str, str, dict[str, Any], set[str]]] = [
        (
            "partner",
            "orderUpdate",
            {"id": order_id, "name": "Versioned 2", "campaignName": "Spring", "priority": "HIGH"},
            buyer,
        ),
        ("partner", "orderUpdate", {"id": order_id, "lineItems": [{"description": "Ads", "unitPrice": "50"}]}, buyer),
        ("partner", "orderSubmit", {"id": order_id}, everyone),
        (
            "provider",
            "quoteSubmit",
            {"orderId": order_id, "lineItems": [{"description": "A", "unitPrice": "10"}]},
            buyer | {"provider"},
        ),
        (
            "provider2",
            "quoteSubmit",
            {"orderId": order_id, "lineItems": [{"description": "B", "unitPrice": "20"}]},
            buyer | {"provider2"},
        ),
        ("provider2", "quoteDecline", {"orderId": order_id, "message": "Too busy"}, buyer | {"provider2"}),
        ("partner", "quoteAccept", {"id": "provider"}, everyone),
        ("provider", "orderStatusChange", {"id": order_id, "status": "NOT_STARTED"}, everyone),
        ("provider", "orderUpdate", {"id": order_id, "providerNotes": "Call first", "priority": "URGENT"}, everyone),
        ("provider", "orderUpdate", {"id": order_id, "providerNotes": "Call twice"}, {"provider"}),
        ("provider", "orderAssign", {"id": order_id, "assigneeId": provider_colleague}, everyone),
        ("provider_colleague", "orderStatusChange", {"id": order_id, "status": "IN_PROGRESS"}, everyone),
        ("provider", "orderStatusChange", {"id": order_id, "status": "COMPLETE"}, everyone),
        ("provider", "orderArchive", {"id": order_id}, everyone),
    ]

    async def versions() -> dict[str, int | None]:
        """The version each organisation sees (None: it cannot see the order)."""
        found: dict[str, int | None] = {}
        for org in sorted(everyone):
            data = await api.client(doc.ORDER, {"id": order_id}, token=api.world[org].token)
            found[org] = data["order"]["version"] if data["order"] else None
        return found

    before = await versions()
    for member, mutation, input, seen_by in steps:
        if mutation == "quoteAccept":
            input = {"id": ref.quotes[input["id"]]}
        # when one more change succeeds
        payload = await mutate(api, mutation, input, member)
        if mutation == "quoteSubmit":
            ref.quotes[member] = payload["quote"]["id"]
        after = await versions()
        # then the caller's version went up by exactly one (even when the change recorded several events),
        caller = org_key(member)
        assert payload["order"]["version"] == after[caller] == (before[caller] or 0) + 1, (mutation, before, after)
        # and so did that of every organisation that may see the change, while the others' stayed put
        for org, was in before.items():
            if was is not None and after[org] is not None:
                assert after[org] == was + (org in seen_by), (mutation, org, before, after)
        # and a refused change does not move it
        refused = await attempt(api, "orderReject", {"id": order_id}, "partner")
        assert refused["userErrors"] and refused["order"] is None, refused
        assert await versions() == after
        before = after
    # the buyer side counted every change but the provider's notes-only edit
    assert before["vendor"] == before["partner"] == 1 + len(steps) - 1
