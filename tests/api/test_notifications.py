"""The notification mutations and the delivery log over GraphQL, as each party may see them."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.email import FileMailer, Renderer
from adapters.security import Argon2PasswordHasher, SystemClock
from ordergraph.app import Runtime, create_app
from schema.common import to_global_id
from tests.api import flows
from tests.api.conftest import Api, GraphQLClient, settings_for
from tests.api.world import build_world
from workers.delivery import Sender
from workers.relay import Relay

CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } userErrors { code message } } }"""
SUBMIT = "mutation($id: ID!) { orderSubmit(input: {id: $id}) { userErrors { code message } } }"
APPROVE = "mutation($id: ID!) { orderApprove(input: {id: $id}) { userErrors { code message } } }"

RECIPIENTS = """
mutation($input: OrderRecipientsUpdateInput!) {
  orderRecipientsUpdate(input: $input) {
    order { notificationRecipients { providerEmails partnerEmails } }
    userErrors { field code message }
  }
}"""
WATCH = """
mutation($id: ID!) {
  orderWatch(input: {orderId: $id}) { order { watching watchers { email } } userErrors { code } }
}"""
UNWATCH = "mutation($id: ID!) { orderUnwatch(input: {orderId: $id}) { order { watching } userErrors { code } } }"
MESSAGE = """
mutation($input: OrderMessageSendInput!) {
  orderMessageSend(input: $input) {
    comment { body visibility }
    order { assignee { email } watching }
    userErrors { field code message }
  }
}"""
LINK_SEND = """
mutation($input: OrderLinkSendInput!) {
  orderLinkSend(input: $input) { order { id } expiresAt userErrors { field code message } }
}"""
LINK_OPEN = """
query($token: String!) {
  orderLink(token: $token) { order { id status } expiresAt userErrors { field code message } }
}"""
LOG = """
query($id: ID!) {
  order(id: $id) {
    notifications { id recipient template status attempts lastError sentAt activityKind }
    notificationRecipients { providerEmails partnerEmails }
  }
}"""
RESEND = """
mutation($id: ID!) { notificationResend(input: {id: $id}) { notification { status } userErrors { code } } }"""


async def flat_fee(api: Api, *, approve: bool = True) -> str:
    service = to_global_id("Service", api.world.services["webinar"].id)
    data = await api.client(
        CREATE, {"input": {"kind": "FLAT_FEE", "name": "Webinar", "serviceId": service}}, api.world["partner"].token
    )
    order_id: str = data["orderCreate"]["order"]["id"]
    if approve:
        await api.client(SUBMIT, {"id": order_id}, api.world["partner"].token)
        await api.client(APPROVE, {"id": order_id}, api.world["vendor"].token)
    return order_id


async def as_(api: Api, member: str, document: str, **variables: Any) -> Any:
    return await api.client(document, variables, api.world[member].token)


async def deliver(api: Api, mail: Path) -> list[email.message.EmailMessage]:
    """Run the relay and send every queued email to files, as the workers would."""
    runtime = api.runtime
    assert runtime.notifier is not None
    ids: list[UUID] = []
    relay = Relay(runtime.engine, ids.extend, SystemClock())
    await relay.drain()
    sender = Sender(
        runtime.engine,
        FileMailer(mail),
        renderer=Renderer(),
        links=runtime.notifier.config.links,
        blobs=runtime.ports.blobs,
        clock=SystemClock(),
        mail_from="ordergraph <noreply@ordergraph.example>",
    )
    for delivery_id in ids:
        await sender.deliver(delivery_id)
    files = sorted(mail.glob("*.eml"))  # noqa: ASYNC240 - a test reading a few small files
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]  # type: ignore[misc]


