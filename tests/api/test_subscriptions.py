"""Live subscriptions end to end: events arrive within a second, over either protocol, only where one may see them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.common import to_global_id
from tests.api.conftest import app_for, counting
from tests.api.live import (
    ACTIVITY,
    CANCEL,
    COMMENT,
    COMMENT_ADDED,
    LATENCIES,
    LEFT_VIEW_FEED,
    NOTES,
    NOTES_AND_ESTIMATE,
    ORDER_CREATE,
    ORDER_UPDATED,
    QUOTE_ACCEPT,
    QUOTE_SUBMIT,
    RENAME,
    STATUS_CHANGE,
    STEP,
    WITHIN,
    GraphQLWS,
    Live,
    flat_fee_order,
    live_on,
    timed,
    uuid_of,
)
from tests.api.world import build_world

# ---- acceptance ------------------------------------------------------------------------------


async def test_status_and_comment_events_arrive_within_a_second(live: Live) -> None:
    # given the partner following one order and the vendor watching its dashboard feed
    order_id = await flat_fee_order(live)
    partner = await live.client("partner")
    vendor = await live.client("vendor")
    one = await partner.subscribe(ORDER_UPDATED, id=order_id)
    comments = await partner.subscribe(COMMENT_ADDED, orderId=order_id)
    feed = await vendor.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)  # let the subscriptions reach the bus

    # when the provider changes the status: then both receive it, within a second
    event = await timed(live, partner, one, "provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    update = event["orderUpdated"]
    assert update["change"] == "STATUS"
    assert update["order"]["id"] == order_id
    assert update["order"]["status"] == "NOT_STARTED"
    assert update["activity"]["before"] == {"status": "APPROVED"}
    assert update["activity"]["after"]["status"] == "NOT_STARTED"
    assert update["actor"] == {"name": "Provider"} == update["activity"]["actor"]
    assert update["order"]["partner"] == {"name": "Partner Ltd"}
    assert (await vendor.next(feed, within=WITHIN))["orderUpdated"]["order"]["status"] == "NOT_STARTED"

    # when the provider comments (shared): then the comment arrives on both subscriptions
    event = await timed(
        live, partner, comments, "provider", COMMENT, orderId=order_id, body="Kick-off Monday", visibility="SHARED"
    )
    assert event["commentAdded"]["body"] == "Kick-off Monday"
    assert event["commentAdded"]["author"] == {"name": "Provider"}
    update = (await partner.next(one, within=WITHIN))["orderUpdated"]
    assert update["change"] == "COMMENT"
    assert update["comment"]["id"] == event["commentAdded"]["id"]
    assert update["comment"]["body"] == "Kick-off Monday"
    assert update["comment"]["author"] == {"name": "Provider"}
    assert update["order"]["latestComment"] == {"body": "Kick-off Monday"}
    await partner.close()
    await vendor.close()


async def test_without_a_valid_token_in_connection_init_the_connection_is_refused(live: Live) -> None:
    for payload, expected in (
        ({}, "connection_init"),
        ({"authorization": "Bearer not-a-token"}, "expired"),
        ({"token": ""}, "connection_init"),
    ):
        ws = await GraphQLWS.open(live.ws_url)
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
        assert closed.value.rcvd.reason.startswith("Unauthenticated: ")
        assert expected in closed.value.rcvd.reason

    # a token sent on the handshake instead of in connection_init does not count
    headers = {"Authorization": f"Bearer {live.world['partner'].token}"}
    ws = await GraphQLWS.open(live.ws_url, additional_headers=headers)
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)

    # subscribing before connection_init is refused too (the protocol's 4401)
    ws = await GraphQLWS.open(live.ws_url)
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ORDER_UPDATED}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    # and the token may also come as {"token": ...}
    client = await GraphQLWS.connect(live.ws_url, {"token": live.world["partner"].token})
    await client.close()


async def test_a_partner_never_receives_another_partners_orders(live: Live) -> None:
    # given partner2 watching its dashboard feed
    partner2 = await live.client("partner2")
    feed = await partner2.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    # when the partner's order is created, submitted, approved, worked and commented on
    theirs = await flat_fee_order(live, "Theirs")
    await live.gql("provider", STATUS_CHANGE, id=theirs, status="NOT_STARTED")
    await live.gql("partner", COMMENT, orderId=theirs, body="for the provider", visibility="SHARED")
    await live.gql("partner", RENAME, id=theirs, name="Theirs, renamed")
    # and then partner2 creates an order of its own
    service = to_global_id("Service", live.world.services["webinar"].id)
    mine = await live.gql("partner2", ORDER_CREATE, input={"kind": "FLAT_FEE", "name": "Mine", "serviceId": service})
    # then the first event partner2 receives is its own order's creation: the others were never sent
    update = (await partner2.next(feed, within=WITHIN))["orderUpdated"]
    assert update["change"] == "CREATED"
    assert update["order"]["id"] == mine["orderCreate"]["order"]["id"]
    assert update["order"]["partner"] == {"name": "Partner2 Ltd"}
    await partner2.nothing(feed)
    await partner2.close()


async def test_internal_comments_and_provider_notes_never_reach_the_wrong_side(live: Live) -> None:
    # given an order the provider works, followed by the partner (order and comments), the vendor and the provider
    order_id = await flat_fee_order(live)
    partner, vendor, provider = [await live.client(m) for m in ("partner", "vendor", "provider_colleague")]
    partner_feed = await partner.subscribe(ORDER_UPDATED)
    partner_one = await partner.subscribe(ORDER_UPDATED, id=order_id)
    partner_comments = await partner.subscribe(COMMENT_ADDED, orderId=order_id)
    vendor_feed = await vendor.subscribe(ORDER_UPDATED)
    provider_feed = await provider.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)

    # when the provider writes notes and comments internally
    await live.gql("provider", NOTES, id=order_id, notes="Partner is slow to pay")
    await live.gql("provider", COMMENT, orderId=order_id, body="internal: chase payment", visibility="INTERNAL")
    # then its own users see both, notes included
    private = [(await provider.next(provider_feed, within=WITHIN))["orderUpdated"] for _ in range(2)]
    assert [u["change"] for u in private] == ["FIELDS", "COMMENT"]
    assert private[0]["activity"]["after"] == {"provider_notes": "Partner is slow to pay"}
    assert private[1]["comment"]["visibility"] == "INTERNAL"
    assert all(u["order"]["providerNotes"] == "Partner is slow to pay" for u in private)

    # and even when those events' hints reach the other side's channels (a misrouted or forged hint),
    for update in private:
        hint = {
            "order_id": str(uuid_of(order_id)),
            "event_id": str(uuid_of(update["activity"]["id"])),
            "kind": update["activity"]["kind"],
            "subject_id": str(uuid_of(update["comment"]["id"])) if update["comment"] else None,
            "actor_user_id": None,
            "occurred_at": update["occurredAt"],
        }
        for channel in (f"org:{live.world.org_id('partner')}", f"vendor:{live.world.programme.id}"):
            await live.runtime.bus.publish(channel, hint)

    # and the provider then moves the order on and comments for everyone
    await live.gql("provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    await live.gql("provider", COMMENT, orderId=order_id, body="Scheduled", visibility="SHARED")

    # then the partner's and the vendor's feeds receive those two first: notes and internal comment were skipped
    for client, op in ((partner, partner_feed), (partner, partner_one), (vendor, vendor_feed)):
        status = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert status["change"] == "STATUS"
        assert status["order"]["providerNotes"] is None
        # the internal comment is never "latest" for them; events re-read the database when they are
        # processed, so under load the shared comment sent right after may already be the latest
        assert status["order"]["latestComment"] in (None, {"body": "Scheduled"})
        shared = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert shared["change"] == "COMMENT"
        assert shared["comment"]["body"] == "Scheduled"
        assert shared["order"]["providerNotes"] is None
        await client.nothing(op)
    # and the partner's commentAdded receives only the shared comment
    assert (await partner.next(partner_comments, within=WITHIN))["commentAdded"]["body"] == "Scheduled"
    await partner.nothing(partner_comments)
    # while the provider's users receive both too, with the notes
    public = [(await provider.next(provider_feed, within=WITHIN))["orderUpdated"] for _ in range(2)]
    assert [u["change"] for u in public] == ["STATUS", "COMMENT"]
    assert all(u["order"]["providerNotes"] == "Partner is slow to pay" for u in public)
    for client in (partner, vendor, provider):
        await client.close()


async def test_one_edit_of_notes_and_estimate_is_one_live_update_for_each_side(live: Live) -> None:
    # given an order the provider works, followed by the provider's users, the partner and the vendor
    order_id = await flat_fee_order(live)
    clients = [await live.client(m) for m in ("provider", "provider_colleague", "partner", "vendor")]
    feeds = [(client, await client.subscribe(ORDER_UPDATED)) for client in clients]
    await asyncio.sleep(0.1)
    # when the provider edits its notes and the estimated completion in one orderUpdate, then moves the order on
    await live.gql("provider", NOTES_AND_ESTIMATE, id=order_id, notes="Chase the venue", estimate="2031-01-31")
    await live.gql("provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    # then each subscriber receives one FIELDS update, with the notes for the provider's users only,
    # and the status change next (nothing else came in between)
    for index, (client, op) in enumerate(feeds):
        fields = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert fields["change"] == "FIELDS"
        if index < 2:
            assert fields["activity"]["after"] == {
                "provider_notes": "Chase the venue",
                "estimated_completion": "2031-01-31",
            }
        else:
            assert fields["activity"]["after"] == {"estimated_completion": "2031-01-31"}
            assert fields["order"]["providerNotes"] is None
        assert (await client.next(op, within=WITHIN))["orderUpdated"]["change"] == "STATUS"
        await client.nothing(op)
    for client in clients:
        await client.close()


async def test_open_quote_requests_reach_every_provider_but_quotes_only_the_buyer_side(live: Live) -> None:
    # given both providers and the partner watching their feeds, and a quoted order open to every provider
    provider, provider2, partner = [await live.client(m) for m in ("provider", "provider2", "partner")]
    feeds = {c: await c.subscribe(ORDER_UPDATED) for c in (provider, provider2, partner)}
    await asyncio.sleep(0.1)
    created = await live.gql("partner", ORDER_CREATE, input={"kind": "QUOTED", "name": "Open request"})
    order_id = created["orderCreate"]["order"]["id"]
    assert (await partner.next(feeds[partner]))["orderUpdated"]["change"] == "CREATED"
    # when the partner submits it: then every provider learns of the request
    await live.gql("partner", STEP % "orderSubmit", id=order_id)
    for client in (provider, provider2, partner):
        update = (await client.next(feeds[client], within=WITHIN))["orderUpdated"]
        assert (update["change"], update["order"]["status"]) == ("STATUS", "PENDING_QUOTES")
    # when provider2 quotes: then the partner sees the quote, the competing provider nothing
    quote = await live.gql("provider2", QUOTE_SUBMIT, orderId=order_id)
    update = (await partner.next(feeds[partner], within=WITHIN))["orderUpdated"]
    assert update["change"] == "QUOTE"
    assert update["activity"]["kind"] == "QUOTE_SUBMITTED"
    assert (await provider2.next(feeds[provider2], within=WITHIN))["orderUpdated"]["change"] == "QUOTE"
    await provider.nothing(feeds[provider])
    assert quote["quoteSubmit"]["quote"]["id"]


# ---- leaving the view ------------------------------------------------------------------------


async def open_request(live: Live, name: str = "Open request", *, provider: str | None = None) -> str:
    """A submitted QUOTED order of the partner: open to every provider, or addressed to `provider`."""
    input: dict[str, Any] = {"kind": "QUOTED", "name": name}
    if provider is not None:
        input["providerId"] = to_global_id("Organisation", live.world.org_id(provider))
    created = await live.gql("partner", ORDER_CREATE, input=input)
    order_id: str = created["orderCreate"]["order"]["id"]
    await live.gql("partner", STEP % "orderSubmit", id=order_id)
    return order_id


def left_view_of(order_id: str) -> dict[str, Any]:
    """A LEFT_VIEW update as it must arrive: the order's ID and nothing else of it."""
    return {
        "change": "LEFT_VIEW",
        "orderId": order_id,
        "order": None,
        "activity": None,
        "actor": None,
        "comment": None,
        "quote": None,
    }


