"""The order, quote and comment use cases in domain/orders/services, over the in-memory fakes."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.common.errors import (
    DomainError,
    FileTooLarge,
    FileTypeNotAllowed,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
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
    UpdateOrder,
)
from domain.orders.comments import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_COMMENT, CommentVisibility, Upload
from domain.orders.events import Audience, EventKind
from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderKind
from domain.orders.lines import Line
from domain.orders.quotes import QuoteStatus
from domain.orders.services import comments as comment_services
from domain.orders.services import orders as order_services
from domain.orders.services import quotes as quote_services
from tests.domain.world import (
    FOREIGN_PROVIDER,
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
)
from tests.services.conftest import S, Scene, pdf

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
