"""The number of SQL statements of a Manage Orders (or directory) request does not grow with its size."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import pytest

from domain.identity.model import Organisation, OrgKind
from domain.orders.commands import AssignOrder, CreateComment, CreateOrder, OrderCommand
from domain.orders.lifecycle import OrderKind
from domain.orders.services.comments import create_comment
from domain.orders.services.orders import approve_order, assign_order, create_order, submit_order
from tests.api.conftest import Api, counting
from tests.api.world import World

MANAGE_ORDERS = """
query($first: Int!) {
  orders(first: $first, sortBy: {field: SUBMITTED_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id number name campaignName status submittedAt lastActivityAt estimatedCompletion
        partner { id name }
        provider { id name }
        partnerContact { name email }
        assignee { id name }
        latestComment { body createdAt author { name } }
      }
    }
  }
}"""


async def seed_worked_orders(api: Api, world: World, count: int) -> None:
    """Flat-fee orders, approved, assigned, each with a comment: every relation of the view is filled."""
    ports = api.runtime.ports
    partner, vendor, provider = (world[k].user for k in ("partner", "vendor", "provider"))
    actors = {key: await api.runtime.authenticate(world[key].token) for key in ("partner", "vendor", "provider")}
    assert all(actor for actor, _ in actors.values()), (partner, vendor, provider)
    as_partner, as_vendor, as_provider = (actors[k][0] for k in ("partner", "vendor", "provider"))
    assert as_partner and as_vendor and as_provider
    for index in range(count):
        order = await create_order(
            ports,
            as_partner,
            CreateOrder(kind=OrderKind.FLAT_FEE, name=f"Webinar {index}", service_id=world.services["webinar"].id),
        )
        await submit_order(ports, as_partner, OrderCommand(order.id))
        await approve_order(ports, as_vendor, OrderCommand(order.id))
        await assign_order(ports, as_provider, AssignOrder(order.id, world["provider_colleague"].user.id))
        await create_comment(ports, as_provider, CreateComment(order.id, f"Started on {index}"))


async def test_manage_orders_runs_the_same_sql_for_10_and_100_orders(api: Api) -> None:
    # given 100 orders with partner, provider, assignee and a latest comment each
    await seed_worked_orders(api, api.world, 100)
    token = api.world["provider"].token
    counts = {}
    for size in (10, 100):
        # when the provider's Manage Orders asks for a page of that size
        with counting(api.runtime) as statements:
            data = await api.client(MANAGE_ORDERS, {"first": size}, token=token)
        edges = data["orders"]["edges"]
        assert len(edges) == size
        assert all(e["node"]["assignee"] and e["node"]["latestComment"] and e["node"]["provider"] for e in edges)
        counts[size] = len(statements)
        last = list(statements)
    # then the statement count does not depend on the page size
    assert counts[10] == counts[100], counts
    # the token and the page (with its relations read in the same statement), and a SQLite BEGIN at most
    assert counts[100] <= 4, last


DIRECTORY = """
{
  organisations(first: 200) { id name kind }
  users(first: 200) { id name email role organisation { id name kind } }
}"""


async def test_the_directory_runs_the_same_sql_for_10_and_100_more_users(api: Api) -> None:
    token = api.world["vendor"].token
    counts = {}
    added = 0
    for more in (10, 100):
        # given that many more users, each of a new partner organisation
        async with api.runtime.ports.uow() as uow:
            for index in range(added, more):
                org = Organisation(uuid4(), api.world.programme.id, OrgKind.PARTNER, f"Reseller {index:03}")
                await uow.directory.add_organisation(org)
                template = api.world["partner"].user
                await uow.directory.add_user(
                    replace(template, id=uuid4(), organisation_id=org.id, email=f"reseller{index}@example.com")
                )
            await uow.commit()
        added = more
        # when the vendor lists the organisations and the users with their organisations
        with counting(api.runtime) as statements:
            data = await api.client(DIRECTORY, token=token)
        assert len(data["users"]) == len(api.world.members) - 1 + more  # all but the outsider
        assert all(u["organisation"] for u in data["users"])
        counts[more] = len(statements)
    # then the statement count does not depend on how many there are
    assert counts[10] == counts[100], counts
    # the token, the organisations, the users and the users' organisations (each after a BEGIN on SQLite)
    assert counts[100] <= 8, counts


async def test_a_page_opens_no_transaction_on_postgresql(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    if api.runtime.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite every read runs in a transaction of its own, which costs no round trip")
    # given the orders of a worked programme, and every transaction asyncpg begins recorded
    await seed_worked_orders(api, api.world, 3)
    begun: list[str] = []
    start = asyncpg.transaction.Transaction.start

    async def recorded(self: asyncpg.transaction.Transaction) -> None:
        begun.append("BEGIN")
        await start(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", recorded)
    # when the vendor authenticates and reads Manage Orders (the token and the page: two statements)
    with counting(api.runtime) as statements:
        data = await api.client(MANAGE_ORDERS, {"first": 10}, token=api.world["vendor"].token)
    # then both ran in autocommit: no BEGIN and ROLLBACK around either
    assert len(data["orders"]["edges"]) == 3
    assert len(statements) == 2, statements
    assert begun == []
