"""The scaled-out shape end to end: two API processes, one worker, PostgreSQL, Redis, SMTP.

A partner follows an order on process B over a real WebSocket; the provider changes the order
through process A. The status change and the comment must reach the subscriber within a second
of the mutation being sent, and the worker must hand each email to the SMTP server exactly once.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.live_client import LiveClient
from tests.scaled.cluster import (
    COMMENT,
    COMMENT_ADDED,
    ORDER_UPDATED,
    STATUS_CHANGE,
    Cluster,
    assert_exactly_once,
    barrier,
    eventually,
    flat_fee_order,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

WITHIN = 1.0  # seconds from the mutation being sent to the event being read off the subscriber's socket
SETTLE = 3.0  # seconds to keep watching for a duplicate after the last email arrived


async def test_events_cross_processes_within_a_second_and_each_email_goes_out_once(cluster: Cluster) -> None:
    # given two API processes and a worker on one database, one Redis and one SMTP server
    a, b, _ = await asyncio.gather(cluster.start_api("api-a"), cluster.start_api("api-b"), cluster.start_worker())
    cluster.phase("processes up")
    order_id = await flat_fee_order(a, cluster.world, "Webinar launch")  # submitted and approved: 3 emails

    # and the partner following that order (and its comments) on process B
    partner = await LiveClient.connect(b.ws_url, cluster.token("partner"))
    cluster.clients.append(partner)
    comments = await partner.subscribe(COMMENT_ADDED, orderId=order_id)
    updates = await partner.subscribe(ORDER_UPDATED, id=order_id)
    # a barrier instead of a sleep: a rename on A is seen on B, so B's Redis SUBSCRIBE is in place
    # (commentAdded listens on the same channel and was subscribed first)
    await barrier(a, cluster.world, partner, updates, order_id)
    cluster.phase("order, subscribed")

    # when the provider starts the work through process A
    sent = time.perf_counter()
    await a.gql(cluster.token("provider"), STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    answered = time.perf_counter() - sent
    received = await partner.receive(updates, within=WITHIN)
    # then the subscriber on B has the change within a second of the mutation being sent
    status_latency = received.at - sent
    assert received.type == "next" and not received.errors, received.message
    update = received.message["payload"]["data"]["orderUpdated"]
    assert (update["change"], update["order"]["status"]) == ("STATUS", "NOT_STARTED")
    assert update["activity"]["before"] == {"status": "APPROVED"}
    assert update["actor"] == {"name": "Provider"}
    assert status_latency < WITHIN

    # when the provider comments through process A: then both subscriptions have it within a second
    sent = time.perf_counter()
    await a.gql(cluster.token("provider"), COMMENT, orderId=order_id, body="Kick-off on Monday")
    comment = await partner.receive(comments, within=WITHIN)
    as_update = await partner.receive(updates, within=WITHIN)
    comment_latency, update_latency = comment.at - sent, as_update.at - sent
    assert comment.message["payload"]["data"]["commentAdded"]["body"] == "Kick-off on Monday"
    assert comment.message["payload"]["data"]["commentAdded"]["author"] == {"name": "Provider"}
    change = as_update.message["payload"]["data"]["orderUpdated"]
    assert (change["change"], change["comment"]["body"]) == ("COMMENT", "Kick-off on Monday")
    assert change["order"]["latestComment"] == {"body": "Kick-off on Monday"}
    assert max(comment_latency, update_latency) < WITHIN

    cluster.phase("events")
    # and the worker emails the partner about the status change and the comment, once each
    smtp = cluster.smtp
    await eventually(lambda: bool(smtp.to("partner@example.com", "now not started")), 15, f"status {smtp.summary()}")
    await eventually(lambda: bool(smtp.to("partner@example.com", "commented")), 15, f"comment {smtp.summary()}")
    # approval request (vendor), approved (partner, provider), status change (partner), comment (partner)
    cluster.phase("emails arrived")
    rows = await assert_exactly_once(cluster, expected=5, settle=SETTLE)
    assert sorted((r.recipient, r.template) for r in rows) == [
        ("partner@example.com", "comment_added"),
        ("partner@example.com", "order_approved"),
        ("partner@example.com", "status_changed"),
        ("provider@example.com", "order_approved"),
        ("vendor@example.com", "approval_requested"),
    ]
    assert all(r.attempts == 1 for r in rows), rows
    [status_mail] = smtp.to("partner@example.com", "now not started")
    assert status_mail.rcpt_tos == ("partner@example.com",)
    print(
        f"\nB received (ms from mutation sent): status {1000 * status_latency:.1f} "
        f"(A answered after {1000 * answered:.1f}), comment {1000 * comment_latency:.1f}, "
        f"orderUpdated COMMENT {1000 * update_latency:.1f}"
    )
