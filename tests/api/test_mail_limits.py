"""Email is no spam relay: follow-ups go to the order's people (unless allowed), to few addresses, not too often."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.app import Runtime
from tests.api import flows
from tests.api.conftest import Api, GraphQLClient, app_for
from tests.api.test_notifications import LOG, RECIPIENTS, as_, deliver, flat_fee
from tests.api.world import World, build_world

SEND = """
mutation($input: OrderMessageSendInput!) {
  orderMessageSend(input: $input) {
    comment { body }
    userErrors {
      __typename field code message
      ... on RecipientNotAllowedError { address }
      ... on TooManyRecipientsError { limit }
      ... on SendRateLimitedError { retryAfter limit windowSeconds }
    }
  }
}"""
LINK_SEND = """
mutation($input: OrderLinkSendInput!) {
  orderLinkSend(input: $input) {
    expiresAt
    userErrors { __typename code ... on SendRateLimitedError { retryAfter limit windowSeconds } }
  }
}"""
COMMENTS = "query($id: ID!) { order(id: $id) { comments { body } } }"
COMMENT = """
mutation($input: CommentCreateInput!) { commentCreate(input: $input) { userErrors { code } } }"""


class MovableClock:
    """A clock the test moves (the API reads `ports.clock` on every request)."""

    def __init__(self) -> None:
        self.instant = datetime.now(UTC)

    def now(self) -> datetime:
        return self.instant


async def send(api: Api, member: str, order_id: str, to: list[str], body: str = "About your order") -> Any:
    """The payload of a follow-up by `member`."""
    input = {"orderId": order_id, "to": to, "subject": "Your order", "body": body}
    return (await as_(api, member, SEND, input=input))["orderMessageSend"]


async def bodies(api: Api, order_id: str) -> set[str]:
    """The bodies of the order's comments (shared ones: what both sides see)."""
    return {c["body"] for c in (await as_(api, "partner", COMMENTS, id=order_id))["order"]["comments"]}


@asynccontextmanager
async def api_with(
    engine: AsyncEngine, database_url: str, files: Path, world: World | None = None, **settings: str
) -> AsyncIterator[Api]:
    """The real app with these settings on the test database, a moving clock, and a world (new unless given)."""
    app = app_for(database_url, files, **settings)
    runtime: Runtime = app.state.runtime
    runtime.ports = dataclasses.replace(runtime.ports, clock=MovableClock())
    world = world or await build_world(runtime.ports)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            yield Api(GraphQLClient(http), http, runtime, world)
    finally:
        await runtime.engine.dispose()


# ---- to whom -----------------------------------------------------------------------------------------------


async def test_a_follow_up_goes_to_the_order_s_people_and_recipients_and_no_further(api: Api, tmp_path: Path) -> None:
    # given an approved order with an outside mailbox on the partner's list (put there by the vendor, whom the
    # operator lets email outside addresses)
    order_id = await flat_fee(api)
    await flows.allow_outside_recipients(api, "vendor")
    listed = await as_(
        api, "vendor", RECIPIENTS, input={"orderId": order_id, "side": "PARTNER", "emails": ["desk@partner.example"]}
    )
    assert listed["orderRecipientsUpdate"]["userErrors"] == []
    # when the partner writes to the order's people and its list
    people = ["provider@example.com", "Desk@Partner.example", "partner_colleague@example.com"]
    assert (await send(api, "partner", order_id, people, "to the people"))["userErrors"] == []
    # and then also to an address outside them
    refused = await send(api, "partner", order_id, ["desk@partner.example", "Client@Customer.example"], "outside")
    # then that follow-up is refused, naming the address, and nothing of it is stored or sent
    assert refused["comment"] is None
    [error] = refused["userErrors"]
    assert error["__typename"] == "RecipientNotAllowedError"
    assert (error["code"], error["field"], error["address"]) == (
        "RECIPIENT_NOT_ALLOWED",
        "to.1",
        "client@customer.example",
    )
    assert "client@customer.example" in error["message"]
    assert await bodies(api, order_id) == {"to the people"}
    mail = await deliver(api, tmp_path / "mail")
    assert "client@customer.example" not in {m["To"] for m in mail}
    assert {m["To"] for m in mail} >= {"provider@example.com", "desk@partner.example"}
    # when the operator lets the partner's organisation email outside addresses, it may
    await flows.allow_outside_recipients(api, "partner")
    assert (await send(api, "partner", order_id, ["client@customer.example"], "outside, allowed"))["userErrors"] == []
    assert "client@customer.example" in {m["To"] for m in await deliver(api, tmp_path / "mail-2")}
    # and another organisation still may not (the switch is the partner's alone)
    refused = await send(api, "provider", order_id, ["client@customer.example"], "provider outside")
    assert [e["code"] for e in refused["userErrors"]] == ["RECIPIENT_NOT_ALLOWED"]


