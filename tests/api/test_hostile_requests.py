"""Hostile and broken requests over GraphQL: refused with a 4xx or a typed error, never a leak or a server error.

Documents over the server's limits (aliases, tokens, depth) are refused before anything runs (bodies that
are not GraphQL requests: test_hostile_bodies.py). Unexpected failures are masked. A Hypothesis fuzz of orderCreate and
orderUpdate checks that no input, however odd, gets an INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergraph.app import create_app
from schema.common import to_global_id
from tests.api import documents as doc
from tests.api.conftest import Api, settings_for
from tests.api.flows import OrderRef, order_at, post_comment, read_order, settle_uploads, user_id
from tests.api.refusals import FUZZ, row_counts, top_level

KNOWN_CODES = {
    "UNAUTHENTICATED",
    "NOT_FOUND",
    "PERMISSION_DENIED",
    "INVALID_INPUT",
    "INVALID_TRANSITION",
    "VERSION_CONFLICT",
    "QUOTE_EXPIRED",
    "DUPLICATE",
    "FILE_TOO_LARGE",
    "FILE_TYPE_NOT_ALLOWED",
}


# ---- abusive documents --------------------------------------------------------------------------------------


async def test_too_many_aliases_are_refused_and_nothing_runs(api: Api) -> None:
    # given an order the partner may cancel
    ref = await order_at(api, "PENDING_QUOTES")
    fields = "\n".join(
        f'c{i}: orderCancel(input: {{id: "{ref.id}", reason: "x"}}) {{ order {{ id }} }}' for i in range(31)
    )
    # when 31 aliased cancels are sent (the limit is 30)
    body = await api.client.raw(f"mutation {{ {fields} }}", token=api.world["partner"].token)
    # then the document is refused and the order is untouched
    error = top_level(body)
    assert "alias" in error["message"].lower()
    after = await read_order(api, ref)
    assert after is not None and (after["status"], after["version"]) == ("PENDING_QUOTES", ref.version)


async def test_too_many_tokens_are_refused(api: Api) -> None:
    # when a document has more than 3000 tokens
    document = "{ viewer { user { " + " ".join(["id"] * 3_100) + " } } }"
    body = await api.client.raw(document, token=api.world["partner"].token)
    # then it is refused
    error = top_level(body)
    assert "token" in error["message"].lower()


async def test_a_document_deeper_than_the_limit_is_refused(api: Api, database_url: str, tmp_path: Path) -> None:
    # given the same API configured with a maximum depth of 3
    app = create_app(settings_for(database_url, tmp_path / "shallow", ORDERGRAPH_MAX_QUERY_DEPTH="3"))
    token = api.world["partner"].token
    deep = "{ orders { edges { node { partner { name } } } } }"
    shallow = "{ viewer { user { id } } }"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            headers = {"Authorization": f"Bearer {token}"}
            # when a document four deep is sent, then it is refused; three deep is served
            refused = (await http.post("/graphql", json={"query": deep}, headers=headers)).json()
            served = (await http.post("/graphql", json={"query": shallow}, headers=headers)).json()
    finally:
        await app.state.runtime.engine.dispose()
    assert "depth" in top_level(refused)["message"].lower()
    assert served.get("errors") is None and served["data"]["viewer"]["user"]["id"] == user_id(api, "partner")


MISTAKES = [
    ("{ viewr { user { id } } }", {}),  # a field
    ("{ orders(frist: 5) { totalCount } }", {}),  # an argument
    ("query($s: [OrderStaus!]) { orders(filter: {statuses: $s}) { totalCount } }", {}),  # a type
    ("query($s: [OrderStatus!]) { orders(filter: {statuses: $s}) { totalCount } }", {"s": ["DRAF"]}),  # an enum value
]


@pytest.mark.parametrize("introspection", ["true", "false"])
async def test_without_introspection_no_error_suggests_a_name(
    api: Api, database_url: str, tmp_path: Path, introspection: str
) -> None:
    # given the API with introspection on (GraphiQL's default) or off (production)
    settings = settings_for(database_url, tmp_path / "hints", ORDERGRAPH_INTROSPECTION=introspection)
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            headers = {"Authorization": f"Bearer {api.world['partner'].token}"}
            # when a client misspells a field, an argument, a type and an enum value
            answers = [
                (await http.post("/graphql", json={"query": q, "variables": v}, headers=headers)).json()
                for q, v in MISTAKES
            ]
    finally:
        await app.state.runtime.engine.dispose()
    # then each is refused; only where the schema may be shown does the message suggest the right name
    messages = [top_level(answer)["message"] for answer in answers]
    hinted = ["Did you mean" in message for message in messages]
    assert hinted == [introspection == "true"] * len(MISTAKES), messages
    if introspection == "false":
        assert not [m for m in messages if "viewer" in m or "first" in m or "'DRAFT'" in m], messages


# ---- masking ---------------------------------------------------------------------------------------------------

SECRET = "postgresql://admin:hunter2@10.0.0.5/prod"


async def test_unexpected_errors_are_masked_in_queries(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a read that fails unexpectedly, with internals in its message
    async def broken(*_args: Any) -> Any:
        raise RuntimeError(f"could not connect to {SECRET}")

    ref = await order_at(api, "DRAFT")
    monkeypatch.setattr(api.runtime.queries, "orders_by_id", broken)
    # when a client reads
    response = await api.http.post(
        "/graphql",
        json={"query": doc.ORDER, "variables": {"id": ref.id}},
        headers={"Authorization": f"Bearer {api.world['partner'].token}"},
    )
    # then it gets a masked error: a code, a generic message, no internals
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    for leak in ("hunter2", "10.0.0.5", "RuntimeError", "Traceback", "adapters", ".py"):
        assert leak not in response.text


async def test_unexpected_errors_are_masked_in_mutations_and_leave_nothing_behind(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a blob store that fails unexpectedly
    async def broken(_data: bytes) -> str:
        raise OSError(f"/srv/ordergraph/blobs: disk full ({SECRET})")

    ref = await order_at(api, "PENDING_QUOTES")
    before = await row_counts(api)
    monkeypatch.setattr(api.runtime.ports.blobs, "put", broken)
    # (log records would keep the failed request's open uploads alive past this test: see settle_uploads)
    for name in ("ordergraph.errors", "strawberry.execution"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", True)
    # when a comment with a file is posted
    pdf = (Path(__file__).parents[1] / "fixtures" / "files" / "sample.pdf").read_bytes()
    response = await post_comment(api, "partner", {"orderId": ref.id, "body": "x"}, [("a.pdf", pdf, "application/pdf")])
    # then the error is masked and no comment was written
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error; it has been logged."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in response.text and "/srv" not in response.text
    assert await row_counts(api) == before
    settle_uploads()


# ---- fuzzing ----------------------------------------------------------------------------------------------------

ODD_TEXT = st.one_of(
    st.text(max_size=250),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u202e", "'; DROP TABLE orders; --", "%", "_", "\\", "😀" * 60]),
)
ODD_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ODD_TEXT)
ODD_DECIMAL = st.one_of(
    st.sampled_from(["1", "0", "-1", "0.001", "1e6", "1e12", "1e400", "-0", "NaN", "Infinity", "abc", "", "1,5"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.integers(min_value=-(10**20), max_value=10**20),
)
ODD_DATE = st.one_of(st.dates().map(lambda d: d.isoformat()), st.sampled_from(["", "2024-02-30", "tomorrow"]))
LINE = st.fixed_dictionaries({"description": ODD_TEXT, "unitPrice": ODD_DECIMAL}, optional={"quantity": ODD_DECIMAL})


def odd_ids(api: Api) -> st.SearchStrategy[Any]:
    world = api.world
    return st.one_of(
        st.sampled_from(
            [
                to_global_id("Organisation", world["provider"].org.id),
                to_global_id("Organisation", world["partner"].org.id),
                to_global_id("Service", world.services["mailing"].id),
                to_global_id("User", world["partner_colleague"].user.id),
                to_global_id("User", world["provider"].user.id),
                to_global_id("Order", uuid.uuid4()),
                "garbage",
                "",
            ]
        ),
        ODD_SCALAR,
    )


def create_inputs(api: Api) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"kind": st.sampled_from(["QUOTED", "FLAT_FEE"]), "name": ODD_TEXT},
        optional={
            "campaignName": ODD_TEXT,
            "activityType": ODD_TEXT,
            "endCustomer": ODD_TEXT,
            "poNumber": ODD_TEXT,
            "poNotRequired": st.booleans(),
            "providerId": odd_ids(api),
            "serviceId": odd_ids(api),
            "partnerContactId": odd_ids(api),
            "requestedCompletion": ODD_DATE,
            "lineItems": st.lists(LINE, max_size=3),
        },
    )


def update_inputs(api: Api) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "name": ODD_TEXT,
            "campaignName": ODD_TEXT,
            "endCustomer": ODD_TEXT,
            "priority": st.sampled_from(["LOW", "URGENT", "SOON", None]),
            "providerNotes": ODD_TEXT,
            "estimatedCompletion": ODD_DATE,
            "plannedCompletion": ODD_DATE,
            "ownerId": odd_ids(api),
            "partnerContactId": odd_ids(api),
            "expectedVersion": st.integers(min_value=-(2**40), max_value=2**40),
            "lineItems": st.lists(LINE, max_size=2),
        },
    )


def assert_typed(body: dict[str, Any], mutation: str) -> None:
    """Data with a result or typed userErrors, or top-level errors that are not server errors."""
    for error in body.get("errors") or []:
        assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", error
    if body.get("data"):
        payload = body["data"][mutation]
        if payload["userErrors"]:
            assert payload["order"] is None
            assert all(e["code"] in KNOWN_CODES for e in payload["userErrors"]), payload
        else:
            assert payload["order"] is not None
    else:
        assert body.get("errors"), body


@FUZZ
@given(data=st.data())
async def test_fuzzed_order_create_never_gets_a_server_error(api: Api, data: st.DataObject) -> None:
    # given any input the schema's shape allows, and some it does not
    input = data.draw(create_inputs(api))
    # when the partner creates an order with it
    response = await api.http.post(
        "/graphql",
        json={"query": doc.ORDER_CREATE, "variables": {"input": input}},
        headers={"Authorization": f"Bearer {api.world['partner'].token}"},
    )
    # then it is a 200 with a typed answer, never an internal error
    assert response.status_code == 200, response.text
    assert_typed(response.json(), "orderCreate")


@pytest.fixture
async def fuzz_orders(api: Api) -> dict[str, OrderRef]:
    return {"partner": await order_at(api, "DRAFT"), "provider": await order_at(api, "IN_PROGRESS")}


@FUZZ
@given(data=st.data())
async def test_fuzzed_order_update_never_gets_a_server_error(
    api: Api, fuzz_orders: dict[str, OrderRef], data: st.DataObject
) -> None:
    # given one of the two sides and any input
    member = data.draw(st.sampled_from(["partner", "provider"]))
    input = {"id": fuzz_orders[member].id, **data.draw(update_inputs(api))}
    # when it updates its order with it
    response = await api.http.post(
        "/graphql",
        json={"query": doc.ORDER_UPDATE, "variables": {"input": input}},
        headers={"Authorization": f"Bearer {api.world[member].token}"},
    )
    # then it is a 200 with a typed answer, never an internal error
    assert response.status_code == 200, response.text
    assert_typed(response.json(), "orderUpdate")
