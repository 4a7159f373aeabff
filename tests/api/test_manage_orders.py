"""Manage Orders over GraphQL: search, filters, sorts, keyset paging and the status counts.

`build_catalogue` places a dozen orders through the API (two partners, both providers, contacts,
assignees, estimated completions with a tie and with NULLs, every kind of status); the tests compare
what `orders` and `orderStatusCounts` return with what the catalogue says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest

from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import (
    OrderRef,
    accept,
    approve,
    archive,
    cancel,
    change_status,
    create,
    org_id,
    quote,
    step,
    submit,
    user_id,
    uuid_of,
)

SORT_FIELDS = ("SUBMITTED_AT", "LAST_ACTIVITY_AT", "ESTIMATED_COMPLETION", "NUMBER")
ALL = {"archived": None}


@dataclass
class Catalogue:
    """The orders by label, and the list as the vendor sees it (archived included), by ID."""

    refs: dict[str, OrderRef]
    nodes: dict[str, dict[str, Any]]

    def labels(self, ids: list[str]) -> list[str]:
        by_id = {ref.id: label for label, ref in self.refs.items()}
        return [by_id[i] for i in ids]

    def number(self, label: str) -> int:
        return int(self.nodes[self.refs[label].id]["number"])


async def build_catalogue(api: Api) -> Catalogue:
    """A dozen orders in many situations, placed and worked by the parties allowed to."""
    refs: dict[str, OrderRef] = {}

    async def flat(label: str, service: str = "webinar", member: str = "partner", **fields: Any) -> OrderRef:
        refs[label] = ref = await create(api, "FLAT_FEE", service=service, member=member, name=label, **fields)
        return ref

    async def quoted(label: str, member: str = "partner", **fields: Any) -> OrderRef:
        refs[label] = ref = await create(api, "QUOTED", member=member, name=label, **fields)
        return ref

    async def work(ref: OrderRef, status: str, provider: str = "provider", member: str = "partner") -> None:
        await submit(api, ref, member)
        await approve(api, ref)
        if status != "APPROVED":
            await change_status(api, ref, "NOT_STARTED", provider)
            if status != "NOT_STARTED":
                await change_status(api, ref, status, provider)

    async def estimate(ref: OrderRef, when: str, provider: str = "provider") -> None:
        await step(api, ref, "orderUpdate", provider, estimatedCompletion=when)

    ref = await quoted("Spring webinar series", campaignName="Spring Launch", activityType="Webinar")
    await submit(api, ref)
    ref = await flat("Partner summit", campaignName="Summit 2031")
    await submit(api, ref)
    ref = await flat("Autumn roadshow", campaignName="Autumn")
    await work(ref, "APPROVED")
    await estimate(ref, "2031-03-01")
    ref = await flat("Newsletter blast", "mailing", campaignName="Spring Launch")
    await work(ref, "IN_PROGRESS", "provider2")
    await estimate(ref, "2031-03-01", "provider2")
    await step(api, ref, "orderAssign", "provider2", assigneeId=user_id(api, "provider2"))
    ref = await flat("Customer day", partnerContactId=user_id(api, "partner_colleague"))
    await work(ref, "IN_PROGRESS")
    await estimate(ref, "2031-02-01")
    await step(api, ref, "orderAssign", "provider", assigneeId=user_id(api, "provider_colleague"))
    await quoted("50% off promo")
    ref = await flat("Old webinar")
    await work(ref, "COMPLETE")
    ref = await flat("Ancient webinar")
    await work(ref, "COMPLETE")
    await archive(api, ref)
    ref = await quoted("Cancelled fair")
    await submit(api, ref)
    await cancel(api, ref)
    ref = await flat("Partner2 webinar", member="partner2", campaignName="Other Co")
    await work(ref, "NOT_STARTED", member="partner2")
    await estimate(ref, "2031-04-01")
    ref = await quoted("Partner2 request", member="partner2")
    await submit(api, ref, "partner2")
    ref = await quoted("Quoted mailing", activityType="Mailing")
    await submit(api, ref)
    await quote(api, ref, "provider2", "400")
    await accept(api, ref, "provider2")

    data = await api.client(doc.ORDERS, {"filter": ALL, "first": 100}, token=api.world["vendor"].token)
    nodes = {edge["node"]["id"]: edge["node"] for edge in data["orders"]["edges"]}
    assert len(nodes) == len(refs) == 12
    return Catalogue(refs, nodes)


async def listed(api: Api, member: str = "vendor", **variables: Any) -> dict[str, Any]:
    data = await api.client(doc.ORDERS, {"first": 100, **variables}, token=api.world[member].token)
    connection: dict[str, Any] = data["orders"]
    return connection


async def labels_of(api: Api, catalogue: Catalogue, member: str = "vendor", **variables: Any) -> list[str]:
    connection = await listed(api, member, **variables)
    assert connection["totalCount"] == len(connection["edges"])
    return sorted(catalogue.labels([edge["node"]["id"] for edge in connection["edges"]]))


# ---- search and filters --------------------------------------------------------------------------------


async def test_search_by_number_name_campaign_partner_provider_and_contact(api: Api) -> None:
    # given the catalogue
    catalogue = await build_catalogue(api)
    customer_day = catalogue.number("Customer day")
    cases: list[tuple[str, list[str]]] = [
        (f"#{customer_day}", ["Customer day"]),
        ("ROADSHOW", ["Autumn roadshow"]),
        ("spring launch", ["Newsletter blast", "Spring webinar series"]),
        ("Partner2 Ltd", ["Partner2 request", "Partner2 webinar"]),
        ("Provider2 Ltd", ["Newsletter blast", "Quoted mailing"]),
        ("Partner Colleague", ["Customer day"]),
        ("partner_colleague@example.com", ["Customer day"]),
        ("%", ["50% off promo"]),
        ("_", ["Customer day"]),  # only the contact's email has an underscore: matched literally, not as a wildcard
        ("no such order", []),
    ]
    for term, expected in cases:
        # when the vendor searches, then exactly the matching orders come back
        assert await labels_of(api, catalogue, search=term) == sorted(expected), term
    # and a plain number matches the order with that number (among any whose texts contain it)
    assert "Customer day" in await labels_of(api, catalogue, search=str(customer_day))
    # and a partner's search stays within its own orders
    assert await labels_of(api, catalogue, "partner2", search="webinar") == ["Partner2 webinar"]
    assert await labels_of(api, catalogue, "provider2", search="Spring") == [
        "Newsletter blast",
        "Spring webinar series",
    ]


async def test_filters_each_and_combined(api: Api) -> None:
    # given the catalogue
    catalogue = await build_catalogue(api)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"partnerIds": [org_id(api, "partner2")]}, ["Partner2 request", "Partner2 webinar"]),
        ({"providerIds": [org_id(api, "provider2")]}, ["Newsletter blast", "Quoted mailing"]),
        (
            {"statuses": ["IN_PROGRESS", "APPROVED"]},
            ["Autumn roadshow", "Customer day", "Newsletter blast", "Quoted mailing"],
        ),
        ({"activityTypes": ["Mailing"]}, ["Newsletter blast", "Quoted mailing"]),
        ({"assigneeIds": [user_id(api, "provider_colleague")]}, ["Customer day"]),
        ({"partnerIds": [org_id(api, "partner")], "statuses": ["IN_PROGRESS"]}, ["Customer day", "Newsletter blast"]),
        ({"statuses": ["ARCHIVED"]}, []),  # archived stay hidden unless the filter asks for them
        ({"archived": True}, ["Ancient webinar"]),
        ({"archived": True, "providerIds": [org_id(api, "provider2")]}, []),
    ]
    for flt, expected in cases:
        # when the vendor filters, then exactly the matching orders come back
        assert await labels_of(api, catalogue, filter=flt) == sorted(expected), flt


async def test_archived_orders_are_hidden_by_default_and_shown_with_the_filter(api: Api) -> None:
    # given the catalogue with one archived order
    catalogue = await build_catalogue(api)
    everything = sorted(catalogue.refs)
    # when listed without a filter, with archived false, true and null
    default = await labels_of(api, catalogue)
    hidden = await labels_of(api, catalogue, filter={"archived": False})
    only = await labels_of(api, catalogue, filter={"archived": True})
    both = await labels_of(api, catalogue, filter=ALL)
    # then the default hides it, true shows only it, null shows all
    assert default == hidden == [label for label in everything if label != "Ancient webinar"]
    assert only == ["Ancient webinar"]
    assert both == everything
    # and it is still there to read by id
    ref = catalogue.refs["Ancient webinar"]
    order = (await api.client(doc.ORDER, {"id": ref.id}, token=api.world["partner"].token))["order"]
    assert order["status"] == "ARCHIVED"


# ---- sorting and keyset paging -----------------------------------------------------------------------------


def sort_value(node: dict[str, Any], field: str) -> Any:
    raw = {
        "SUBMITTED_AT": node["submittedAt"],
        "LAST_ACTIVITY_AT": node["lastActivityAt"],
        "ESTIMATED_COMPLETION": node["estimatedCompletion"],
        "NUMBER": node["number"],
    }[field]
    if raw is None or field == "NUMBER":
        return raw
    return date.fromisoformat(raw) if field == "ESTIMATED_COMPLETION" else datetime.fromisoformat(raw)


def expected_order(nodes: list[dict[str, Any]], field: str, direction: str) -> list[str]:
    """Sorted by the field in the direction, ties by ID in the same direction, NULL values last."""
    descending = direction == "DESC"
    valued = [n for n in nodes if sort_value(n, field) is not None]
    nulls = [n for n in nodes if sort_value(n, field) is None]
    valued.sort(key=lambda n: (sort_value(n, field), uuid_of(n["id"])), reverse=descending)
    nulls.sort(key=lambda n: uuid_of(n["id"]), reverse=descending)
    return [n["id"] for n in valued + nulls]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_sorts_and_pages_forward_and_backward_over_every_page(api: Api, direction: str) -> None:
    # given the catalogue as the vendor sees it by default (11 orders)
    catalogue = await build_catalogue(api)
    visible = [n for n in catalogue.nodes.values() if n["status"] != "ARCHIVED"]
    token = api.world["vendor"].token
    for field in SORT_FIELDS:
        sort = {"field": field, "direction": direction}
        expected = expected_order(visible, field, direction)
        # when the whole list is asked for at once, then it is in the expected order
        whole = await listed(api, sortBy=sort)
        assert [e["node"]["id"] for e in whole["edges"]] == expected, field

        # when it is paged forward three at a time to the end
        forward: list[str] = []
        after = None
        pages = 0
        while True:
            page = (await api.client(doc.ORDERS, {"sortBy": sort, "first": 3, "after": after}, token=token))["orders"]
            info = page["pageInfo"]
            assert info["hasPreviousPage"] is (pages > 0), (field, pages)
            assert page["totalCount"] == len(expected)
            forward += [e["node"]["id"] for e in page["edges"]]
            pages += 1
            if not info["hasNextPage"]:
                break
            assert info["endCursor"] == page["edges"][-1]["cursor"]
            after = info["endCursor"]
            assert pages < 10
        # then every order came exactly once, in order
        assert forward == expected, field
        assert pages == 4

        # when it is paged backward from the end three at a time
        backward: list[str] = []
        before = None
        pages = 0
        while True:
            page = (await api.client(doc.ORDERS, {"sortBy": sort, "last": 3, "before": before}, token=token))["orders"]
            info = page["pageInfo"]
            assert info["hasNextPage"] is (pages > 0), (field, pages)
            backward = [e["node"]["id"] for e in page["edges"]] + backward
            pages += 1
            if not info["hasPreviousPage"]:
                break
            before = info["startCursor"]
            assert pages < 10
        # then it is the same list
        assert backward == expected, field

        # and a page between two cursors holds exactly the orders between them
        cursors = [e["cursor"] for e in whole["edges"]]
        between = await listed(api, sortBy=sort, after=cursors[1], before=cursors[6])
        assert [e["node"]["id"] for e in between["edges"]] == expected[2:6], field


async def test_paging_under_a_filter_and_a_search(api: Api) -> None:
    # given the catalogue
    catalogue = await build_catalogue(api)
    token = api.world["partner"].token
    variables = {"search": "webinar", "filter": {"statuses": ["COMPLETE", "APPROVED", "PENDING_QUOTES"]}}
    whole = [e["node"]["id"] for e in (await listed(api, "partner", **variables))["edges"]]
    assert sorted(catalogue.labels(whole)) == ["Old webinar", "Spring webinar series"]
    # when paged one at a time
    seen: list[str] = []
    after = None
    while True:
        page = (await api.client(doc.ORDERS, {**variables, "first": 1, "after": after}, token=token))["orders"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then the pages hold the same orders
    assert seen == whole


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 101}, "first"),
        ({"last": 101}, "last"),
        ({"first": -1}, "first"),
        ({"first": 2, "last": 2}, "last"),
    ],
)
async def test_page_sizes_beyond_the_limit_are_refused(api: Api, variables: dict[str, Any], field: str) -> None:
    # given a member; when it asks for an invalid page size
    body = await api.client.raw(doc.ORDERS, variables, token=api.world["vendor"].token)
    # then it is a top-level INVALID_INPUT error naming the argument, and no data
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"].get("field") == field
    assert field in error["message"]


async def test_first_100_is_accepted(api: Api) -> None:
    data = await api.client(doc.ORDERS, {"first": 100}, token=api.world["vendor"].token)
    assert data["orders"]["edges"] == []


async def test_a_cursor_from_another_sort_is_refused(api: Api) -> None:
    # given a cursor from the list sorted by number
    catalogue = await build_catalogue(api)
    assert catalogue.refs
    token = api.world["vendor"].token
    page = await listed(api, sortBy={"field": "NUMBER", "direction": "ASC"}, first=2)
    cursor = page["pageInfo"]["endCursor"]
    # when it is used with the default sort
    body = await api.client.raw(doc.ORDERS, {"after": cursor}, token=token)
    # then it is INVALID_INPUT on "after"
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "after"


# ---- status counts ---------------------------------------------------------------------------------------


def statuses_admitted(archived: bool | None) -> list[str]:
    """The statuses the status panel lists: ARCHIVED only when archived orders are shown (True: only it)."""
    if archived is True:
        return ["ARCHIVED"]
    return [s for s in doc.MATRIX_STATUSES if archived is None or s != "ARCHIVED"]


async def test_status_counts_agree_with_the_list_for_every_member_and_filter(api: Api) -> None:
    # given the catalogue
    catalogue = await build_catalogue(api)
    assert catalogue.refs
    filters: list[tuple[str | None, dict[str, Any] | None]] = [
        (None, None),
        (None, ALL),
        (None, {"archived": True}),
        ("webinar", None),
        (None, {"providerIds": [org_id(api, "provider")]}),
        ("Spring", {"activityTypes": ["Webinar", "Mailing"]}),
    ]
    for member in ("vendor", "partner", "partner_colleague", "partner2", "provider", "provider2", "outsider"):
        for search, flt in filters:
            variables = {"search": search, "filter": flt}
            # when the member asks for the counts and for the list under the same search and filter
            counts = (await api.client(doc.ORDER_STATUS_COUNTS, variables, token=api.world[member].token))[
                "orderStatusCounts"
            ]
            connection = await listed(api, member, **variables)
            # then they list every status the archived filter admits, in lifecycle order, with the list's
            # count of each (0 where it has none)
            by_status = Counter(e["node"]["status"] for e in connection["edges"])
            admitted = statuses_admitted((flt or {}).get("archived", False))
            assert counts == [{"status": s, "count": by_status[s]} for s in admitted], (member, search, flt)
            assert sum(c["count"] for c in counts) == connection["totalCount"]
            # and the statuses filter does not narrow the counts
            narrowed = {**(flt or {}), "statuses": ["DRAFT"]}
            again = await api.client(
                doc.ORDER_STATUS_COUNTS, {"search": search, "filter": narrowed}, token=api.world[member].token
            )
            assert again["orderStatusCounts"] == counts