def without_time(update: dict[str, Any]) -> dict[str, Any]:
    assert update["occurredAt"]
    return {k: v for k, v in update.items() if k != "occurredAt"}


async def test_providers_that_lose_an_open_request_to_another_quote_are_told_it_left_their_view(live: Live) -> None:
    # given an open request both providers quoted on, and their feeds (one of them not asking for LEFT_VIEW)
    order_id = await open_request(live)
    quotes = {
        m: (await live.gql(m, QUOTE_SUBMIT, orderId=order_id))["quoteSubmit"]["quote"]["id"]
        for m in ("provider", "provider2")
    }
    loser, loser_plain, loser_one, winner, partner = [
        await live.client(m) for m in ("provider2", "provider2", "provider2", "provider", "partner")
    ]
    feeds = {
        loser: await loser.subscribe(LEFT_VIEW_FEED),
        loser_plain: await loser_plain.subscribe(ORDER_UPDATED),
        loser_one: await loser_one.subscribe(LEFT_VIEW_FEED, id=order_id),
        winner: await winner.subscribe(LEFT_VIEW_FEED),
        partner: await partner.subscribe(LEFT_VIEW_FEED),
    }
    await asyncio.sleep(0.1)
    # when the partner accepts the provider's quote (provider2's is closed), then opens another request
    await live.gql("partner", QUOTE_ACCEPT, id=quotes["provider"])
    other = await open_request(live, "Next request")
    # then provider2, asking for it, is told the order left its view: its ID, nothing else of it
    assert without_time((await loser.next(feeds[loser], within=WITHIN))["orderUpdated"]) == left_view_of(order_id)
    assert without_time((await loser_one.next(feeds[loser_one], within=WITHIN))["orderUpdated"]) == left_view_of(
        order_id
    )
    # and then only of the next request (nothing else of the order came in between)
    for client in (loser, loser_plain):
        update = (await client.next(feeds[client], within=WITHIN))["orderUpdated"]
        assert (update["change"], update["order"]["id"]) == ("STATUS", other)
    await loser_one.nothing(feeds[loser_one])
    # while the winner and the partner see the acceptance as before, with the order
    for client in (winner, partner):
        changes = [(await client.next(feeds[client], within=WITHIN))["orderUpdated"] for _ in range(2)]
        assert [(u["change"], u["order"]["id"], u["orderId"]) for u in changes] == [
            ("QUOTE", order_id, order_id),
            ("STATUS", order_id, order_id),
        ]
    # (the partner then sees its next request created and submitted, the winner that request submitted)
    assert (await winner.next(feeds[winner], within=WITHIN))["orderUpdated"]["order"]["id"] == other


