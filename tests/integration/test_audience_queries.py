"""Comments, quotes and activity on the read side (`SqlOrderQueries`): audiences, the domain as oracle, statements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.orders.queries import SqlOrderQueries
from domain.common.lists import PageRequest, SortDirection
from domain.identity.model import Actor
from domain.orders.comments import Attachment, Comment, CommentVisibility
from domain.orders.events import Audience, EventKind, OrderEvent
from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.order import Order
from domain.orders.queries import OrderFilter, OrderSort, OrderSortField, viewer_for
from domain.orders.quotes import Quote, QuoteStatus
from tests.integration._seed import (
    World,
    at,
    build_world,
    comment,
    draft,
    flat_fee,
    ids,
    numbers,
    quote_lines,
    released,
    save_new,
    uow_factory,
)

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