async def test_the_provider_s_internal_list_is_no_address_the_partner_may_probe(api: Api) -> None:
    # given an order whose provider has an outside mailbox on its own (internal) list
    order_id = await flat_fee(api)
    await flows.allow_outside_recipients(api, "provider")
    internal = {"orderId": order_id, "side": "PROVIDER", "emails": ["ops@agency.example"]}
    await as_(api, "provider", RECIPIENTS, input=internal)
    # then the provider may write to it, and the partner is refused as for any outside address
    assert (await send(api, "provider", order_id, ["ops@agency.example"]))["userErrors"] == []
    refused = await send(api, "partner", order_id, ["ops@agency.example"])
    assert [e["code"] for e in refused["userErrors"]] == ["RECIPIENT_NOT_ALLOWED"]


async def test_an_outside_address_is_not_one_list_edit_away(api: Api) -> None:
    # given an order with an outside mailbox on the partner's list, put there by the vendor (allowed to)
    order_id = await flat_fee(api)
    await flows.allow_outside_recipients(api, "vendor")
    await as_(
        api, "vendor", RECIPIENTS, input={"orderId": order_id, "side": "PARTNER", "emails": ["desk@partner.example"]}
    )
    # when the partner, which may not email outside addresses, adds one to its list
    given = ["desk@partner.example", "Spam@Target.example"]
    refused = await as_(api, "partner", RECIPIENTS, input={"orderId": order_id, "side": "PARTNER", "emails": given})
    # then it is refused, naming it, and the list is as it was
    payload = refused["orderRecipientsUpdate"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("RECIPIENT_NOT_ALLOWED", "emails.1")]
    assert "spam@target.example" in payload["userErrors"][0]["message"]
    shown = await as_(api, "partner", LOG, id=order_id)
    assert shown["order"]["notificationRecipients"]["partnerEmails"] == ["desk@partner.example"]
    # and a follow-up to it is refused as before
    assert [e["code"] for e in (await send(api, "partner", order_id, ["spam@target.example"]))["userErrors"]] == [
        "RECIPIENT_NOT_ALLOWED"
    ]
    # while the order's people may be added, and what the list had stays
    kept = ["desk@partner.example", "provider_colleague@example.com"]
    changed = await as_(api, "partner", RECIPIENTS, input={"orderId": order_id, "side": "PARTNER", "emails": kept})
    assert changed["orderRecipientsUpdate"] == {
        "order": {"notificationRecipients": {"providerEmails": None, "partnerEmails": kept}},
        "userErrors": [],
    }


# ---- to how many -------------------------------------------------------------------------------------------


async def test_a_follow_up_to_more_addresses_than_allowed_is_refused_stating_the_limit(api: Api) -> None:
    # given an order, and a partner allowed to email outside addresses
    order_id = await flat_fee(api)
    await flows.allow_outside_recipients(api, "partner")
    # when it writes to 11 addresses (the default limit is 10), then to 10
    many = [f"client{n}@customer.example" for n in range(11)]
    refused = await send(api, "partner", order_id, many, "eleven")
    ten = await send(api, "partner", order_id, many[:10], "ten")
    # then the first is refused with the limit, and stores nothing; the second goes
    assert refused["comment"] is None
    assert [(e["__typename"], e["code"], e["field"], e["limit"]) for e in refused["userErrors"]] == [
        ("TooManyRecipientsError", "TOO_MANY_RECIPIENTS", "to", 10)
    ]
    assert "at most 10" in refused["userErrors"][0]["message"]
    assert ten["userErrors"] == []
    assert await bodies(api, order_id) == {"ten"}


# ---- how often -------------------------------------------------------------------------------------------