async def test_an_open_request_cancelled_leaves_every_providers_view(live: Live) -> None:
    # given an open request nobody quoted on yet, followed by both providers
    order_id = await open_request(live)
    clients = [await live.client(m) for m in ("provider", "provider2")]
    feeds = [(client, await client.subscribe(LEFT_VIEW_FEED)) for client in clients]
    await asyncio.sleep(0.1)
    # when the partner cancels it
    await live.gql("partner", CANCEL, id=order_id, reason="Budget cut")
    # then each provider is told it left its view
    for client, op in feeds:
        assert without_time((await client.next(op, within=WITHIN))["orderUpdated"]) == left_view_of(order_id)
        await client.nothing(op)


async def test_only_who_could_see_the_order_is_told_it_left_even_on_forged_hints(live: Live) -> None:
    # given a request addressed to the provider only, followed by both providers
    order_id = await open_request(live, provider="provider")
    provider, provider2 = [await live.client(m) for m in ("provider", "provider2")]
    feeds = {provider: await provider.subscribe(LEFT_VIEW_FEED), provider2: await provider2.subscribe(LEFT_VIEW_FEED)}
    await asyncio.sleep(0.1)
    # when the partner cancels it, and the vendor then comments internally on it
    await live.gql("partner", CANCEL, id=order_id, reason="Budget cut")
    await live.gql("vendor", COMMENT, orderId=order_id, body="internal: the partner overspent", visibility="INTERNAL")
    # then the provider is told it left its view
    update = (await provider.next(feeds[provider], within=WITHIN))["orderUpdated"]
    assert without_time(update) == left_view_of(order_id)
    # and when the hints of the cancellation and of the internal comment reach the channels of both providers
    # (misrouted or forged), then neither says more: provider2 never saw the order, the comment is no departure
    activity = await live.gql("vendor", ACTIVITY, id=order_id)
    entries = {e["kind"]: e for e in activity["order"]["activity"]}
    for kind in ("STATUS_CHANGED", "COMMENT_ADDED"):
        hint = {
            "order_id": str(uuid_of(order_id)),
            "event_id": str(uuid_of(entries[kind]["id"])),
            "kind": kind,
            "subject_id": None,
            "actor_user_id": None,
            "occurred_at": entries[kind]["occurredAt"],
        }
        channels = [f"org:{live.world.org_id('provider2')}", f"providers:{live.world.programme.id}"]
        if kind == "COMMENT_ADDED":
            channels.append(f"org:{live.world.org_id('provider')}")
        for channel in channels:
            await live.runtime.bus.publish(channel, hint)
    # and the next thing either receives is the next request (the barrier)
    other = await open_request(live, "Next request")
    for client, op in feeds.items():
        update = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert (update["change"], update["order"]["id"]) == ("STATUS", other), update


