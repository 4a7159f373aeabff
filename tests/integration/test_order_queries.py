"""Orders on the read side (`SqlOrderQueries`) on real SQLite and PostgreSQL: paging, filters, search, counts, by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.orders.queries import SqlOrderQueries
from domain.common.errors import InvalidInput
from domain.common.lists import MAX_PAGE_SIZE, Keyset, PageRequest, SortDirection
from domain.identity.model import Actor
from domain.orders.lifecycle import OrderStatus
from domain.orders.order import Order
from domain.orders.queries import OrderFilter, OrderPage, OrderSort, OrderSortField, viewer_for
from tests.integration._seed import (
    World,
    add_users,
    at,
    build_world,
    draft,
    extra_user,
    flat_fee,
    ids,
    numbers,
    released,
    save_new,
)

ALL = OrderFilter(archived=None)
SORT_ATTRIBUTE = {
    OrderSortField.SUBMITTED_AT: "submitted_at",
    OrderSortField.LAST_ACTIVITY_AT: "last_activity_at",
    OrderSortField.ESTIMATED_COMPLETION: "estimated_completion",
    OrderSortField.NUMBER: "number",
}


def sort_value(field: OrderSortField, order: Order) -> Any:
    return getattr(order, SORT_ATTRIBUTE[field])


def expected_order(orders: Sequence[Order], sort: OrderSort) -> list[Order]:
    """The documented order: values in the direction, NULL values last, ties by id in the direction."""

    def value(order: Order) -> Any:
        return sort_value(sort.field, order)

    desc = sort.direction is SortDirection.DESC
    present = sorted((o for o in orders if value(o) is not None), key=lambda o: (value(o), o.id), reverse=desc)
    missing = sorted((o for o in orders if value(o) is None), key=lambda o: o.id, reverse=desc)
    return present + missing


# ---- keyset paging ------------------------------------------------------------------------


async def paging_world(engine: AsyncEngine) -> tuple[World, list[Order]]:
    """30 orders in every state, with many ties and NULLs in every nullable sort column."""
    world = await build_world(engine)
    p, q = world.providers
    made: list[Order] = []
    for i, number in enumerate(await numbers(engine, world.programme.id, 30)):
        partner = world.partners[i % 2]
        created = at(i // 4)  # four orders share each creation time
        step = at(100 + i // 5)  # and five each release time
        match i % 6:
            case 0:
                order = draft(world, partner, number, created)
            case 1:
                order = draft(world, partner, number, created)
                order.submit(partner.actor, step)
            case 2:
                order = released(world, flat_fee(world, partner, p, number, created), p, step)
                changes = {"estimated_completion": date(2025, 4, 1 + i % 3), "provider_notes": f"note {number}"}
                order.update(p.actor, at(200 + i // 6), changes)
            case 3:
                order = released(world, flat_fee(world, partner, q, number, created), q, step)
                order.change_status(q.actor, at(200 + i // 6), OrderStatus.NOT_STARTED)
            case 4:
                order = flat_fee(world, partner, p, number, created)
                order.submit(partner.actor, step)
            case _:
                order = released(world, flat_fee(world, partner, p, number, created), p, step)
                order.update(p.actor, at(300), {"estimated_completion": date(2025, 4, 2)})
                order.change_status(p.actor, at(301), OrderStatus.NOT_STARTED)
                order.change_status(p.actor, at(302), OrderStatus.COMPLETE)
                order.archive(p.actor, at(303))
        made.append(order)
    await save_new(engine, made)
    return world, made


async def walk_forward(
    queries: SqlOrderQueries, actor: Actor, sort: OrderSort, size: int
) -> tuple[list[Order], list[OrderPage]]:
    viewer = viewer_for(actor)
    seen: list[Order] = []
    pages: list[OrderPage] = []
    after: Keyset | None = None
    while True:
        page = await queries.order_page(viewer, ALL, sort, PageRequest(first=size, after=after, with_total=True))
        pages.append(page)
        seen.extend(page.orders)
        if not page.has_next:
            return seen, pages
        after = page.keys[-1]


async def walk_backward(
    queries: SqlOrderQueries, actor: Actor, sort: OrderSort, size: int
) -> tuple[list[Order], list[OrderPage]]:
    viewer = viewer_for(actor)
    seen: list[Order] = []
    pages: list[OrderPage] = []
    before: Keyset | None = None
    while True:
        page = await queries.order_page(viewer, ALL, sort, PageRequest(last=size, before=before))
        pages.append(page)
        seen[:0] = page.orders
        if not page.has_previous:
            return seen, pages
        before = page.keys[0]


@pytest.mark.parametrize("field", list(OrderSortField))
async def test_paging_both_ways_yields_every_visible_order_once_in_order(
    engine: AsyncEngine, queries: SqlOrderQueries, field: OrderSortField
) -> None:
    world, made = await paging_world(engine)
    for member in (world.vendor, world.partners[0], *world.providers):
        visible = [o for o in made if o.can_see(member.actor)]
        for direction in SortDirection:
            sort = OrderSort(field, direction)
            want = ids(expected_order(visible, sort))
            forward, pages = await walk_forward(queries, member.actor, sort, size=4)
            assert ids(forward) == want, (member.org.name, sort)
            assert [p.has_previous for p in pages] == [False] + [True] * (len(pages) - 1)
            assert {p.total_count for p in pages} == {len(visible)}
            for page in pages:
                assert page.keys == [Keyset(sort_value(field, o), o.id) for o in page.orders]
            backward, pages = await walk_backward(queries, member.actor, sort, size=3)
            assert ids(backward) == want, (member.org.name, sort)
            assert [p.has_next for p in pages] == [False] + [True] * (len(pages) - 1)
            assert all(p.total_count is None for p in pages)


async def test_sort_values_include_nulls_and_ties(engine: AsyncEngine) -> None:
    _, made = await paging_world(engine)
    for field in (OrderSortField.SUBMITTED_AT, OrderSortField.ESTIMATED_COMPLETION):
        values = [sort_value(field, o) for o in made]
        assert None in values
        assert len({v for v in values if v is not None}) < len([v for v in values if v is not None])
    activity = [o.last_activity_at for o in made]
    assert len(set(activity)) < len(activity)


async def test_a_window_between_two_cursors_and_empty_pages(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, made = await paging_world(engine)
    viewer = viewer_for(world.vendor.actor)
    sort = OrderSort(OrderSortField.SUBMITTED_AT, SortDirection.DESC)
    want = expected_order(made, sort)
    # archived=None: the vendor sees all 30.
    keys = [Keyset(o.submitted_at, o.id) for o in want]
    # A NULL-valued cursor on one side, a dated one on the other.
    window = await queries.order_page(viewer, ALL, sort, PageRequest(first=50, after=keys[3], before=keys[-2]))
    assert ids(window.orders) == ids(want[4:-2])
    assert (window.has_previous, window.has_next) == (True, True)
    tail = await queries.order_page(viewer, ALL, sort, PageRequest(last=2, after=keys[3], before=keys[-2]))
    assert ids(tail.orders) == ids(want[-4:-2])
    assert (tail.has_previous, tail.has_next) == (True, True)
    nothing = await queries.order_page(viewer, ALL, sort, PageRequest(first=0, with_total=True))
    assert (nothing.orders, nothing.has_next, nothing.has_previous, nothing.total_count) == ([], True, False, 30)
    # Past the end: no rows in range, yet the total and "there is more before" still come back.
    end = await queries.order_page(viewer, ALL, sort, PageRequest(first=5, after=keys[-1], with_total=True))
    assert (end.orders, end.has_next, end.has_previous, end.total_count) == ([], False, True, 30)


async def test_page_requests_out_of_bounds_are_refused(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world = await build_world(engine)
    viewer = viewer_for(world.vendor.actor)
    sort = OrderSort(OrderSortField.SUBMITTED_AT)
    bad = [
        (PageRequest(first=MAX_PAGE_SIZE + 1), "first"),
        (PageRequest(first=-1), "first"),
        (PageRequest(last=MAX_PAGE_SIZE + 1), "last"),
        (PageRequest(first=1, last=1), "last"),
        (PageRequest(first=1, after=Keyset(7, uuid4())), "after"),
        (PageRequest(last=1, before=Keyset(date(2025, 1, 1), uuid4())), "before"),
        (PageRequest(first=1, after=Keyset(datetime(2025, 1, 1), uuid4())), "after"),  # naive
    ]
    for request, field in bad:
        with pytest.raises(InvalidInput) as caught:
            await queries.order_page(viewer, ALL, sort, request)
        assert caught.value.field == field, request
    number_sort = OrderSort(OrderSortField.NUMBER)
    with pytest.raises(InvalidInput):
        await queries.order_page(viewer, ALL, number_sort, PageRequest(after=Keyset(None, uuid4())))
    page = await queries.order_page(viewer, ALL, sort, PageRequest(first=MAX_PAGE_SIZE))
    assert page.orders == []


# ---- filters, search and counts -------------------------------------------------------------


async def filter_world(engine: AsyncEngine) -> tuple[World, dict[str, Order]]:
    world = await build_world(engine)
    a, b = world.partners
    p, q = world.providers
    assignee = extra_user(p.org, "Pat Worker")
    contact = extra_user(a.org, "Zed Contact")
    await add_users(engine, [assignee, contact])
    world.extra_users += [assignee, contact]
    n = await numbers(engine, world.programme.id, 5)
    o: dict[str, Order] = {}
    o["pct"] = released(
        world,
        flat_fee(world, a, p, n[0], at(0), name="Spring ten% off", campaign_name="Spring", activity_type="EMAIL"),
        p,
        at(1),
    )
    o["pct"].assign(p.actor, at(2), assignee)
    o["underscore"] = released(
        world, flat_fee(world, b, q, n[1], at(0), name="Spring ten_off", activity_type="EVENT"), q, at(1)
    )
    o["draft"] = draft(
        world, a, n[2], at(0), name="tenXoff summer", campaign_name="Summer Launch", partner_contact=contact
    )
    o["archived"] = released(world, flat_fee(world, b, p, n[3], at(0), name="Old stuff"), p, at(1))
    o["archived"].change_status(p.actor, at(2), OrderStatus.NOT_STARTED)
    o["archived"].change_status(p.actor, at(3), OrderStatus.COMPLETE)
    o["archived"].archive(p.actor, at(4))
    o["open"] = draft(world, b, n[4], at(0), name="Open request")
    o["open"].submit(b.actor, at(1))
    await save_new(engine, list(o.values()))
    return world, o


async def found(queries: SqlOrderQueries, actor: Actor, flt: OrderFilter) -> set[UUID]:
    page = await queries.order_page(viewer_for(actor), flt, OrderSort(), PageRequest(first=MAX_PAGE_SIZE))
    return set(ids(page.orders))


async def test_filters(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, o = await filter_world(engine)
    a, b = world.partners
    p, q = world.providers
    vendor = world.vendor.actor
    assignee = world.extra_users[0]

    def want(*names: str) -> set[UUID]:
        return {o[name].id for name in names}

    assert await found(queries, vendor, OrderFilter()) == want("pct", "underscore", "draft", "open")
    assert await found(queries, vendor, OrderFilter(archived=True)) == want("archived")
    assert await found(queries, vendor, ALL) == want(*o)
    assert await found(queries, vendor, OrderFilter(partner_ids=(a.org.id,))) == want("pct", "draft")
    assert await found(queries, vendor, OrderFilter(provider_ids=(p.org.id,))) == want("pct")
    assert await found(queries, vendor, OrderFilter(provider_ids=(p.org.id,), archived=None)) == want("pct", "archived")
    statuses = (OrderStatus.DRAFT, OrderStatus.PENDING_QUOTES)
    assert await found(queries, vendor, OrderFilter(statuses=statuses)) == want("draft", "open")
    assert await found(queries, vendor, OrderFilter(activity_types=("EVENT",))) == want("underscore")
    assert await found(queries, vendor, OrderFilter(assignee_ids=(assignee.id,))) == want("pct")
    both = OrderFilter(partner_ids=(b.org.id,), activity_types=("EVENT", "EMAIL"))
    assert await found(queries, vendor, both) == want("underscore")
    # Filters narrow the viewer's scope, never widen it.
    assert await found(queries, a.actor, OrderFilter(partner_ids=(b.org.id,))) == set()
    assert await found(queries, q.actor, OrderFilter(provider_ids=(p.org.id,))) == set()
    assert await found(queries, q.actor, OrderFilter()) == want("underscore", "open")


async def test_search(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, o = await filter_world(engine)
    vendor = world.vendor.actor
    contact = world.extra_users[1]

    async def search(text: str, actor: Actor = vendor) -> set[str]:
        hits = await found(queries, actor, OrderFilter(search=text, archived=None))
        return {name for name, order in o.items() if order.id in hits}

    assert await search("n%") == {"pct"}  # '%' is the user's text, not a wildcard
    assert await search("n_o") == {"underscore"}  # '_' too ("tenXoff" would match the wildcard)
    assert await search("%") == {"pct"}
    assert await search("_") == {"underscore"}
    assert await search("  OFF ") == {"pct", "underscore", "draft"}
    assert await search("summer launch") == {"draft"}  # campaign name
    assert await search("MAILERS") == {"pct", "archived"}  # provider name
    assert await search("bravo") == {"underscore", "archived", "open"}  # partner name
    assert await search("zed cont") == {"draft"}  # partner contact name
    assert await search(contact.email.split("@")[0][-8:].upper()) == {"draft"}  # contact email
    assert await search(f"#{o['archived'].number}") == {"archived"}  # order number
    assert await search(f"#{o['open'].number}") == {"open"}
    assert "open" in await search(str(o["open"].number))
    assert await search("nothing like it") == set()
    # Search never reaches past the viewer's scope.
    assert await search("bravo", world.partners[0].actor) == set()
    assert await search("spring", world.providers[0].actor) == {"pct"}


ACTIVE_STATUSES = tuple(s for s in OrderStatus if s is not OrderStatus.ARCHIVED)


def panel(statuses: Sequence[OrderStatus], found: dict[OrderStatus, int]) -> list[tuple[OrderStatus, int]]:
    """Every one of `statuses`, in lifecycle order, with its count in `found` or 0."""
    return [(s, found.get(s, 0)) for s in statuses]


async def test_status_counts(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, _ = await filter_world(engine)
    a = world.partners[0]
    p = world.providers[0]

    async def counts(actor: Actor, flt: OrderFilter) -> list[tuple[OrderStatus, int]]:
        return [(c.status, c.count) for c in await queries.status_counts(viewer_for(actor), flt)]

    vendor = world.vendor.actor
    # Every status the archived filter admits, in lifecycle order, 0 where no order stands (by default not
    # ARCHIVED, which the default view leaves out).
    assert await counts(vendor, OrderFilter()) == panel(
        ACTIVE_STATUSES, {OrderStatus.DRAFT: 1, OrderStatus.PENDING_QUOTES: 1, OrderStatus.APPROVED: 2}
    )
    # statuses are ignored (the panel shows them all); archived is kept: None shows ARCHIVED too, True only it.
    only_drafts = OrderFilter(statuses=(OrderStatus.DRAFT,), archived=None)
    assert await counts(vendor, only_drafts) == panel(
        tuple(OrderStatus),
        {OrderStatus.DRAFT: 1, OrderStatus.PENDING_QUOTES: 1, OrderStatus.APPROVED: 2, OrderStatus.ARCHIVED: 1},
    )
    assert await counts(vendor, OrderFilter(archived=True)) == [(OrderStatus.ARCHIVED, 1)]
    assert await counts(a.actor, OrderFilter()) == panel(
        ACTIVE_STATUSES, {OrderStatus.DRAFT: 1, OrderStatus.APPROVED: 1}
    )
    assert await counts(p.actor, OrderFilter(archived=None)) == panel(
        tuple(OrderStatus), {OrderStatus.PENDING_QUOTES: 1, OrderStatus.APPROVED: 1, OrderStatus.ARCHIVED: 1}
    )
    assert await counts(vendor, OrderFilter(search="spring")) == panel(ACTIVE_STATUSES, {OrderStatus.APPROVED: 2})
    # and a search that finds nothing still lists every status, each 0
    assert await counts(vendor, OrderFilter(search="no such order")) == panel(ACTIVE_STATUSES, {})


# ---- provider notes ---------------------------------------------------------------------


async def test_provider_notes_reach_the_orders_provider_only(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, made = await paging_world(engine)
    noted = [o for o in made if o.provider_notes]
    assert noted
    for member in world.everyone:
        viewer = viewer_for(member.actor)
        page = await queries.order_page(viewer, ALL, OrderSort(), PageRequest(first=MAX_PAGE_SIZE))
        by_id = await queries.orders_by_id(viewer, ids(made))
        for order in [*page.orders, *(o for o in by_id if o)]:
            original = next(o for o in made if o.id == order.id)
            shown = original.provider_notes if original.shows_provider_notes_to(member.actor) else ""
            assert order.provider_notes == shown
        if member in (world.vendor, *world.partners):
            assert all(o.provider_notes == "" for o in page.orders)
    p = world.providers[0]
    mine = await queries.orders_by_id(viewer_for(p.actor), ids(noted))
    assert [o.provider_notes for o in mine if o] == [o.provider_notes for o in noted]


# ---- by id and the directory ------------------------------------------------------------------


async def test_by_id_keeps_the_order_asked_and_hides_what_is_not_visible(
    engine: AsyncEngine, queries: SqlOrderQueries
) -> None:
    world, made = await paging_world(engine)
    other = await build_world(engine, tag=" (other)")
    a = world.partners[0]
    mine = [o for o in made if o.partner_id == a.org.id]
    theirs = next(o for o in made if o.partner_id != a.org.id)
    missing = uuid4()
    asked = [mine[2].id, missing, theirs.id, mine[0].id, mine[2].id]
    got = await queries.orders_by_id(viewer_for(a.actor), asked)
    assert [o.id if o else None for o in got] == [mine[2].id, None, None, mine[0].id, mine[2].id]
    got_order = got[0]
    assert got_order is not None
    assert replace(got_order, provider_notes=mine[2].provider_notes, events=[]) == replace(mine[2], events=[])
    assert await queries.orders_by_id(viewer_for(other.vendor.actor), ids(made)) == [None] * len(made)
    assert await queries.orders_by_id(viewer_for(a.actor), []) == []

    viewer = viewer_for(world.providers[0].actor)
    orgs = await queries.organisations_by_id(viewer, [a.org.id, other.partners[0].org.id, world.vendor.org.id])
    assert orgs == [a.org, None, world.vendor.org]
    users = await queries.users_by_id(viewer, [other.vendor.user.id, a.user.id, missing])
    assert users[0] is None
    assert users[2] is None
    assert users[1] == replace(a.user, password_hash="")


async def test_directory_reads(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world = await build_world(engine)
    other = await build_world(engine, tag=" (other)")
    p = world.providers[0]
    gone = extra_user(p.org, "Aaron Gone", active=False)
    helper = extra_user(p.org, "Abe Helper")
    await add_users(engine, [gone, helper])
    viewer = viewer_for(world.partners[0].actor)
    staff = await queries.users_of_organisation(viewer, p.org.id)
    assert staff == [replace(helper, password_hash=""), replace(p.user, password_hash="")]
    assert await queries.users_of_organisation(viewer, other.providers[0].org.id) == []
    services = await queries.services_of_programme(viewer)
    assert sorted(s.id for s in services) == sorted(world.services[m.org.id].id for m in world.providers)
    assert [s.name for s in services] == sorted(s.name for s in services)