async def test_messages_are_limited_per_user_and_per_organisation_across_processes(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    limits = {"ORDERGRAPH_MAIL_MESSAGES_PER_USER_HOUR": "2", "ORDERGRAPH_MAIL_MESSAGES_PER_ORG_DAY": "3"}
    async with api_with(engine, database_url, tmp_path / "files", **limits) as api:
        # given an approved order and a draft
        order_id, draft_id = await flat_fee(api), await flat_fee(api, approve=False)
        # when the partner sends a follow-up and an order link (two messages: its hourly limit)
        assert (await send(api, "partner", order_id, ["provider@example.com"], "one"))["userErrors"] == []
        link = await as_(api, "partner", LINK_SEND, input={"orderId": draft_id, "to": "partner_colleague@example.com"})
        assert link["orderLinkSend"]["userErrors"] == []
        # then its next message is refused, saying when to retry, and stores nothing
        refused = await send(api, "partner", order_id, ["provider@example.com"], "two")
        [error] = refused["userErrors"]
        assert (error["__typename"], error["code"], error["limit"], error["windowSeconds"]) == (
            "SendRateLimitedError",
            "RATE_LIMITED",
            2,
            3600,
        )
        assert error["retryAfter"] == 3600  # the clock stands still: the first one leaves the window in an hour
        link = await as_(api, "partner", LINK_SEND, input={"orderId": draft_id, "to": "partner_colleague@example.com"})
        assert [e["code"] for e in link["orderLinkSend"]["userErrors"]] == ["RATE_LIMITED"]
        # and a colleague has a limit of its own, until the organisation's daily one is reached
        assert (await send(api, "partner_colleague", order_id, ["provider@example.com"], "three"))["userErrors"] == []
        refused = await send(api, "partner_colleague", order_id, ["provider@example.com"], "four")
        [error] = refused["userErrors"]
        assert (error["code"], error["limit"], error["windowSeconds"]) == ("RATE_LIMITED", 3, 86400)
        # while another organisation sends as before
        assert (await send(api, "provider", order_id, ["partner@example.com"], "provider's"))["userErrors"] == []
        assert await bodies(api, order_id) == {"one", "three", "provider's"}
        # when another API process on the same database (or this one restarted) is asked
        async with api_with(engine, database_url, tmp_path / "files-2", api.world, **limits) as other:
            again = await send(other, "partner", order_id, ["provider@example.com"], "elsewhere")
        # then it counts the same messages: the limits live in the database, not in a process
        assert [e["code"] for e in again["userErrors"]] == ["RATE_LIMITED"]
        assert await bodies(api, order_id) == {"one", "three", "provider's"}


async def test_a_user_may_send_again_once_its_oldest_message_leaves_the_hour(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    async with api_with(engine, database_url, tmp_path / "files", ORDERGRAPH_MAIL_MESSAGES_PER_USER_HOUR="2") as api:
        clock = api.runtime.ports.clock
        assert isinstance(clock, MovableClock)
        # given comments, which are no messages however many, then two follow-ups ten minutes apart, and a
        # third refused twenty minutes after the first
        order_id = await flat_fee(api)
        for n in range(3):
            posted = await as_(api, "partner", COMMENT, input={"orderId": order_id, "body": f"comment {n}"})
            assert posted["commentCreate"]["userErrors"] == []
        assert (await send(api, "partner", order_id, ["provider@example.com"], "one"))["userErrors"] == []
        clock.instant += timedelta(minutes=10)
        assert (await send(api, "partner", order_id, ["provider@example.com"], "two"))["userErrors"] == []
        clock.instant += timedelta(minutes=10)
        refused = await send(api, "partner", order_id, ["provider@example.com"], "three")
        [error] = refused["userErrors"]
        assert (error["code"], error["retryAfter"]) == ("RATE_LIMITED", 40 * 60)
        # when it waits one second less than it was told, it is still refused; when it waits that long, it goes
        clock.instant += timedelta(seconds=error["retryAfter"] - 1)
        assert [e["code"] for e in (await send(api, "partner", order_id, ["provider@example.com"]))["userErrors"]] == [
            "RATE_LIMITED"
        ]
        clock.instant += timedelta(seconds=1)
        assert (await send(api, "partner", order_id, ["provider@example.com"], "four"))["userErrors"] == []
        assert await bodies(api, order_id) == {"comment 0", "comment 1", "comment 2", "one", "two", "four"}


async def test_follow_ups_sent_at_once_never_pass_the_limit(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    async with api_with(engine, database_url, tmp_path / "files", ORDERGRAPH_MAIL_MESSAGES_PER_USER_HOUR="3") as api:
        # given an order
        order_id = await flat_fee(api)
        # when the partner sends 8 follow-ups at the same moment (concurrent transactions on PostgreSQL)
        answers = await asyncio.gather(
            *(send(api, "partner", order_id, ["provider@example.com"], f"burst {n}") for n in range(8))
        )
        # then exactly 3 go and the others are refused: the count and the write are one step per organisation
        codes = sorted(e["code"] for a in answers for e in a["userErrors"])
        assert codes == ["RATE_LIMITED"] * 5
        assert len(await bodies(api, order_id)) == 3