async def test_an_archived_order_stays_in_view_and_is_a_status_change(live: Live) -> None:
    # given a flat-fee order the provider completed, followed by it with LEFT_VIEW updates asked for
    order_id = await flat_fee_order(live)
    for status in ("NOT_STARTED", "COMPLETE"):
        await live.gql("provider", STATUS_CHANGE, id=order_id, status=status)
    client = await live.client("provider")
    op = await client.subscribe(LEFT_VIEW_FEED)
    await asyncio.sleep(0.1)
    # when it archives it, then that is a STATUS update with the order: archived orders stay visible
    await live.gql("provider", STEP % "orderArchive", id=order_id)
    update = (await client.next(op, within=WITHIN))["orderUpdated"]
    assert (update["change"], update["order"]) == ("STATUS", {"id": order_id, "status": "ARCHIVED"})


async def test_telling_a_group_the_order_left_is_one_statement_for_one_subscriber_or_three(live: Live) -> None:
    async def losing(subscribers: int) -> list[str]:
        """The statements of an acceptance provider2 loses, followed by `subscribers` of its users."""
        order_id = await open_request(live, f"Lost to {subscribers}")
        quote = await live.gql("provider", QUOTE_SUBMIT, orderId=order_id)
        clients = [await live.client("provider2") for _ in range(subscribers)]
        feeds = [(client, await client.subscribe(LEFT_VIEW_FEED)) for client in clients]
        await asyncio.sleep(0.1)
        with counting(live.runtime) as statements:
            await live.gql("partner", QUOTE_ACCEPT, id=quote["quoteSubmit"]["quote"]["id"])
            for client, op in feeds:
                assert (await client.next(op, within=WITHIN))["orderUpdated"]["change"] == "LEFT_VIEW"
        for client, op in feeds:
            await client.complete(op)
        await asyncio.sleep(0.1)
        return statements

    # given provider2's users following their feeds: one of them, then three (one group)
    alone, together = await losing(1), await losing(3)
    # then the departure is read once for the group, in one statement, however many follow it (the other
    # statements in the window are the mutation's and the in-process email relay's, which vary with timing)
    departures = [[s for s in run if "order_activity.id AS a_id" in s] for run in (alone, together)]
    assert [len(d) for d in departures] == [1, 1], departures