async def test_each_side_keeps_its_own_recipient_list(api: Api) -> None:
    order_id = await flat_fee(api)
    await flows.allow_outside_recipients(api, "partner", "provider")  # their lists name outside mailboxes
    partner = await as_(
        api,
        "partner",
        RECIPIENTS,
        input={"orderId": order_id, "side": "PARTNER", "emails": ["A@x.example", "a@x.example"]},
    )
    assert partner["orderRecipientsUpdate"] == {
        "order": {"notificationRecipients": {"providerEmails": None, "partnerEmails": ["a@x.example"]}},
        "userErrors": [],
    }
    refused = await as_(api, "partner", RECIPIENTS, input={"orderId": order_id, "side": "PROVIDER", "emails": []})
    assert refused["orderRecipientsUpdate"]["userErrors"][0]["code"] == "PERMISSION_DENIED"
    bad = await as_(api, "provider", RECIPIENTS, input={"orderId": order_id, "side": "PROVIDER", "emails": ["nope"]})
    assert bad["orderRecipientsUpdate"]["userErrors"][0]["field"] == "emails.0"
    await as_(
        api, "provider", RECIPIENTS, input={"orderId": order_id, "side": "PROVIDER", "emails": ["ops@agency.example"]}
    )
    seen = {
        who: (await as_(api, who, LOG, id=order_id))["order"]["notificationRecipients"]
        for who in ("partner", "provider_colleague", "vendor")
    }
    assert seen == {
        "partner": {"providerEmails": None, "partnerEmails": ["a@x.example"]},
        "provider_colleague": {"providerEmails": ["ops@agency.example"], "partnerEmails": None},
        "vendor": {"providerEmails": None, "partnerEmails": ["a@x.example"]},
    }
    hidden = await as_(api, "partner2", RECIPIENTS, input={"orderId": order_id, "side": "PARTNER", "emails": []})
    assert hidden["orderRecipientsUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_watching_is_personal(api: Api) -> None:
    order_id = await flat_fee(api)
    watched = await as_(api, "partner_colleague", WATCH, id=order_id)
    assert watched["orderWatch"]["order"] == {
        "watching": True,
        "watchers": [{"email": "partner_colleague@example.com"}],
    }
    await as_(api, "provider", WATCH, id=order_id)
    again = await as_(api, "provider", WATCH, id=order_id)  # watching twice is watching
    assert again["orderWatch"]["order"]["watchers"] == [{"email": "provider@example.com"}]  # not the partner's
    gone = await as_(api, "partner_colleague", UNWATCH, id=order_id)
    assert gone["orderUnwatch"]["order"] == {"watching": False}
    outsider = await as_(api, "provider2", WATCH, id=order_id)
    assert outsider["orderWatch"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def test_a_follow_up_is_a_comment_emailed_to_its_addresses(api: Api, tmp_path: Path) -> None:
    order_id = await flat_fee(api)
    await flows.allow_outside_recipients(api, "provider")  # it writes to its client (seed 002)
    colleague = to_global_id("User", api.world["provider_colleague"].user.id)
    sent = await as_(
        api,
        "provider",
        MESSAGE,
        input={
            "orderId": order_id,
            "to": ["client@customer.example"],
            "subject": "Your dates",
            "body": "We run it on the 3rd.",
            "assigneeId": colleague,
            "watch": True,
        },
    )
    assert sent["orderMessageSend"] == {
        "comment": {"body": "We run it on the 3rd.", "visibility": "SHARED"},
        "order": {"assignee": {"email": "provider_colleague@example.com"}, "watching": True},
        "userErrors": [],
    }
    bad = await as_(api, "partner", MESSAGE, input={"orderId": order_id, "to": ["x"], "subject": "s", "body": "b"})
    assert bad["orderMessageSend"]["userErrors"][0]["field"] == "to.0"
    internal = await as_(
        api,
        "partner",
        MESSAGE,
        input={"orderId": order_id, "to": ["x@outside.example"], "subject": "s", "body": "b", "visibility": "INTERNAL"},
    )
    assert internal["orderMessageSend"]["userErrors"][0]["field"] == "to"
    messages = await deliver(api, tmp_path / "mail")
    follow_up = next(m for m in messages if m["To"] == "client@customer.example")
    assert follow_up["Subject"] == "Your dates"
    assert {m["To"] for m in messages} >= {
        "client@customer.example",
        "partner@example.com",
        "provider_colleague@example.com",
    }


async def emailed_link_token(api: Api, tmp_path: Path, to: str) -> str:
    """Deliver the queued emails; the `token` of the order link in the one emailed to `to`."""
    [message] = [m for m in await deliver(api, tmp_path / "mail") if m["To"] == to]
    body = message.get_body(("plain",))
    assert body is not None
    url = re.search(r"https?://\S+/orders/resume\?token=\S+", body.get_content())
    assert url is not None
    return parse_qs(urlsplit(url.group(0)).query)["token"][0]


async def test_an_order_link_resumes_a_draft_for_a_partner_user(api: Api, tmp_path: Path) -> None:
    order_id = await flat_fee(api, approve=False)
    refused = await as_(api, "partner", LINK_SEND, input={"orderId": order_id, "to": "provider@example.com"})
    assert refused["orderLinkSend"]["userErrors"][0]["field"] == "to"
    sent = await as_(
        api,
        "partner",
        LINK_SEND,
        input={"orderId": order_id, "to": "partner_colleague@example.com", "message": "Finish it"},
    )
    assert sent["orderLinkSend"]["userErrors"] == [] and sent["orderLinkSend"]["expiresAt"]
    token = await emailed_link_token(api, tmp_path, "partner_colleague@example.com")
    opened = await as_(api, "partner_colleague", LINK_OPEN, token=token)
    assert opened["orderLink"]["order"] == {"id": order_id, "status": "DRAFT"}
    assert (await as_(api, "provider", LINK_OPEN, token=token))["orderLink"]["userErrors"][0]["code"] == "NOT_FOUND"
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert (await as_(api, "partner", LINK_OPEN, token=forged))["orderLink"]["userErrors"][0]["field"] == "token"


async def test_an_order_link_no_longer_opens_once_its_order_is_submitted(api: Api, tmp_path: Path) -> None:
    # given a link to a draft, emailed to a partner user
    order_id = await flat_fee(api, approve=False)
    input = {"orderId": order_id, "to": "partner_colleague@example.com"}
    assert (await as_(api, "partner", LINK_SEND, input=input))["orderLinkSend"]["userErrors"] == []
    token = await emailed_link_token(api, tmp_path, "partner_colleague@example.com")
    # when the partner submits the order, and the link is opened after
    await api.client(SUBMIT, {"id": order_id}, api.world["partner"].token)
    opened = (await as_(api, "partner_colleague", LINK_OPEN, token=token))["orderLink"]
    # then the link no longer opens the order, and says why
    assert opened["order"] is None
    [error] = opened["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "token"), error
    assert "no longer opens" in error["message"] and "PENDING_APPROVAL" in error["message"]


async def test_an_open_quote_request_is_emailed_to_every_provider_of_the_programme(api: Api, tmp_path: Path) -> None:
    # given a quote request addressed to no provider
    ref = await flows.create(api, "QUOTED")
    # when the partner submits it and the workers run
    await flows.submit(api, ref)
    received = await deliver(api, tmp_path / "mail")
    # then each provider's admin is asked for a quote, with a link to the request
    asked = {m["To"]: m for m in received}
    assert sorted(asked) == ["provider2@example.com", "provider@example.com"]
    for message in asked.values():
        assert "asks for your quote" in message["Subject"]
        assert f"/orders/{ref.id}" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_each_status_email_shows_the_status_its_event_left_the_order_in(api: Api, tmp_path: Path) -> None:
    # given an approved order the provider moves on twice before the workers run
    ref = await flows.create(api, "FLAT_FEE")
    await flows.submit(api, ref)
    await flows.approve(api, ref)
    await flows.change_status(api, ref, "NOT_STARTED")
    await flows.change_status(api, ref, "IN_PROGRESS")
    # when the emails are sent
    received = await deliver(api, tmp_path / "mail")
    # then each one's footer gives the status as of its event, not as of sending
    footers = {
        m["Subject"].split()[-1]: re.findall(r"\(([A-Z][a-z ]+)\): http", m.get_body(("plain",)).get_content())
        for m in received
        if m["To"] == "partner@example.com"
    }
    assert footers == {
        "approved": ["Approved"],  # "... was approved"
        "started": ["Not started"],  # "...: now Not started"
        "progress": ["In progress"],
    }


async def test_the_delivery_log_shows_each_party_its_own_mail_and_resends(api: Api, tmp_path: Path) -> None:
    order_id = await flat_fee(api, approve=False)
    await flows.allow_outside_recipients(api, "partner", "provider")  # lists and a client beyond the order's people
    await as_(
        api, "partner", RECIPIENTS, input={"orderId": order_id, "side": "PARTNER", "emails": ["desk@partner.example"]}
    )
    await api.client(SUBMIT, {"id": order_id}, api.world["partner"].token)
    await api.client(APPROVE, {"id": order_id}, api.world["vendor"].token)
    await as_(
        api, "provider", RECIPIENTS, input={"orderId": order_id, "side": "PROVIDER", "emails": ["ops@agency.example"]}
    )
    await as_(
        api, "provider", MESSAGE, input={"orderId": order_id, "to": ["c@customer.example"], "subject": "s", "body": "b"}
    )
    await deliver(api, tmp_path / "mail")
    logs = {
        who: {
            (n["recipient"], n["template"], n["status"])
            for n in (await as_(api, who, LOG, id=order_id))["order"]["notifications"]
        }
        for who in ("partner", "provider", "vendor")
    }
    assert logs["partner"] == {
        ("partner@example.com", "ORDER_APPROVED", "SENT"),
        ("desk@partner.example", "ORDER_APPROVED", "SENT"),
        ("partner@example.com", "FOLLOW_UP", "SENT"),
        ("desk@partner.example", "FOLLOW_UP", "SENT"),
    }
    assert logs["provider"] == {
        ("provider@example.com", "ORDER_APPROVED", "SENT"),
        # the relay ran after the provider set its list: lists are read when the deliveries are planned
        ("ops@agency.example", "ORDER_APPROVED", "SENT"),
        ("c@customer.example", "FOLLOW_UP", "SENT"),
    }
    assert logs["vendor"] == logs["partner"] | {("vendor@example.com", "APPROVAL_REQUESTED", "SENT")}
    partner_rows = (await as_(api, "partner", LOG, id=order_id))["order"]["notifications"]
    provider_rows = (await as_(api, "provider", LOG, id=order_id))["order"]["notifications"]
    # an email sent a moment ago is not sent again, however often it is asked for (once: a copy per ask)
    for _ in range(25):
        resent = await as_(api, "partner", RESEND, id=partner_rows[0]["id"])
        assert resent["notificationResend"] == {"notification": None, "userErrors": [{"code": "INVALID_INPUT"}]}
    assert await deliver(api, tmp_path / "mail-again") == []
    hidden = await as_(api, "partner", RESEND, id=provider_rows[0]["id"])
    assert hidden["notificationResend"] == {"notification": None, "userErrors": [{"code": "NOT_FOUND"}]}


async def test_serve_alone_delivers_notifications(engine: AsyncEngine, database_url: str, tmp_path: Path) -> None:
    # given the app on the embedded default (no broker, no SMTP), running its lifespan as `ordergraph serve` does
    mail = tmp_path / "mail"
    app = create_app(settings_for(database_url, tmp_path / "files", ORDERGRAPH_MAIL_DIR=str(mail)))
    runtime: Runtime = app.state.runtime
    runtime.ports = dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast())
    world = await build_world(runtime.ports)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            api = Api(GraphQLClient(http), http, runtime, world)
            # when an order is approved
            await flat_fee(api)
            # then its emails are written, by the in-process relay and Dramatiq worker, without anything else running
            for _ in range(200):
                if len(list(mail.glob("*.eml"))) >= 3:
                    break
                await asyncio.sleep(0.05)
    received = sorted(email.message_from_bytes(f.read_bytes())["To"] for f in mail.glob("*.eml"))
    assert received == ["partner@example.com", "provider@example.com", "vendor@example.com"]
