"""SqlOrderRepository, SqlCommentRepository and SqlDirectory against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.db import session_factory
from adapters.identity import tables as identity_tables
from adapters.orders import mapping as order_mapping
from adapters.orders import tables as order_tables
from adapters.security import Argon2PasswordHasher, SystemClock
from adapters.uow import SqlUnitOfWork
from domain.common.errors import Duplicate, NotFound, VersionConflict
from domain.identity.model import AccessToken, Actor, Organisation, OrgKind, Programme, Role, User
from domain.orders.catalogue import Service
from domain.orders.comments import Attachment, CommentVisibility, Upload, new_comment
from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.lines import Line
from domain.orders.order import Order
from domain.orders.placing import new_order
from domain.orders.quotes import QuoteStatus

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


@dataclass
class World:
    programme: Programme
    vendor: Organisation
    partner: Organisation
    provider: Organisation
    partner_user: User
    provider_user: User
    vendor_user: User

    def actor(self, user: User, org: Organisation) -> Actor:
        return Actor(user.id, org.id, org.kind, user.role, self.programme.id)

    @property
    def buyer(self) -> Actor:
        return self.actor(self.partner_user, self.partner)

    @property
    def seller(self) -> Actor:
        return self.actor(self.provider_user, self.provider)

    @property
    def approver(self) -> Actor:
        return self.actor(self.vendor_user, self.vendor)


def _user(org: Organisation, email: str) -> User:
    return User(uuid4(), org.id, email, email.split("@")[0].title(), Role.MEMBER, "not-a-hash")


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    programme = Programme(uuid4(), "Marketplace", quote_approval_threshold=Decimal("5000.00"), currency="EUR")
    vendor = Organisation(uuid4(), programme.id, OrgKind.VENDOR, "Vendor")
    partner = Organisation(uuid4(), programme.id, OrgKind.PARTNER, "Partner")
    provider = Organisation(uuid4(), programme.id, OrgKind.PROVIDER, "Provider")
    w = World(
        programme,
        vendor,
        partner,
        provider,
        _user(partner, "pat@partner.example"),
        _user(provider, "pia@provider.example"),
        _user(vendor, "val@vendor.example"),
    )
    async with SqlUnitOfWork(sessions) as uow:
        await uow.directory.add_programme(programme)
        for org in (vendor, partner, provider):
            await uow.directory.add_organisation(org)
        for user in (w.partner_user, w.provider_user, w.vendor_user):
            await uow.directory.add_user(user)
        await uow.commit()
    return w


async def place_order(sessions: async_sessionmaker[AsyncSession], w: World, **kwargs: Any) -> Order:
    """A committed DRAFT quoted order, numbered by the repository."""
    async with SqlUnitOfWork(sessions) as uow:
        number = await uow.orders.next_number(w.programme.id)
        order = new_order(actor=w.buyer, now=NOW, number=number, kind=OrderKind.QUOTED, name="Spring push", **kwargs)
        await uow.orders.add(order)
        await uow.commit()
    return order


async def test_an_order_with_quotes_lines_dates_and_decimals_round_trips(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    # given a quoted order with exact decimals and dates, submitted and quoted on
    lines = [Line("Webinar", Decimal("1.5"), Decimal("1234.57")), Line("Emails", Decimal(3), Decimal("0.10"))]
    order = await place_order(
        sessions,
        world,
        campaign_name="Q2",
        activity_type="Webinar",
        end_customer="ACME",
        requested_completion=date(2026, 6, 30),
        lines=lines,
        po_number="PO-7",
    )
    later = NOW + timedelta(hours=1)
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.submit(world.buyer, later)
        loaded.submit_quote(
            world.seller,
            later,
            lines=[Line("Webinar", Decimal("2.5"), Decimal("999.99"))],
            expires_on=date(2026, 4, 1),
            promised_completion=date(2026, 5, 15),
            message="Happy to help",
        )
        await uow.orders.save(loaded)
        await uow.commit()

    # when it is read back in a fresh unit of work
    async with SqlUnitOfWork(sessions) as uow:
        again = await uow.orders.get(order.id)

    # then every field, line and quote is as written, decimals exact and datetimes UTC-aware
    assert again == loaded
    assert again is not None
    assert again.lines == tuple(lines)
    assert again.lines[0].unit_price == Decimal("1234.57")
    assert again.status is OrderStatus.PENDING_QUOTES
    assert again.version == 2
    assert again.submitted_at == later
    assert again.submitted_at.tzinfo is not None
    assert again.last_activity_at == later
    assert again.requested_completion == date(2026, 6, 30)
    [quote] = again.quotes
    assert quote.status is QuoteStatus.SUBMITTED
    assert quote.lines[0].unit_price == Decimal("999.99")
    assert (quote.expires_on, quote.promised_completion) == (date(2026, 4, 1), date(2026, 5, 15))
    async with sessions() as session:
        totals = (
            await session.execute(
                select(order_tables.orders.c.total, order_tables.quotes.c.total).join(order_tables.quotes)
            )
        ).one()
    # 1.5 x 1234.57 = 1851.855 and 2.5 x 999.99 = 2499.975: line totals round half-up to the cent
    assert totals == (Decimal("1852.16"), Decimal("2499.98"))
    assert (again.total, quote.total) == totals


async def test_saving_quote_changes_updates_their_rows(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    order = await place_order(sessions, world)
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.submit(world.buyer, NOW)
        quote = loaded.submit_quote(
            world.seller, NOW, lines=[Line("Work", Decimal(1), Decimal(100))], expires_on=None,
            promised_completion=date(2026, 4, 2), message="",
        )  # fmt: skip
        await uow.orders.save(loaded)
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        assert await uow.orders.order_id_of_quote(quote.id) == order.id
        assert await uow.orders.order_id_of_quote(uuid4()) is None
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.accept_quote(world.buyer, NOW, quote.id, approval_threshold=None)
        await uow.orders.save(loaded)
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        again = await uow.orders.get(order.id)
    assert again is not None
    assert again.status is OrderStatus.APPROVED
    assert again.provider_id == world.provider.id
    assert again.estimated_completion == date(2026, 4, 2)
    assert [(q.status, q.decided_at) for q in again.quotes] == [(QuoteStatus.ACCEPTED, NOW)]


async def test_get_returns_one_object_per_order_and_none_for_unknown_ids(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    order = await place_order(sessions, world)
    async with SqlUnitOfWork(sessions) as uow:
        first = await uow.orders.get(order.id)
        assert first is not None
        assert await uow.orders.get(order.id) is first
        assert await uow.orders.get(uuid4()) is None


async def test_a_second_writer_gets_a_version_conflict_and_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    # given two units of work that loaded the same order at version 1
    order = await place_order(sessions, world)
    async with SqlUnitOfWork(sessions) as first, SqlUnitOfWork(sessions) as second:
        mine = await first.orders.get(order.id)
        theirs = await second.orders.get(order.id)
        assert mine is not None
        assert theirs is not None
        mine.update(world.buyer, NOW, {"name": "Mine"})
        theirs.update(world.buyer, NOW, {"name": "Theirs", "priority": Priority.HIGH})
        # when the first commits and the second saves
        await first.orders.save(mine)
        await first.commit()
        with pytest.raises(VersionConflict) as raised:
            await second.orders.save(theirs)
    # then the second is told which version it had and which one won
    assert (raised.value.expected, raised.value.current) == (1, 2)
    async with sessions() as session:
        row = (await session.execute(select(order_tables.orders).where(order_tables.orders.c.id == order.id))).one()
        activity = (await session.execute(select(func.count()).select_from(order_tables.order_activity))).scalar_one()
    assert (row.name, row.priority, row.version) == ("Mine", "NORMAL", 2)
    assert activity == 2  # created + the first update; nothing of the loser


async def test_saving_an_unchanged_order_is_a_no_op(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    order = await place_order(sessions, world)
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        await uow.orders.save(loaded)
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        again = await uow.orders.get(order.id)
    assert again is not None
    assert again.version == 1


async def test_save_refuses_an_order_this_unit_of_work_never_loaded(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    order = await place_order(sessions, world)
    async with SqlUnitOfWork(sessions) as uow:
        with pytest.raises(ValueError, match="loaded or added"):
            await uow.orders.save(order)


async def test_next_number_is_unique_under_concurrent_creates(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    orders = await asyncio.gather(*(place_order(sessions, world) for _ in range(20)))
    assert sorted(o.number for o in orders) == list(range(1, 21))
    async with sessions() as session:
        numbers = (await session.execute(select(order_tables.orders.c.number))).scalars().all()
        seq = (await session.execute(select(identity_tables.programmes.c.order_seq))).scalar_one()
    assert sorted(numbers) == list(range(1, 21))
    assert seq == 20


async def test_next_number_of_an_unknown_programme_is_not_found(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with SqlUnitOfWork(sessions) as uow:
        with pytest.raises(NotFound):
            await uow.orders.next_number(uuid4())


async def test_a_comment_and_its_attachments_are_stored(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    order = await place_order(sessions, world)
    upload = Upload("../../etc/brief.pdf", b"%PDF-1.4 brief", "application/pdf")
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        comment = new_comment(
            actor=world.buyer,
            order=loaded,
            now=NOW,
            body="See the brief",
            visibility=CommentVisibility.INTERNAL,
            files=[(upload, "ab" * 32)],
        )
        await uow.comments.add(comment)
        await uow.commit()
    async with sessions() as session:
        rows = (await session.execute(select(order_tables.attachments))).all()
        attachments: list[Attachment] = [order_mapping.attachment_from_row(r) for r in rows]
        row = (await session.execute(select(order_tables.comments))).one()
    stored = order_mapping.comment_from_row(row, attachments)
    assert stored.id == comment.id
    assert stored.audience == comment.audience
    assert stored.audience.org_id == world.partner.id
    assert stored.visibility is CommentVisibility.INTERNAL
    assert stored.attachments == comment.attachments
    assert stored.attachments[0].filename == "brief.pdf"


async def test_directory_round_trips(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    service = Service(uuid4(), world.provider.id, "Flat webinar", "Webinar", Decimal("250.00"))
    token = AccessToken("d" * 64, world.partner_user.id, NOW, NOW + timedelta(days=7))
    async with SqlUnitOfWork(sessions) as uow:
        await uow.catalogue.add_service(service)
        await uow.directory.add_token(token)
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        d = uow.directory
        assert await d.programme(world.programme.id) == world.programme
        assert await d.organisation(world.provider.id) == world.provider
        assert await d.user(world.partner_user.id) == world.partner_user
        assert await d.user_by_email("  PAT@Partner.example ") == world.partner_user
        assert await uow.catalogue.service(service.id) == service
        assert await d.token(token.digest) == token
        assert await d.programme(uuid4()) is None
        assert await d.organisation(uuid4()) is None
        assert await d.user(uuid4()) is None
        assert await d.user_by_email("nobody@example.com") is None
        assert await uow.catalogue.service(uuid4()) is None
        assert await d.token("0" * 64) is None
        assert await d.revoke_token(token.digest, NOW + timedelta(hours=1))
        assert not await d.revoke_token(token.digest, NOW + timedelta(hours=2))  # already revoked: unchanged
        assert not await d.revoke_token("0" * 64, NOW)  # unknown: no-op
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        revoked = await uow.directory.token(token.digest)
    assert revoked is not None
    assert revoked.revoked_at == NOW + timedelta(hours=1)
    assert not revoked.is_live(NOW + timedelta(hours=1))


async def test_emails_are_stored_normalised(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    user = _user(world.partner, "  Mixed.Case@Partner.Example ")
    async with SqlUnitOfWork(sessions) as uow:
        await uow.directory.add_user(user)
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        stored = await uow.directory.user(user.id)
    assert stored is not None
    assert stored.email == "mixed.case@partner.example"


async def test_a_taken_email_is_a_duplicate_in_any_case(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with SqlUnitOfWork(sessions) as uow:
        with pytest.raises(Duplicate) as raised:
            await uow.directory.add_user(_user(world.partner, "PAT@partner.example"))
        assert raised.value.field == "email"
        # the unit of work is still usable after the refusal
        await uow.directory.add_user(_user(world.partner, "pat2@partner.example"))
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        assert await uow.directory.user_by_email("pat2@partner.example") is not None


async def test_racing_sign_ups_with_one_email_give_one_user_and_one_duplicate(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    # given a first sign-up written but not yet committed
    async with SqlUnitOfWork(sessions) as first, SqlUnitOfWork(sessions) as second:
        await first.directory.add_user(_user(world.partner, "race@partner.example"))
        # when a second sign-up with that email starts, and then the first commits
        late = asyncio.create_task(second.directory.add_user(_user(world.partner, "race@partner.example")))
        await asyncio.sleep(0.2)
        await first.commit()
        # then the second is refused as a duplicate (PostgreSQL: from the unique index; SQLite: it waited)
        with pytest.raises(Duplicate):
            await late
    async with sessions() as session:
        count = (
            await session.execute(
                select(func.count())
                .select_from(identity_tables.users)
                .where(identity_tables.users.c.email == "race@partner.example")
            )
        ).scalar_one()
    assert count == 1


async def test_argon2_hashes_are_stored_and_verified(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    hasher = Argon2PasswordHasher.fast()
    user = _user(world.partner, "secure@partner.example")
    user.password_hash = hasher.hash("correct horse")
    async with SqlUnitOfWork(sessions) as uow:
        await uow.directory.add_user(user)
        await uow.commit()
    async with SqlUnitOfWork(sessions) as uow:
        stored = await uow.directory.user(user.id)
    assert stored is not None
    assert await hasher.verify(stored.password_hash, "correct horse")
    assert not await hasher.verify(stored.password_hash, "wrong")
    assert not await hasher.verify("not an argon2 hash", "correct horse")
    assert not await hasher.verify(None, "correct horse")  # no user: the same work, never a match
    assert hasher.needs_rehash(stored.password_hash) is False
    assert Argon2PasswordHasher().needs_rehash(stored.password_hash) is True


def test_the_system_clock_is_utc_aware() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
