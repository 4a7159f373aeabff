"""The read side (`SqlOrderQueries`) on real SQLite and PostgreSQL.

Data is made through the domain and saved through the unit of work (see `_seed`); the
expected answers come from the domain's own rules (`Order.can_see`, `Audience.admits`,
`Order.shows_provider_notes_to`), so the SQL is checked against them, not against a copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.orders.queries import SqlOrderQueries
from domain.common.errors import InvalidInput
from domain.common.lists import MAX_PAGE_SIZE, Keyset, PageRequest, SortDirection
from domain.identity.model import Actor
from domain.orders.comments import Attachment, Comment, CommentVisibility
from domain.orders.events import Audience, EventKind, OrderEvent
from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.order import Order
from domain.orders.queries import OrderFilter, OrderPage, OrderSort, OrderSortField, viewer_for
from domain.orders.quotes import Quote, QuoteStatus
from tests.integration._seed import (
    World,
    add_users,
    at,
    build_world,
    comment,
    draft,
    extra_user,
    flat_fee,
    numbers,
    quote_lines,
    released,
    save_new,
    uow_factory,
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


@pytest.fixture
def queries(engine: AsyncEngine) -> SqlOrderQueries:
    return SqlOrderQueries(engine)


def ids(items: Sequence[Any]) -> list[UUID]:
    return [item.id for item in items]


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


# ---- audiences: comments, quotes, activity, attachments -------------------------------------


async def quoting_scene(engine: AsyncEngine) -> tuple[World, Order, list[Comment]]:
    """An open quote request of partner A: both providers quote, and everyone comments."""
    world = await build_world(engine)
    a = world.partners[0]
    p, q = world.providers
    (number,) = await numbers(engine, world.programme.id, 1)
    order = draft(world, a, number, at(0))
    order.submit(a.actor, at(1))
    order.submit_quote(p.actor, at(2), lines=quote_lines("100"), expires_on=None, promised_completion=None, message="")
    order.submit_quote(q.actor, at(3), lines=quote_lines("90"), expires_on=None, promised_completion=None, message="")
    internal = CommentVisibility.INTERNAL
    said = [
        comment(a, order, at(4), "shared by partner", files=["brief.txt"]),
        comment(a, order, at(5), "internal to partner", internal, files=["budget.txt"]),
        comment(p, order, at(6), "shared by candidate P"),
        comment(p, order, at(7), "internal to P", internal, files=["costs.txt", "a.txt"]),
        comment(world.vendor, order, at(8), "internal to vendor", internal),
        comment(q, order, at(9), "shared by candidate Q"),
    ]
    await save_new(engine, [order], said)
    return world, order, said


def by_name(files: Sequence[Attachment]) -> list[Attachment]:
    return sorted(files, key=lambda f: f.filename)


async def test_comment_audiences(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, order, said = await quoting_scene(engine)
    a, b = world.partners
    p, q = world.providers
    sees = [
        (world.vendor, [0, 2, 4, 5]),
        (a, [0, 1, 2, 5]),
        (p, [0, 2, 3]),
        (q, [0, 5]),
        (b, []),
    ]
    for member, visible in sees:
        viewer = viewer_for(member.actor)
        (thread,) = await queries.comments_by_order(viewer, [order.id])
        assert [c.body for c in thread] == [said[i].body for i in visible], member.org.name
        oracle = [c.id for c in said if order.can_see(member.actor) and c.audience.admits(member.actor, a.org.id)]
        assert ids(thread) == oracle
        for c in thread:
            original = next(s for s in said if s.id == c.id)
            assert by_name(c.attachments) == by_name(original.attachments)
            assert c.audience == original.audience
        (latest,) = await queries.latest_comment_by_order(viewer, [order.id])
        assert (latest.body if latest else None) == (said[visible[-1]].body if visible else None)
        assert by_name(latest.attachments if latest else []) == by_name(
            said[visible[-1]].attachments if visible else []
        )
    # The partner's internal attachment: only the partner gets it; P's internal ones only P.
    budget = said[1].attachments[0]
    costs = said[3].attachments[0]
    for member in world.everyone:
        viewer = viewer_for(member.actor)
        assert (await queries.attachment(viewer, budget.id) is not None) == (member is a)
        assert (await queries.attachment(viewer, costs.id) is not None) == (member is p)
    assert await queries.attachment(viewer_for(q.actor), said[0].attachments[0].id) == said[0].attachments[0]
    assert await queries.attachment(viewer_for(b.actor), said[0].attachments[0].id) is None
    assert await queries.attachment(viewer_for(a.actor), uuid4()) is None


async def test_latest_comment_is_the_newest_visible_with_all_its_files(
    engine: AsyncEngine, queries: SqlOrderQueries
) -> None:
    world, order, said = await quoting_scene(engine)
    p = world.providers[0]
    (latest,) = await queries.latest_comment_by_order(viewer_for(p.actor), [order.id])
    assert latest is not None
    assert latest.id == said[3].id
    assert sorted(f.filename for f in latest.attachments) == ["a.txt", "costs.txt"]
    other = uuid4()
    assert await queries.latest_comment_by_order(viewer_for(p.actor), [other, order.id, other]) == [
        None,
        latest,
        None,
    ]
    assert await queries.latest_comment_by_order(viewer_for(p.actor), []) == []


async def test_the_attachments_statement_runs_only_when_a_comment_has_files(
    engine: AsyncEngine, queries: SqlOrderQueries
) -> None:
    world, order, said = await quoting_scene(engine)
    q = world.providers[1]
    viewer = viewer_for(q.actor)  # sees comments 0 (one file) and 5 (none)

    def selects(statements: list[str]) -> int:
        return sum(s.lstrip().upper().startswith("SELECT") for s in statements)

    with counting(engine) as statements:
        (thread,) = await queries.comments_by_order(viewer, [order.id])
    assert (ids(thread), selects(statements)) == ([said[0].id, said[5].id], 2)
    assert thread[0].attachments == said[0].attachments
    assert thread[1].attachments == []
    bare = draft(world, world.partners[0], 99, at(0))
    await save_new(engine, [bare], [comment(world.partners[0], bare, at(1), "no files")])
    with counting(engine) as statements:
        (thread,) = await queries.comments_by_order(viewer_for(world.vendor.actor), [bare.id])
    assert ([c.body for c in thread], selects(statements)) == (["no files"], 1)
    assert await queries.comments_by_order(viewer, []) == []


async def test_quote_audiences(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, order, _ = await quoting_scene(engine)
    a, b = world.partners
    p, q = world.providers
    newest_first = [order.quotes[1].id, order.quotes[0].id]
    (theirs,) = await queries.quotes_by_order(viewer_for(a.actor), [order.id])
    assert ids(theirs) == newest_first
    assert theirs[1] == order.quotes[0]
    (vendor_sees,) = await queries.quotes_by_order(viewer_for(world.vendor.actor), [order.id])
    assert ids(vendor_sees) == newest_first
    # A candidate provider never sees a competitor's quote.
    assert await queries.quotes_by_order(viewer_for(p.actor), [order.id]) == [[order.quotes[0]]]
    assert await queries.quotes_by_order(viewer_for(q.actor), [order.id]) == [[order.quotes[1]]]
    assert await queries.quotes_by_order(viewer_for(b.actor), [order.id]) == [[]]


async def test_activity_audiences(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    world, order, _ = await quoting_scene(engine)
    a = world.partners[0]
    p, q = world.providers
    # Accepting P's quote releases the order to P; P then keeps a private note.
    async with uow_factory(engine)() as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.accept_quote(a.actor, at(10), loaded.quotes[0].id, approval_threshold=None)
        loaded.update(p.actor, at(11), {"provider_notes": "margin is thin"})
        await uow.orders.save(loaded)
        await uow.commit()

    def kinds(events: Sequence[OrderEvent]) -> list[str]:
        return [e.kind.value for e in events]

    (partner_sees,) = await queries.activity_by_order(viewer_for(a.actor), [order.id])
    (provider_sees,) = await queries.activity_by_order(viewer_for(p.actor), [order.id])
    (vendor_sees,) = await queries.activity_by_order(viewer_for(world.vendor.actor), [order.id])
    assert await queries.activity_by_order(viewer_for(q.actor), [order.id]) == [[]]  # no longer a candidate
    created, submitted = "ORDER_CREATED", "STATUS_CHANGED"
    # The acceptance and its status change share one instant, so they may come in either order.
    assert kinds(partner_sees)[:8] == [
        created,
        submitted,
        "QUOTE_SUBMITTED",
        "QUOTE_SUBMITTED",
        *(["COMMENT_ADDED"] * 4),  # shared (0), internal to A (1), shared by P (2), shared by Q (5)
    ]
    assert sorted(kinds(partner_sees)[8:]) == ["QUOTE_ACCEPTED", "STATUS_CHANGED"]
    assert kinds(provider_sees)[:6] == [
        created,
        submitted,
        "QUOTE_SUBMITTED",  # its own only
        *(["COMMENT_ADDED"] * 3),  # 0, 2, 3
    ]
    assert sorted(kinds(provider_sees)[6:8]) == ["QUOTE_ACCEPTED", "STATUS_CHANGED"]
    assert kinds(provider_sees)[8:] == ["FIELDS_UPDATED"]  # its private note
    assert "FIELDS_UPDATED" not in kinds(vendor_sees)
    assert all(e.after.get("quote_id") != str(order.quotes[1].id) for e in provider_sees)
    times = [e.occurred_at for e in partner_sees]
    assert times == sorted(times)


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


# ---- the domain is the oracle: random states, every viewer ------------------------------------

audience_spec = st.tuples(st.one_of(st.none(), st.integers(0, 9)), st.booleans(), st.integers(0, 3))
order_spec = st.fixed_dictionaries(
    {
        "programme": st.integers(0, 1),
        "partner": st.integers(0, 1),
        "kind": st.sampled_from(OrderKind),
        "status": st.sampled_from(OrderStatus),
        "provider": st.one_of(st.none(), st.integers(0, 3)),  # 0-1 its programme's, 2-3 the other's
        "released": st.booleans(),
        "notes": st.booleans(),
        "comments": st.lists(audience_spec, max_size=3),
        "events": st.lists(audience_spec, max_size=2),
        "quotes": st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=2),
    }
)


class Oracle:
    """Two programmes built once per test; each example adds orders tagged with a fresh word."""

    def __init__(self, worlds: list[World]) -> None:
        self.worlds = worlds
        self.orgs = [m for w in worlds for m in w.everyone]
        self.next_number = 1000

    def build(self, specs: list[dict[str, Any]], tag: str) -> tuple[list[Order], list[Comment]]:
        orders: list[Order] = []
        comments: list[Comment] = []
        for spec in specs:
            world = self.worlds[spec["programme"]]
            partner = world.partners[spec["partner"]]
            providers = world.providers + self.worlds[1 - spec["programme"]].providers
            provider = None if spec["provider"] is None else providers[spec["provider"]]
            self.next_number += 1
            order = Order(
                id=uuid4(),
                programme_id=world.programme.id,
                number=self.next_number,
                kind=spec["kind"],
                status=spec["status"],
                name=f"{tag} order",
                partner_id=partner.org.id,
                created_by=partner.user.id,
                created_at=at(0),
                provider_id=provider.org.id if provider else None,
                priority=Priority.NORMAL,
                provider_notes="secret" if spec["notes"] else "",
                released_to_provider_at=at(1) if spec["released"] else None,
                last_activity_at=at(1),
            )
            for org_index, buyer_side, minute in spec["events"]:
                order.events.append(
                    OrderEvent(
                        kind=EventKind.FIELDS_UPDATED,
                        order_id=order.id,
                        actor_user_id=partner.user.id,
                        actor_org_id=partner.org.id,
                        occurred_at=at(minute),
                        audience=self._audience(org_index, buyer_side),
                    )
                )
            for provider_index, minute in spec["quotes"]:
                order.quotes.append(
                    Quote(
                        id=uuid4(),
                        order_id=order.id,
                        provider_id=providers[provider_index].org.id,
                        status=QuoteStatus.SUBMITTED,
                        lines=tuple(quote_lines()),
                        expires_on=None,
                        promised_completion=None,
                        message="",
                        created_by=providers[provider_index].user.id,
                        created_at=at(minute),
                    )
                )
            for org_index, buyer_side, minute in spec["comments"]:
                author = partner  # the audience, not the author, decides who sees it
                comments.append(
                    Comment(
                        id=uuid4(),
                        order_id=order.id,
                        author_id=author.user.id,
                        author_org_id=author.org.id,
                        visibility=CommentVisibility.SHARED,
                        body=f"{tag} comment",
                        created_at=at(minute),
                        audience=self._audience(org_index, buyer_side),
                    )
                )
            orders.append(order)
        return orders, comments

    def _audience(self, org_index: int | None, buyer_side: bool) -> Audience:
        return Audience(None if org_index is None else self.orgs[org_index].org.id, buyer_side)


@pytest.fixture
async def oracle(engine: AsyncEngine) -> Oracle:
    return Oracle([await build_world(engine, tag=" one"), await build_world(engine, tag=" two")])


PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(specs=st.lists(order_spec, min_size=1, max_size=8))
async def test_sql_visibility_and_audiences_agree_with_the_domain(
    engine: AsyncEngine, queries: SqlOrderQueries, oracle: Oracle, specs: list[dict[str, Any]]
) -> None:
    tag = f"t{uuid4().hex[:10]}"
    orders, comments = oracle.build(specs, tag)
    events = {o.id: list(o.events) for o in orders}
    quotes = {o.id: list(o.quotes) for o in orders}
    await save_new(engine, orders, comments)
    order_ids = ids(orders)
    for member in oracle.orgs:
        actor = member.actor
        viewer = viewer_for(actor)
        visible = [o for o in orders if o.can_see(actor)]
        got = await queries.orders_by_id(viewer, order_ids)
        assert [o.id if o else None for o in got] == [o.id if o.can_see(actor) else None for o in orders]
        for o, g in zip(orders, got, strict=True):
            if g is not None:
                assert g.provider_notes == (o.provider_notes if o.shows_provider_notes_to(actor) else "")
        page = await queries.order_page(
            viewer,
            OrderFilter(archived=None, search=tag),
            OrderSort(OrderSortField.NUMBER, SortDirection.ASC),
            PageRequest(first=20),
        )
        assert ids(page.orders) == ids(sorted(visible, key=lambda o: o.number))
        counts = await queries.status_counts(viewer, OrderFilter(archived=None, search=tag))
        assert sum(c.count for c in counts) == len(visible)

        def admitted(order: Order, audience: Audience, actor: Actor = actor) -> bool:
            return order.can_see(actor) and audience.admits(actor, order.partner_id)

        threads = await queries.comments_by_order(viewer, order_ids)
        latest = await queries.latest_comment_by_order(viewer, order_ids)
        timelines = await queries.activity_by_order(viewer, order_ids)
        quote_lists = await queries.quotes_by_order(viewer, order_ids)
        for o, thread, newest, timeline, qs in zip(orders, threads, latest, timelines, quote_lists, strict=True):
            want_comments = sorted(
                (c for c in comments if c.order_id == o.id and admitted(o, c.audience)),
                key=lambda c: (c.created_at, c.id),
            )
            assert ids(thread) == ids(want_comments)
            assert (newest.id if newest else None) == (want_comments[-1].id if want_comments else None)
            want_events = sorted(
                (e for e in events[o.id] if admitted(o, e.audience)), key=lambda e: e.occurred_at
            )  # stable: events of the same time keep the order they were recorded in
            assert ids(timeline) == ids(want_events)
            want_quotes = sorted(
                (q for q in quotes[o.id] if admitted(o, q.audience)), key=lambda q: (q.created_at, q.id), reverse=True
            )
            assert ids(qs) == ids(want_quotes)
        # one entry at a time (live updates read them so): the same rule, and nothing for an unknown id
        every = [(o, e) for o in orders for e in events[o.id]]
        by_id = await queries.activity_by_id(viewer, [*(e.id for _, e in every), uuid4()])
        assert by_id[-1] is None
        for (o, e), found in zip(every, by_id, strict=False):
            assert (found.id if found else None) == (e.id if admitted(o, e.audience) else None)


# ---- statements per request do not grow with the page ------------------------------------------


async def busy_programme(engine: AsyncEngine, size: int, tag: str) -> World:
    """`size` orders, each with quotes or a provider, comments and attachments."""
    world = await build_world(engine, tag=tag)
    a, b = world.partners
    p, q = world.providers
    made: list[Order] = []
    said: list[Comment] = []
    for i, number in enumerate(await numbers(engine, world.programme.id, size)):
        partner = (a, b)[i % 2]
        if i % 2:
            order = released(world, flat_fee(world, partner, p, number, at(i)), p, at(i + 1))
            order.assign(p.actor, at(i + 2), p.user)
        else:
            order = draft(world, partner, number, at(i))
            order.submit(partner.actor, at(i + 1))
            for provider in (p, q):
                order.submit_quote(
                    provider.actor,
                    at(i + 2),
                    lines=quote_lines(),
                    expires_on=None,
                    promised_completion=None,
                    message="",
                )
        said.append(comment(partner, order, at(i + 3), "hello", files=["x.txt"]))
        said.append(comment(p, order, at(i + 4), "hi", files=["y.txt", "z.txt"]))
        made.append(order)
    await save_new(engine, made, said)
    return world


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def manage_orders_request(queries: SqlOrderQueries, actor: Actor) -> int:
    """What the Manage Orders view asks for: a page, then every relation batched by loaders."""
    viewer = viewer_for(actor)
    page = await queries.order_page(viewer, OrderFilter(), OrderSort(), PageRequest(first=100, with_total=True))
    order_ids = ids(page.orders)
    orgs = {o.partner_id for o in page.orders} | {o.provider_id for o in page.orders if o.provider_id}
    people = {o.partner_contact_id for o in page.orders if o.partner_contact_id} | {
        o.assignee_id for o in page.orders if o.assignee_id
    }
    await queries.status_counts(viewer, OrderFilter())
    await queries.orders_by_id(viewer, order_ids)
    await queries.organisations_by_id(viewer, sorted(orgs))
    await queries.users_by_id(viewer, sorted(people))
    await queries.latest_comment_by_order(viewer, order_ids)
    threads = await queries.comments_by_order(viewer, order_ids)
    await queries.quotes_by_order(viewer, order_ids)
    await queries.activity_by_order(viewer, order_ids)
    assert all(len(t) == 2 and t[0].attachments for t in threads)
    return len(page.orders)


async def test_statement_count_does_not_grow_with_the_page(engine: AsyncEngine, queries: SqlOrderQueries) -> None:
    small = await busy_programme(engine, 10, " small")
    large = await busy_programme(engine, 100, " large")
    for few_viewer, many_viewer in (
        (small.vendor, large.vendor),
        (small.partners[0], large.partners[0]),
        (small.providers[0], large.providers[0]),
    ):
        role = few_viewer.org.kind.value
        with counting(engine) as few:
            shown_few = await manage_orders_request(queries, few_viewer.actor)
        with counting(engine) as many:
            shown_many = await manage_orders_request(queries, many_viewer.actor)
        assert shown_many == 10 * shown_few > 0, role
        assert len(few) == len(many), (role, few, many)
        selects = [s for s in many if s.lstrip().upper().startswith("SELECT")]
        # page, status counts, orders / organisations / users by id, latest comment,
        # comments + their attachments, quotes, activity
        assert len(selects) == 10, selects