async def test_the_legacy_graphql_ws_protocol_authenticates_the_same_way(live: Live) -> None:
    subprotocols = [websockets.Subprotocol("graphql-ws")]
    # refused without a token: connection_error with the reason
    async with websockets.connect(live.ws_url, subprotocols=subprotocols) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        refused = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert refused["type"] == "connection_error"
        assert refused["payload"]["code"] == "UNAUTHENTICATED"
    # accepted with one, and events arrive
    order_id = await flat_fee_order(live)
    async with websockets.connect(live.ws_url, subprotocols=subprotocols) as ws:
        token = live.world["partner"].token
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        start = {"query": COMMENT_ADDED, "variables": {"orderId": order_id}}
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": start}))
        await asyncio.sleep(0.1)
        await live.gql("vendor", COMMENT, orderId=order_id, body="Approved, go ahead", visibility="SHARED")
        data = json.loads(await asyncio.wait_for(ws.recv(), WITHIN))
        assert data["type"] == "data"
        assert data["payload"]["data"]["commentAdded"]["body"] == "Approved, go ahead"


@pytest.mark.redis
async def test_events_reach_subscribers_of_another_process_over_redis(
    engine: AsyncEngine, database_url: str, tmp_path: Path, redis_url: str
) -> None:
    # given two API servers on one database and one Redis (the scaled-out shape)
    first, second = (app_for(database_url, tmp_path / "files", ORDERGRAPH_BROADCAST_URL=redis_url) for _ in "12")
    # Dramatiq's broker is process-global: one in-process notification worker per process, as in production.
    second.state.runtime.notifier = None
    world = await build_world(first.state.runtime.ports)
    async with live_on(first, world) as one, live_on(second, world) as other:
        order_id = await flat_fee_order(other)
        partner = await one.client("partner")
        partner2 = await one.client("partner2")
        feed, feed2 = await partner.subscribe(ORDER_UPDATED), await partner2.subscribe(ORDER_UPDATED)
        await asyncio.sleep(0.2)
        # when the provider works the order through the other server: then the subscriber gets it
        update = await timed(other, partner, feed, "provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
        assert update["orderUpdated"]["order"]["status"] == "NOT_STARTED"
        # and the other partner still nothing
        await partner2.nothing(feed2)


def test_latencies_are_reported() -> None:
    """Not a check: prints the latencies measured so far (run with -s)."""
    if LATENCIES:
        answered, received = (sorted(1000 * t[i] for t in LATENCIES) for i in (0, 1))
        middle = len(received) // 2
        print(
            f"\nmutation sent -> answered: median {answered[middle]:.1f} ms, max {answered[-1]:.1f} ms; "
            f"mutation sent -> event received: median {received[middle]:.1f} ms, max {received[-1]:.1f} ms "
            f"(n={len(received)})"
        )
