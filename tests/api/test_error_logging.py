"""What the server log says about errors: a client's mistake is one quiet line, a bug is a traceback.

Expected errors (a domain error, a PublicError, a document that does not parse or validate) are the
client's business: the server logs them at most as one INFO or DEBUG line, never with a traceback,
so that a log full of them still shows the bugs. An unexpected error is logged once, at ERROR, with
its traceback, and the client gets a masked message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.common import to_global_id
from tests.api import documents as doc
from tests.api.conftest import Api, app_for
from tests.api.flows import order_at
from tests.api.live import COMMENT_ADDED, ORDER_UPDATED, Live, flat_fee_order, live_on
from tests.api.world import build_world


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records that carry a traceback."""
    return [r for r in caplog.records if r.exc_info or r.exc_text or r.stack_info]


def loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records above INFO."""
    return [r for r in caplog.records if r.levelno > logging.INFO]


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing was logged with a traceback, nor above INFO; each record is one line."""
    assert not tracebacks(caplog), [r.getMessage() for r in tracebacks(caplog)]
    assert not loud(caplog), [(r.name, r.levelname, r.getMessage()) for r in loud(caplog)]
    assert all("\n" not in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


CLIENT_MISTAKES: list[tuple[str, str, dict[str, Any], str | None]] = [
    # (case, document, variables, member or None for anonymous)
    ("unauthenticated", doc.ORDERS, {}, None),
    ("bad cursor", doc.ORDERS, {"after": "garbage"}, "vendor"),
    ("bad id", doc.ORDER, {"id": "garbage"}, "partner"),
    ("first over 100", doc.ORDERS, {"first": 101}, "vendor"),
    ("syntax error", "{ orders { ", {}, "vendor"),
    ("unknown field", "{ orders { nodes { noSuchField } } }", {}, "vendor"),
    (
        "bad date",
        doc.ORDER_CREATE,
        {"input": {"kind": "QUOTED", "name": "X", "requestedCompletion": "2024-13-45"}},
        "partner",
    ),
    ("bad enum", doc.ORDERS, {"filter": {"statuses": ["BOGUS"]}}, "vendor"),
    ("int overflow", doc.ORDERS, {"first": 2**40}, "vendor"),
]


@pytest.mark.parametrize(
    ("document", "variables", "member"),
    [pytest.param(document, variables, member, id=case) for case, document, variables, member in CLIENT_MISTAKES],
)
async def test_a_client_mistake_over_http_is_logged_without_a_traceback(
    api: Api, caplog: pytest.LogCaptureFixture, document: str, variables: dict[str, Any], member: str | None
) -> None:
    token = api.world[member].token if member else None
    caplog.set_level(logging.DEBUG)
    # when a client makes an ordinary mistake
    body = await api.client.raw(document, variables, token=token)
    # then it is told so, and not as a server error
    assert body["errors"], body
    assert (body["errors"][0].get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", body
    # and the log has at most a quiet line about it
    assert_quiet(caplog)


async def test_a_bug_is_logged_once_with_its_traceback_and_masked(
    api: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a read that fails unexpectedly
    async def broken(*_args: Any) -> Any:
        raise RuntimeError("a bug in the read")

    ref = await order_at(api, "DRAFT")
    monkeypatch.setattr(api.runtime.queries, "orders_by_id", broken)
    caplog.set_level(logging.DEBUG)
    # when a client reads
    body = await api.client.raw(doc.ORDER, {"id": ref.id}, token=api.world["partner"].token)
    # then the client gets a masked error
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "a bug in the read" not in str(body)
    # and the log has the bug once, at ERROR, with its traceback
    [record] = tracebacks(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


@pytest.fixture
async def live(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The application served by uvicorn on a free port, with its world."""
    app = app_for(database_url, tmp_path / "files")
    world = await build_world(app.state.runtime.ports)
    async with live_on(app, world) as served:
        yield served


async def test_subscribing_to_an_order_not_found_is_logged_without_a_traceback(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    # given an order another partner may not see
    order_id = await flat_fee_order(live)
    client = await live.client("partner2")
    caplog.set_level(logging.DEBUG)
    # when that partner subscribes to it, and to an order that does not exist
    missing = to_global_id("Order", uuid.uuid4())
    for query, variables in (
        (ORDER_UPDATED, {"id": order_id}),
        (COMMENT_ADDED, {"orderId": order_id}),
        (ORDER_UPDATED, {"id": missing}),
    ):
        refused = await client.receive(await client.subscribe(query, **variables))
        # then the subscription is refused as not found
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "NOT_FOUND", refused
    await client.close()
    # and the log has at most a quiet line about it
    assert_quiet(caplog)
