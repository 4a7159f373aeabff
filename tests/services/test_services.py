"""Every use case in domain/services, over the in-memory fakes: visibility, versions, concurrency, rollback."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.common.errors import (
    DomainError,
    FileTooLarge,
    FileTypeNotAllowed,
    InvalidCredentials,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    VersionConflict,
)
from domain.common.ports import Policy
from domain.identity import services as identity_services
from domain.identity.model import Actor, OrgKind, Role, token_digest
from domain.orders.catalogue import Service
from domain.orders.commands import (
    AssignOrder,
    ChangeOrderStatus,
    CreateComment,
    CreateOrder,
    DecideQuote,
    DeclineQuote,
    OrderCommand,
    ReasonedOrderCommand,
    SubmitQuote,
    UpdateOrder,
)
from domain.orders.comments import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_COMMENT, CommentVisibility, Upload
from domain.orders.events import Audience, EventKind
from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.lines import Line
from domain.orders.order import Order
from domain.orders.quotes import QuoteStatus
from domain.orders.services import comments as comment_services
from domain.orders.services import orders as order_services
from domain.orders.services import quotes as quote_services
from tests.domain.paths import PATHS, STATE_IDS, state_at
from tests.domain.world import (
    FOREIGN_PROVIDER,
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PASSWORD,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
    World,
    make_world,
)
from tests.services.fakes import Fakes, FakeStore, FakeUnitOfWork, make_fakes

S = OrderStatus


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def fakes(world: World) -> Fakes:
    store = FakeStore()
    store.seed(world)
    return make_fakes(store, world.now)


class Scene:
    """The world and the fakes, with short-hands for driving the services as one user or another."""

    def __init__(self, world: World, fakes: Fakes) -> None:
        self.world, self.fakes = world, fakes
        self.ports, self.store, self.clock = fakes.ports, fakes.store, fakes.clock

    def actor(self, who: str) -> Actor:
        return self.world.actor(who)

    async def place(self, kind: OrderKind = OrderKind.QUOTED, **kwargs: Any) -> Order:
        if kind is OrderKind.FLAT_FEE:
            kwargs.setdefault("service_id", self.world.service.id)
        cmd = CreateOrder(kind=kind, name=kwargs.pop("name", "Spring campaign"), **kwargs)
        return await order_services.create_order(self.ports, self.actor(PARTNER), cmd)

    async def submitted(self, kind: OrderKind = OrderKind.QUOTED, **kwargs: Any) -> Order:
        order = await self.place(kind, **kwargs)
        return await order_services.submit_order(self.ports, self.actor(PARTNER), OrderCommand(order.id))

    async def quote(self, order_id: UUID, who: str, total: int = 1000, expires_in_days: int = 14) -> UUID:
        cmd = SubmitQuote(
            order_id,
            (Line("Work", Decimal(1), Decimal(total)),),
            expires_on=self.clock.now().date() + timedelta(days=expires_in_days),
            promised_completion=self.clock.now().date() + timedelta(days=30),
            message="Our offer",
        )
        _, quote = await quote_services.submit_quote(self.ports, self.actor(who), cmd)
        return quote.id

    async def approved(self) -> Order:
        """A flat-fee order the vendor approved."""
        order = await self.submitted(OrderKind.FLAT_FEE)
        return await order_services.approve_order(self.ports, self.actor(VENDOR), OrderCommand(order.id))

    async def working(self) -> Order:
        """An approved order its provider has moved to NOT_STARTED."""
        order = await self.approved()
        cmd = ChangeOrderStatus(order.id, S.NOT_STARTED)
        return await order_services.change_order_status(self.ports, self.actor(PROVIDER), cmd)


@pytest.fixture
def scene(world: World, fakes: Fakes) -> Scene:
    return Scene(world, fakes)


def pdf(data: bytes = b"%PDF-1.7 brief", name: str = "brief.pdf") -> Upload:
    return Upload(name, data, "application/pdf")


# ---- create_order --------------------------------------------------------------------------------------


async def test_placing_orders_numbers_them_per_programme_and_commits_the_creation_event(scene: Scene) -> None:
    # when the partner places two orders
    first = await scene.place()
    second = await scene.place(OrderKind.FLAT_FEE)
    # then they are stored as drafts, numbered 1 and 2, each with its creation event
    assert (first.number, second.number) == (1, 2)
    stored = scene.store.order(second.id)
    assert (stored.status, stored.kind, stored.version) == (S.DRAFT, OrderKind.FLAT_FEE, 1)
    assert stored.lines == (Line("Webinar in a box", Decimal(1), Decimal("2500.00")),)
    assert stored.provider_id == scene.world.org_id(PROVIDER)
    assert [(e.kind, e.order_id) for e in scene.store.events] == [
        (EventKind.ORDER_CREATED, first.id),
        (EventKind.ORDER_CREATED, second.id),
    ]
    assert scene.store.events[0].actor_user_id == scene.world.users[PARTNER].id
    assert second.events == []  # pulled by the commit


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("unknown service", "serviceId"),
        ("service of another programme", "serviceId"),
        ("unknown provider", "providerId"),
        ("a partner as provider", "providerId"),
        ("provider of another programme", "providerId"),
        ("unknown contact", "partnerContactId"),
        ("contact of another partner", "partnerContactId"),
    ],
)
async def test_placing_an_order_with_references_the_partner_cannot_use_is_not_found(
    scene: Scene, case: str, field: str
) -> None:
    world = scene.world
    foreign_service = Service(uuid4(), world.org_id(FOREIGN_PROVIDER), "Elsewhere", "X", Decimal(1))
    scene.store.services[foreign_service.id] = foreign_service
    cases: dict[str, dict[str, Any]] = {
        "unknown service": {"kind": OrderKind.FLAT_FEE, "service_id": uuid4()},
        "service of another programme": {"kind": OrderKind.FLAT_FEE, "service_id": foreign_service.id},
        "unknown provider": {"provider_id": uuid4()},
        "a partner as provider": {"provider_id": world.org_id(OTHER_PARTNER)},
        "provider of another programme": {"provider_id": world.org_id(FOREIGN_PROVIDER)},
        "unknown contact": {"partner_contact_id": uuid4()},
        "contact of another partner": {"partner_contact_id": world.users[OTHER_PARTNER].id},
    }
    kwargs = cases[case]
    before = scene.store.snapshot()
    with pytest.raises(NotFound) as refused:
        await scene.place(**kwargs)
    assert refused.value.field == field
    assert scene.store.snapshot() == before


@pytest.mark.parametrize("who", [VENDOR, PROVIDER])
async def test_only_partner_users_place_orders(scene: Scene, who: str) -> None:
    before = scene.store.snapshot()
    with pytest.raises(PermissionDenied):
        await order_services.create_order(scene.ports, scene.actor(who), CreateOrder(OrderKind.QUOTED, "X"))
    assert scene.store.snapshot() == before


async def test_a_partner_contact_of_the_partner_is_kept(scene: Scene) -> None:
    order = await scene.place(partner_contact_id=scene.world.users[PARTNER_2].id)
    assert scene.store.order(order.id).partner_contact_id == scene.world.users[PARTNER_2].id


# ---- the lifecycle through the services ---------------------------------------------------------------


async def test_a_quoted_order_from_draft_to_archived_through_the_services(scene: Scene) -> None:
    ports, store = scene.ports, scene.store
    order = await scene.submitted()
    mine = await scene.quote(order.id, PROVIDER, total=2000)
    await scene.quote(order.id, OTHER_PROVIDER, total=1500)
    await quote_services.accept_quote(ports, scene.actor(PARTNER), DecideQuote(mine))
    for status in (S.NOT_STARTED, S.IN_PROGRESS, S.WAITING_FOR_PARTNER, S.SCHEDULED, S.EXECUTING, S.COMPLETE):
        scene.clock.advance(hours=1)
        await order_services.change_order_status(ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, status))
    await order_services.archive_order(ports, scene.actor(PROVIDER), OrderCommand(order.id))
    stored = store.order(order.id)
    assert stored.status is S.ARCHIVED
    assert stored.version == 1 + 1 + 2 + 1 + 6 + 1  # one per committed command after creation
    assert [e.after.get("status") for e in store.events_of(order.id) if e.kind is EventKind.STATUS_CHANGED] == [
        "PENDING_QUOTES",
        "APPROVED",
        "NOT_STARTED",
        "IN_PROGRESS",
        "WAITING_FOR_PARTNER",
        "SCHEDULED",
        "EXECUTING",
        "COMPLETE",
        "ARCHIVED",
    ]
    assert {q.status for q in stored.quotes} == {QuoteStatus.ACCEPTED, QuoteStatus.CLOSED}


async def test_accepting_a_quote_over_the_programmes_threshold_waits_for_the_vendor(scene: Scene) -> None:
    order = await scene.submitted()
    quote_id = await scene.quote(order.id, PROVIDER, total=10_001)
    accepted, quote = await quote_services.accept_quote(scene.ports, scene.actor(PARTNER), DecideQuote(quote_id))
    assert (accepted.status, quote.status) == (S.PENDING_APPROVAL, QuoteStatus.ACCEPTED)
    approved = await order_services.approve_order(scene.ports, scene.actor(VENDOR), OrderCommand(order.id))
    assert scene.store.order(approved.id).status is S.APPROVED


async def test_an_open_quote_request_is_accepted_without_a_quote_by_nobody_through_the_service(scene: Scene) -> None:
    # given an open quote request (no provider named) the provider has quoted on
    order = await scene.submitted()
    await scene.quote(order.id, PROVIDER)
    before = scene.store.snapshot()
    # when either provider or the vendor accepts it without a quote, then each is refused as a transition
    for who, allowed in [(PROVIDER, ()), (PROVIDER_2, ()), (OTHER_PROVIDER, ()), (VENDOR, ("CANCELLED",))]:
        with pytest.raises(InvalidTransition) as refused:
            await order_services.approve_order(scene.ports, scene.actor(who), OrderCommand(order.id))
        assert (refused.value.current, refused.value.requested, refused.value.allowed) == (
            "PENDING_QUOTES",
            "APPROVED",
            allowed,
        ), who
    # and nothing was committed: the request is still open, with no provider and its quote still open
    assert scene.store.snapshot() == before
    stored = scene.store.order(order.id)
    assert (stored.status, stored.provider_id) == (S.PENDING_QUOTES, None)
    assert {q.status for q in stored.quotes} == {QuoteStatus.SUBMITTED}


@pytest.mark.parametrize("who", [PROVIDER, VENDOR])
async def test_an_addressed_quote_request_is_accepted_without_a_quote_through_the_service(
    scene: Scene, who: str
) -> None:
    # given a quote request addressed to the provider, which has quoted on it
    order = await scene.submitted(provider_id=scene.world.org_id(PROVIDER))
    await scene.quote(order.id, PROVIDER)
    # the other provider does not even learn it exists
    before = scene.store.snapshot()
    with pytest.raises(NotFound):
        await order_services.approve_order(scene.ports, scene.actor(OTHER_PROVIDER), OrderCommand(order.id))
    assert scene.store.snapshot() == before
    # when `who` accepts it without a quote
    scene.clock.advance(hours=1)
    await order_services.approve_order(scene.ports, scene.actor(who), OrderCommand(order.id))
    # then it is approved, released to its provider now, its quote closed, and the move committed once
    stored = scene.store.order(order.id)
    now = scene.clock.now()
    assert (stored.status, stored.provider_id) == (S.APPROVED, scene.world.org_id(PROVIDER))
    assert stored.released_to_provider_at == now
    assert [(q.status, q.decided_at) for q in stored.quotes] == [(QuoteStatus.CLOSED, now)]
    last = scene.store.events_of(order.id)[-1]
    assert (last.kind, last.after) == (
        EventKind.STATUS_CHANGED,
        {"status": "APPROVED", "action": "ACCEPT_WITHOUT_QUOTE"},
    )
    assert last.actor_user_id == scene.world.users[who].id
    # and the provider now works it
    cmd = ChangeOrderStatus(order.id, S.NOT_STARTED)
    await order_services.change_order_status(scene.ports, scene.actor(PROVIDER), cmd)
    assert scene.store.order(order.id).status is S.NOT_STARTED


async def test_a_rejected_flat_fee_order_is_cancelled_and_marked_rejected(scene: Scene) -> None:
    order = await scene.submitted(OrderKind.FLAT_FEE)
    cmd = ReasonedOrderCommand(order.id, "Over budget")
    await order_services.reject_order(scene.ports, scene.actor(VENDOR), cmd)
    stored = scene.store.order(order.id)
    assert (stored.status, stored.rejected, stored.cancel_reason) == (S.CANCELLED, True, "Over budget")


async def test_rejecting_and_declining_quotes_keep_the_request_open(scene: Scene) -> None:
    order = await scene.submitted()
    quote_id = await scene.quote(order.id, PROVIDER)
    _, rejected = await quote_services.reject_quote(
        scene.ports, scene.actor(PARTNER), DecideQuote(quote_id, reason="Too dear")
    )
    _, declined = await quote_services.decline_quote(
        scene.ports, scene.actor(OTHER_PROVIDER), DeclineQuote(order.id, "Booked")
    )
    stored = scene.store.order(order.id)
    assert stored.status is S.PENDING_QUOTES
    assert {q.id: q.status for q in stored.quotes} == {
        rejected.id: QuoteStatus.REJECTED,
        declined.id: QuoteStatus.DECLINED,
    }


async def test_deciding_on_an_unknown_quote_is_not_found(scene: Scene) -> None:
    with pytest.raises(NotFound, match=r"^Quote not found"):
        await quote_services.accept_quote(scene.ports, scene.actor(PARTNER), DecideQuote(uuid4()))
    with pytest.raises(NotFound, match=r"^Quote not found"):
        await quote_services.reject_quote(scene.ports, scene.actor(PARTNER), DecideQuote(uuid4()))


async def test_an_expired_quote_cannot_be_accepted_through_the_service(scene: Scene) -> None:
    order = await scene.submitted()
    quote_id = await scene.quote(order.id, PROVIDER, expires_in_days=2)
    scene.clock.advance(days=3)
    before = scene.store.snapshot()
    with pytest.raises(DomainError) as refused:
        await quote_services.accept_quote(scene.ports, scene.actor(PARTNER), DecideQuote(quote_id))
    assert refused.value.code.value == "QUOTE_EXPIRED"
    assert scene.store.snapshot() == before


async def test_an_illegal_move_through_the_service_changes_nothing(scene: Scene) -> None:
    order = await scene.approved()
    before = scene.store.snapshot()
    with pytest.raises(InvalidTransition) as refused:
        await order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.COMPLETE)
        )
    assert (refused.value.current, refused.value.requested, refused.value.allowed) == (
        "APPROVED",
        "COMPLETE",
        ("CANCELLED", "NOT_STARTED"),
    )
    assert scene.store.snapshot() == before


# ---- update_order and assign_order ---------------------------------------------------------------------


async def test_updating_fields_under_the_policy(scene: Scene) -> None:
    order = await scene.approved()
    world = scene.world
    changes = {"provider_notes": "Private", "owner_id": world.users[PROVIDER_2].id, "priority": Priority.HIGH}
    updated = await order_services.update_order(
        scene.ports, scene.actor(PROVIDER), UpdateOrder(order.id, changes, expected_version=order.version)
    )
    stored = scene.store.order(order.id)
    assert (stored.provider_notes, stored.owner_id, stored.priority) == (
        "Private",
        world.users[PROVIDER_2].id,
        Priority.HIGH,
    )
    assert stored.version == updated.version == order.version + 1
    # one event for the provider with every field, one for the buyer side without the notes
    provider_side, buyer_side = scene.fakes.store.events_of(order.id)[-2:]
    assert provider_side.after == {
        "provider_notes": "Private",
        "owner_id": str(world.users[PROVIDER_2].id),
        "priority": "HIGH",
    }
    assert provider_side.audience == Audience(org_id=world.org_id(PROVIDER))
    assert buyer_side.after == {"owner_id": str(world.users[PROVIDER_2].id), "priority": "HIGH"}
    assert buyer_side.audience == Audience(org_id=order.partner_id, buyer_side=True)


@pytest.mark.parametrize(
    ("who", "changes", "field"),
    [
        (PROVIDER, {"owner_id": "partner"}, "owner_id"),
        (PROVIDER, {"owner_id": "inactive_provider"}, "owner_id"),
        (PARTNER, {"partner_contact_id": "provider"}, "partner_contact_id"),
        (PARTNER, {"partner_contact_id": "other_partner"}, "partner_contact_id"),
    ],
)
async def test_user_references_in_an_update_must_be_active_users_of_the_right_side(
    scene: Scene, who: str, changes: dict[str, str], field: str
) -> None:
    order = await scene.approved()
    resolved = {name: scene.world.users[user].id for name, user in changes.items()}
    before = scene.store.snapshot()
    with pytest.raises(InvalidInput) as refused:
        await order_services.update_order(scene.ports, scene.actor(who), UpdateOrder(order.id, resolved))
    assert refused.value.field == field
    assert scene.store.snapshot() == before


async def test_an_update_failing_half_way_rolls_back_everything(scene: Scene) -> None:
    # given a submitted order (its lines can no longer change)
    order = await scene.submitted()
    before = scene.store.snapshot()
    # when one command renames it (allowed) and replaces its lines (refused)
    cmd = UpdateOrder(order.id, {"name": "Renamed"}, lines=(Line("x", Decimal(1), Decimal(1)),))
    with pytest.raises(PermissionDenied):
        await order_services.update_order(scene.ports, scene.actor(PARTNER), cmd)
    # then neither change nor any event was committed
    assert scene.store.snapshot() == before


async def test_draft_lines_through_update_order(scene: Scene) -> None:
    order = await scene.place()
    cmd = UpdateOrder(order.id, {}, lines=(Line("x", Decimal(2), Decimal(5)),))
    await order_services.update_order(scene.ports, scene.actor(PARTNER), cmd)
    assert scene.store.order(order.id).total == Decimal(10)


async def test_assigning_an_order(scene: Scene) -> None:
    order = await scene.approved()
    assignee = scene.world.users[PROVIDER_2].id
    await order_services.assign_order(scene.ports, scene.actor(PROVIDER), AssignOrder(order.id, assignee))
    assert scene.store.order(order.id).assignee_id == assignee
    assert scene.store.events[-1].kind is EventKind.ASSIGNED
    before = scene.store.snapshot()
    for assignee_id in (uuid4(), scene.world.users[PARTNER].id):
        with pytest.raises(InvalidInput):
            await order_services.assign_order(scene.ports, scene.actor(PROVIDER), AssignOrder(order.id, assignee_id))
    assert scene.store.snapshot() == before
    await order_services.assign_order(scene.ports, scene.actor(PROVIDER), AssignOrder(order.id, None))
    assert scene.store.order(order.id).assignee_id is None


# ---- not visible: not found ------------------------------------------------------------------------------

Call = Callable[[Scene, Actor, Order], Awaitable[object]]

ORDER_CALLS: dict[str, Call] = {
    "update": lambda s, a, o: order_services.update_order(s.ports, a, UpdateOrder(o.id, {"priority": Priority.LOW})),
    "submit": lambda s, a, o: order_services.submit_order(s.ports, a, OrderCommand(o.id)),
    "approve": lambda s, a, o: order_services.approve_order(s.ports, a, OrderCommand(o.id)),
    "reject": lambda s, a, o: order_services.reject_order(s.ports, a, ReasonedOrderCommand(o.id, "no")),
    "change_status": lambda s, a, o: order_services.change_order_status(
        s.ports, a, ChangeOrderStatus(o.id, S.NOT_STARTED)
    ),
    "cancel": lambda s, a, o: order_services.cancel_order(s.ports, a, ReasonedOrderCommand(o.id, "no")),
    "archive": lambda s, a, o: order_services.archive_order(s.ports, a, OrderCommand(o.id)),
    "assign": lambda s, a, o: order_services.assign_order(s.ports, a, AssignOrder(o.id, a.user_id)),
    "submit_quote": lambda s, a, o: quote_services.submit_quote(
        s.ports, a, SubmitQuote(o.id, (Line("x", Decimal(1), Decimal(1)),))
    ),
    "decline_quote": lambda s, a, o: quote_services.decline_quote(s.ports, a, DeclineQuote(o.id)),
    "create_comment": lambda s, a, o: comment_services.create_comment(
        s.ports, a, CreateComment(o.id, "Hello", uploads=(pdf(),))
    ),
}


@pytest.mark.parametrize("ids", STATE_IDS, ids=lambda ids: f"path{ids[0]}-step{ids[1]}")
async def test_an_actor_who_cannot_see_the_order_gets_not_found_from_every_service(
    scene: Scene, ids: tuple[int, int]
) -> None:
    # given an order part-way along a lifecycle path, stored
    state = state_at(PATHS[ids[0]], ids[1])
    store = FakeStore()
    store.seed(state.world)
    fakes = make_fakes(store, state.world.now)
    here = Scene(state.world, fakes)
    order = store.put_order(state.order)
    blind = [who for who, party in state.roles.items() if party is None]
    assert blind, "every state has someone who cannot see the order"
    before = store.snapshot()
    # when anyone who cannot see it calls any service on it (with any expected version)
    for who in blind:
        actor = state.world.actor(who)
        for name, service in ORDER_CALLS.items():
            with pytest.raises(NotFound) as refused:
                await service(here, actor, order)
            assert refused.value.message == "Order not found.", (who, name)
        for quote in order.quotes:
            for decide in (quote_services.accept_quote, quote_services.reject_quote):
                with pytest.raises(NotFound, match=r"^Quote not found"):
                    await decide(here.ports, actor, DecideQuote(quote.id, expected_version=order.version + 7))
        with pytest.raises(NotFound):  # not VersionConflict: a stale version must not reveal the order
            await order_services.cancel_order(
                here.ports, actor, ReasonedOrderCommand(order.id, "x", expected_version=order.version + 7)
            )
    # then nothing at all changed, and no file was stored
    assert store.snapshot() == before
    assert fakes.blobs.puts == 0


async def test_an_unknown_order_is_not_found(scene: Scene) -> None:
    ghost = Order(
        uuid4(), scene.world.programme.id, 1, OrderKind.QUOTED, S.DRAFT, "x", uuid4(), uuid4(), scene.world.now
    )
    for service in ORDER_CALLS.values():
        with pytest.raises(NotFound):
            await service(scene, scene.actor(VENDOR), ghost)


# ---- expected version --------------------------------------------------------------------------------------

Command = Callable[[World, UUID, int], Any]
VERSIONED: dict[str, tuple[str, Command, Callable[..., Awaitable[object]]]] = {
    "update": (
        PROVIDER,
        lambda w, o, v: UpdateOrder(o, {"provider_notes": "n"}, expected_version=v),
        order_services.update_order,
    ),
    "change_status": (
        PROVIDER,
        lambda w, o, v: ChangeOrderStatus(o, S.IN_PROGRESS, v),
        order_services.change_order_status,
    ),
    "cancel": (PARTNER, lambda w, o, v: ReasonedOrderCommand(o, "Stop", v), order_services.cancel_order),
    "assign": (PROVIDER, lambda w, o, v: AssignOrder(o, w.users[PROVIDER_2].id, v), order_services.assign_order),
}


@pytest.mark.parametrize("name", VERSIONED)
async def test_an_expected_version_that_is_not_the_current_one_is_a_conflict(scene: Scene, name: str) -> None:
    # given an order at some version
    order = await scene.working()
    who, command, service = VERSIONED[name]
    before = scene.store.snapshot()
    # when a command names an older (or a future) version, then it conflicts and changes nothing
    for stale in (order.version - 1, order.version + 1):
        with pytest.raises(VersionConflict) as conflict:
            await service(scene.ports, scene.actor(who), command(scene.world, order.id, stale))
        assert (conflict.value.expected, conflict.value.current) == (stale, order.version)
        assert conflict.value.field == "expectedVersion"
    assert scene.store.snapshot() == before
    # and with the current version it goes through
    await service(scene.ports, scene.actor(who), command(scene.world, order.id, order.version))
    assert scene.store.order(order.id).version == order.version + 1


async def test_expected_versions_on_the_other_lifecycle_services(scene: Scene) -> None:
    ports = scene.ports
    draft = await scene.place(OrderKind.FLAT_FEE)
    with pytest.raises(VersionConflict):
        await order_services.submit_order(ports, scene.actor(PARTNER), OrderCommand(draft.id, draft.version + 1))
    pending = await order_services.submit_order(ports, scene.actor(PARTNER), OrderCommand(draft.id, draft.version))
    with pytest.raises(VersionConflict):
        await order_services.approve_order(ports, scene.actor(VENDOR), OrderCommand(pending.id, 1))
    with pytest.raises(VersionConflict):
        await order_services.reject_order(ports, scene.actor(VENDOR), ReasonedOrderCommand(pending.id, "", 1))
    rejected = await order_services.reject_order(
        ports, scene.actor(VENDOR), ReasonedOrderCommand(pending.id, "", pending.version)
    )
    with pytest.raises(VersionConflict):
        await order_services.archive_order(ports, scene.actor(VENDOR), OrderCommand(rejected.id, pending.version))
    request = await scene.submitted()
    quote_id = await scene.quote(request.id, PROVIDER)
    stale = request.version  # the quote moved the order on
    for decide in (quote_services.accept_quote, quote_services.reject_quote):
        with pytest.raises(VersionConflict):
            await decide(ports, scene.actor(PARTNER), DecideQuote(quote_id, expected_version=stale))
    await quote_services.accept_quote(ports, scene.actor(PARTNER), DecideQuote(quote_id, expected_version=stale + 1))


# ---- concurrency ---------------------------------------------------------------------------------------------


async def test_two_concurrent_changes_one_wins_the_other_conflicts_and_changes_nothing(scene: Scene) -> None:
    # given an order both provider users loaded at the same version
    order = await scene.working()
    events_before = len(scene.store.events)
    # when both change its status at once
    results = await asyncio.gather(
        order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
        ),
        order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER_2), ChangeOrderStatus(order.id, S.SCHEDULED)
        ),
        return_exceptions=True,
    )
    # then exactly one wins; the other is told the order changed under it
    winners = [r for r in results if isinstance(r, Order)]
    losers = [r for r in results if isinstance(r, VersionConflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert (losers[0].expected, losers[0].current) == (order.version, order.version + 1)
    # and the store holds the winner's change and only the winner's event
    stored = scene.store.order(order.id)
    assert stored.status is winners[0].status
    assert stored.version == order.version + 1
    new_events = scene.store.events[events_before:]
    assert [(e.kind, e.after["status"]) for e in new_events] == [(EventKind.STATUS_CHANGED, stored.status.value)]


async def test_a_cancel_racing_a_status_change_cannot_both_happen(scene: Scene) -> None:
    order = await scene.working()
    results = await asyncio.gather(
        order_services.cancel_order(scene.ports, scene.actor(PARTNER), ReasonedOrderCommand(order.id, "Stop")),
        order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
        ),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Order", "VersionConflict"]
    assert scene.store.order(order.id).status in (S.CANCELLED, S.IN_PROGRESS)


async def test_two_providers_quoting_at_once_one_has_to_retry(scene: Scene) -> None:
    # Quotes live inside the order aggregate, so two quotes at once conflict like any two changes.
    order = await scene.submitted()
    results = await asyncio.gather(
        scene.quote(order.id, PROVIDER), scene.quote(order.id, OTHER_PROVIDER), return_exceptions=True
    )
    assert sum(isinstance(r, VersionConflict) for r in results) == 1
    assert len(scene.store.order(order.id).quotes) == 1
    loser = PROVIDER if isinstance(results[0], VersionConflict) else OTHER_PROVIDER
    await scene.quote(order.id, loser)  # the retry goes through
    assert len(scene.store.order(order.id).quotes) == 2


async def test_a_save_overtaken_before_its_commit_conflicts_at_commit(scene: Scene) -> None:
    # given two units of work that loaded the same order
    order = await scene.working()
    first, second = FakeUnitOfWork(scene.store), FakeUnitOfWork(scene.store)
    async with first, second:
        a = await first.orders.get(order.id)
        b = await second.orders.get(order.id)
        assert a is not None and b is not None
        a.change_status(scene.actor(PROVIDER), scene.clock.now(), S.IN_PROGRESS)
        b.change_status(scene.actor(PROVIDER_2), scene.clock.now(), S.EXECUTING)
        # when the first saves, the second saves and commits, and only then the first commits
        await first.orders.save(a)
        await second.orders.save(b)
        await second.commit()
        # then the first is refused
        with pytest.raises(VersionConflict):
            await first.commit()
    assert scene.store.order(order.id).status is S.EXECUTING


# ---- units of work: isolation and rollback -----------------------------------------------------------------


async def test_uncommitted_changes_are_invisible_to_other_units_of_work(scene: Scene) -> None:
    order = await scene.working()
    async with FakeUnitOfWork(scene.store) as uow:
        mine = await uow.orders.get(order.id)
        assert mine is not None
        assert await uow.orders.get(order.id) is mine  # identity map
        mine.change_status(scene.actor(PROVIDER), scene.clock.now(), S.IN_PROGRESS)
        await uow.orders.save(mine)
        async with FakeUnitOfWork(scene.store) as other:
            theirs = await other.orders.get(order.id)
            assert theirs is not None and theirs.status is S.NOT_STARTED
        # leaving without commit rolls back
    assert scene.store.order(order.id).status is S.NOT_STARTED


async def test_a_failing_commit_leaves_nothing_behind(scene: Scene) -> None:
    order = await scene.working()
    before = scene.store.snapshot()
    scene.store.fail_next_commit = ConnectionError("database went away")
    with pytest.raises(ConnectionError):
        await order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
        )
    assert scene.store.snapshot() == before
    # and the next attempt starts from the committed state
    await order_services.change_order_status(
        scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
    )
    assert scene.store.order(order.id).version == order.version + 1


async def test_the_fake_refuses_orders_changed_but_not_saved_and_saves_of_strangers(scene: Scene) -> None:
    order = await scene.working()
    async with FakeUnitOfWork(scene.store) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.change_status(scene.actor(PROVIDER), scene.clock.now(), S.IN_PROGRESS)
        with pytest.raises(RuntimeError, match="changed but not saved"):
            await uow.commit()
        with pytest.raises(ValueError, match="loaded or added"):
            await uow.orders.save(scene.store.order(order.id))
    assert scene.store.order(order.id).status is S.NOT_STARTED


# ---- create_comment ---------------------------------------------------------------------------------------


async def test_a_comment_with_files_stores_each_content_once(scene: Scene) -> None:
    order = await scene.approved()
    same = b"%PDF-1.7 contract"
    uploads = (pdf(same, "a.pdf"), pdf(same, "b.pdf"), pdf(b"%PDF-1.7 other", "../c.pdf"))
    cmd = CreateComment(order.id, "See attached", CommentVisibility.INTERNAL, uploads)
    comment = await comment_services.create_comment(scene.ports, scene.actor(PROVIDER), cmd)
    stored = scene.store.comments[comment.id]
    assert [a.filename for a in stored.attachments] == ["a.pdf", "b.pdf", "c.pdf"]
    assert [a.sha256 for a in stored.attachments] == [hashlib.sha256(u.data).hexdigest() for u in uploads]
    assert len(scene.fakes.blobs.blobs) == 2
    assert await scene.fakes.blobs.get(stored.attachments[0].sha256) == same
    [event] = [e for e in scene.store.events if e.kind is EventKind.COMMENT_ADDED]
    assert event.audience == Audience(org_id=scene.world.org_id(PROVIDER))
    assert event.after["attachments"] == 3


async def test_uploads_typed_by_the_sniffer_pass_or_fail_on_content(scene: Scene) -> None:
    # the edge builds uploads with the sniffer's verdict on the bytes (resolvers/comment_create.py)
    order = await scene.approved()
    sniffer = scene.fakes.sniffer
    sniffer.by_content = {b"<script>": "text/html", b"%PDF": "application/pdf"}
    ok = Upload("x.txt", b"%PDF", sniffer.detect(b"%PDF"))
    bad = Upload("x.pdf", b"<script>", sniffer.detect(b"<script>"))
    await comment_services.create_comment(scene.ports, scene.actor(PARTNER), CreateComment(order.id, "", uploads=(ok,)))
    with pytest.raises(FileTypeNotAllowed):
        await comment_services.create_comment(
            scene.ports, scene.actor(PARTNER), CreateComment(order.id, "", uploads=(bad,))
        )


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (Upload("big.pdf", b"x" * (MAX_ATTACHMENT_BYTES + 1), "application/pdf"), FileTooLarge),
        (Upload("page.html", b"<html>", "text/html"), FileTypeNotAllowed),
        (Upload("mystery.bin", b"\x00\x01", None), FileTypeNotAllowed),
    ],
)
@pytest.mark.parametrize("position", [0, 1, 2])
async def test_a_bad_upload_refuses_the_comment_before_anything_is_stored(
    scene: Scene, bad: Upload, error: type[Exception], position: int
) -> None:
    order = await scene.approved()
    uploads = [pdf(b"%PDF one"), pdf(b"%PDF two")]
    uploads.insert(position, bad)
    before = scene.store.snapshot()
    with pytest.raises(error):
        await comment_services.create_comment(
            scene.ports, scene.actor(PARTNER), CreateComment(order.id, "Files", uploads=tuple(uploads))
        )
    assert scene.fakes.blobs.puts == 0
    assert scene.store.snapshot() == before


async def test_a_comment_refused_by_the_domain_commits_nothing(scene: Scene) -> None:
    order = await scene.approved()
    before = scene.store.snapshot()
    too_many = tuple(pdf(f"%PDF {i}".encode()) for i in range(MAX_ATTACHMENTS_PER_COMMENT + 1))
    with pytest.raises(InvalidInput):
        await comment_services.create_comment(
            scene.ports, scene.actor(PARTNER), CreateComment(order.id, "", uploads=too_many)
        )
    with pytest.raises(InvalidInput):
        await comment_services.create_comment(scene.ports, scene.actor(PARTNER), CreateComment(order.id, "  "))
    assert scene.store.snapshot() == before


# ---- tokens ---------------------------------------------------------------------------------------------------


async def test_a_token_for_the_right_password(scene: Scene) -> None:
    secret, token, user = await identity_services.create_token(scene.ports, "  Partner@Example.TEST ", PASSWORD)
    assert user.id == scene.world.users[PARTNER].id
    assert token.digest == token_digest(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.created_at, token.expires_at) == (scene.clock.now(), scene.clock.now() + timedelta(days=7))
    assert scene.store.tokens[token.digest] == token
    assert secret not in repr(scene.store.tokens)  # only the digest is kept
    async with scene.ports.uow() as uow:
        actor = await identity_services.actor_for_token(uow.directory, secret, scene.clock)
    assert actor == Actor(user.id, scene.world.org_id(PARTNER), OrgKind.PARTNER, Role.ADMIN, scene.world.programme.id)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("partner@example.test", "wrong"),
        ("partner@example.test", ""),
        ("nobody@example.test", PASSWORD),
        ("inactive_provider@example.test", PASSWORD),
    ],
)
async def test_wrong_credentials_are_refused_the_same_way(scene: Scene, email: str, password: str) -> None:
    before = scene.store.snapshot()
    with pytest.raises(InvalidCredentials) as refused:
        await identity_services.create_token(scene.ports, email, password)
    assert (refused.value.message, refused.value.field) == ("Email or password is wrong.", "password")
    # a password is checked whether or not the user exists, so both failures take as long
    assert scene.fakes.passwords.verifications == 1
    assert scene.store.snapshot() == before


async def test_a_token_works_until_it_expires(world: World) -> None:
    store = FakeStore()
    store.seed(world)
    fakes = make_fakes(store, world.now, policy=Policy(token_ttl=timedelta(hours=1)))
    secret, token, _ = await identity_services.create_token(fakes.ports, "provider@example.test", PASSWORD)
    assert token.expires_at == world.now + timedelta(hours=1)
    fakes.clock.advance(minutes=59, seconds=59)
    async with fakes.ports.uow() as uow:
        assert (await identity_services.actor_for_token(uow.directory, secret, fakes.clock)).kind is OrgKind.PROVIDER
    fakes.clock.advance(seconds=1)
    async with fakes.ports.uow() as uow:
        with pytest.raises(Unauthenticated, match="expired"):
            await identity_services.actor_for_token(uow.directory, secret, fakes.clock)


async def test_a_revoked_token_no_longer_works_and_revoking_is_idempotent(scene: Scene) -> None:
    secret, token, _ = await identity_services.create_token(scene.ports, "vendor@example.test", PASSWORD)
    revoked_at = scene.clock.advance(minutes=5)
    await identity_services.revoke_token(scene.ports, secret)
    assert scene.store.tokens[token.digest].revoked_at == revoked_at
    scene.clock.advance(minutes=5)
    await identity_services.revoke_token(scene.ports, secret)  # again: no change
    await identity_services.revoke_token(scene.ports, "never-issued")  # unknown: no error
    assert scene.store.tokens[token.digest].revoked_at == revoked_at
    async with scene.ports.uow() as uow:
        with pytest.raises(Unauthenticated):
            await identity_services.actor_for_token(uow.directory, secret, scene.clock)


async def test_a_token_of_a_deactivated_user_or_an_unknown_token_does_not_authenticate(scene: Scene) -> None:
    secret, _, user = await identity_services.create_token(scene.ports, "partner_2@example.test", PASSWORD)
    async with scene.ports.uow() as uow:
        with pytest.raises(Unauthenticated):
            await identity_services.actor_for_token(uow.directory, "made-up", scene.clock)
    scene.store.users[user.id].active = False
    async with scene.ports.uow() as uow:
        with pytest.raises(Unauthenticated, match="no longer active"):
            await identity_services.actor_for_token(uow.directory, secret, scene.clock)


async def test_each_token_is_new(scene: Scene) -> None:
    first, _, _ = await identity_services.create_token(scene.ports, "partner@example.test", PASSWORD)
    second, _, _ = await identity_services.create_token(scene.ports, "partner@example.test", PASSWORD)
    assert first != second and len(scene.store.tokens) == 2
