"""Request bodies that are no GraphQL request, too large, or hostile: a 4xx that says why, never a 500.

A JSON body must be an object; a multipart request one operation whose map points at null placeholders
in its variables; a request without files at most 1 MiB. Each refusal is one quiet log line, and
Hypothesis throws random JSON and random documents at the endpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergraph.limits import MAX_OPERATION_BYTES
from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import user_id
from tests.api.refusals import FUZZ, row_counts


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'[{"query": "{ viewer { user { id } } }"}, {"query": "{ viewer { user { id } } }"}]', "application/json"),
        (b'{"variables": {}}', "application/json"),
        (b'{"query": 42}', "application/json"),
        (b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
async def test_malformed_requests_get_a_4xx_not_a_server_error(
    api: Api, server: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    # when the body is not a GraphQL request
    response = await server.post(
        "/graphql",
        content=content,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {api.world['partner'].token}"},
    )
    # then it is a client error
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


DEEP = b"[" * 100_000 + b"]" * 100_000
UPLOAD = json.dumps({"query": doc.COMMENT_CREATE, "variables": {"input": {"orderId": "x", "attachments": [None]}}})


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"null", "A GraphQL request is a JSON object", id="null"),
        pytest.param(b"42", "A GraphQL request is a JSON object", id="number"),
        pytest.param(b"true", "A GraphQL request is a JSON object", id="boolean"),
        pytest.param(b'"x"', "A GraphQL request is a JSON object", id="string"),
        pytest.param(b'{"query": "{ __typename }", "variables": {"a": ' + DEEP + b"}}", "nested too deeply", id="deep"),
    ],
)
async def test_a_json_body_that_is_no_request_object_is_a_400_saying_why(
    api: Api, server: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, content: bytes, reason: str
) -> None:
    # given the state of the database before
    before = await row_counts(api)
    caplog.set_level(logging.INFO)
    # when the JSON body is valid JSON but no GraphQL request (each once a 500, or a RecursionError)
    response = await server.post(
        "/graphql",
        content=content,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api.world['partner'].token}"},
    )
    # then it is a 400 that says why, logged as one quiet line, and nothing changed
    assert response.status_code == 400, response.text
    assert reason in response.text
    assert_one_quiet_line(caplog, reason)
    assert await row_counts(api) == before


@pytest.mark.parametrize(
    ("operations", "files_map", "reason"),
    [
        pytest.param(UPLOAD, '{"0": ["variables.i.__class__"]}', "names nothing", id="path-into-python"),
        pytest.param(f"[{UPLOAD}, {UPLOAD}]", '{"0": ["0.variables.input.attachments.0"]}', "Batched", id="batch"),
        pytest.param(UPLOAD, '{"0": ["query"]}', "must point into `variables`", id="outside-variables"),
        pytest.param(UPLOAD, '{"0": ["variables.input.orderId"]}', "null placeholder", id="not-a-placeholder"),
        pytest.param(UPLOAD, '{"1": ["variables.input.attachments.0"]}', "is missing", id="missing-file"),
        pytest.param(UPLOAD, '{"0": "variables.input.attachments.0"}', "list of paths", id="path-not-a-list"),
        pytest.param(UPLOAD, '["variables.input.attachments.0"]', "must be a JSON object", id="map-not-an-object"),
        pytest.param(UPLOAD, '{"0": ["variables.input.attachments.9"]}', "names nothing", id="index-out-of-range"),
    ],
)
async def test_a_multipart_request_of_another_shape_is_a_400_saying_why(
    api: Api,
    server: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    operations: str,
    files_map: str,
    reason: str,
) -> None:
    # given the state of the database before
    before = await row_counts(api)
    caplog.set_level(logging.INFO)
    # when a multipart request's map or operations is not what the multipart spec allows
    response = await server.post(
        "/graphql",
        data={"operations": operations, "map": files_map},
        files={"0": ("a.txt", b"hello", "text/plain")},
        headers={"Authorization": f"Bearer {api.world['partner'].token}"},
    )
    # then it is a 400 that says why (the batch once reset the connection), and nothing changed
    assert response.status_code == 400, response.text
    assert reason in response.text
    assert_one_quiet_line(caplog, reason)
    assert await row_counts(api) == before


def assert_one_quiet_line(caplog: pytest.LogCaptureFixture, reason: str) -> None:
    """The refusal was logged once, at INFO, as one line without a traceback; nothing louder was."""
    refusals = [r for r in caplog.records if "refused (HTTP 400)" in r.getMessage()]
    assert len(refusals) == 1 and reason in refusals[0].getMessage(), [r.getMessage() for r in caplog.records]
    assert refusals[0].levelno == logging.INFO and "\n" not in refusals[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno > logging.INFO]


async def test_line_items_too_large_to_multiply_are_invalid_input(api: Api) -> None:
    # when a partner asks for a quote with a quantity and a price of 1E+500000 (once a decimal.Overflow)
    line = {"description": "Huge", "quantity": "1E+500000", "unitPrice": "1E+500000"}
    body = await api.client.raw(
        doc.ORDER_CREATE,
        {"input": {"kind": "QUOTED", "name": "Huge", "lineItems": [line]}},
        token=api.world["partner"].token,
    )
    # then it is a typed INVALID_INPUT naming the line, not a masked internal error
    assert "errors" not in body, body
    [error] = body["data"]["orderCreate"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "lineItems.0"), error
    assert "must stay below" in error["message"]


@pytest.mark.parametrize("declared", [True, False], ids=["declared length", "streamed"])
async def test_a_request_without_files_over_1_mib_gets_413_before_it_is_read(
    api: Api, server: httpx.AsyncClient, declared: bool
) -> None:
    # given an operation whose variables carry a 40 MB string (it once kept the event loop busy 3.5 s)
    body = json.dumps({"query": doc.ORDER_CREATE, "variables": {"input": {"name": "x" * (40 * 1024 * 1024)}}})
    data = body.encode()
    before = await row_counts(api)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 1024 * 1024):
            yield data[start : start + 1024 * 1024]

    # when it is posted, with its length declared or streamed without one
    response = await server.post(
        "/graphql",
        content=data if declared else chunks(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api.world['partner'].token}"},
    )
    # then it is refused with 413 and the limit for a request without files, and no order was made
    assert response.status_code == 413, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert str(MAX_OPERATION_BYTES) in error["message"]
    assert await row_counts(api) == before


async def test_a_request_without_files_just_under_the_limit_is_served(api: Api, server: httpx.AsyncClient) -> None:
    # given a long but lawful query: padded with ignored commas to just under 1 MiB
    padding = "," * (MAX_OPERATION_BYTES - 200)
    response = await server.post(
        "/graphql",
        json={"query": "{ viewer { user { id } } }" + padding},
        headers={"Authorization": f"Bearer {api.world['partner'].token}"},
    )
    # then the limit does not get in its way
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["user"]["id"] == user_id(api, "partner")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
REQUEST_KEYS = st.sampled_from(["query", "variables", "operationName", "extensions", "id"])
JSON_BODIES = JSON_VALUES | st.dictionaries(REQUEST_KEYS, JSON_VALUES, max_size=4)
GRAPHQL_TOKENS = st.sampled_from(
    [
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "...",
        "$x",
        "@skip",
        "@include(if: $x)",
        "!",
        "=",
        "query",
        "mutation",
        "subscription",
        "fragment",
        "on",
        "orders",
        "viewer",
        "node",
        "id",
        "first:",
        "100000",
        "-1",
        '"s"',
        "Order",
        "__typename",
        "__schema",
        "edges",
        "totalCount",
        "\u0000",
        "#",
        ",",
        "1e999",
    ]
)
DOCUMENTS = st.lists(GRAPHQL_TOKENS, max_size=30).map(" ".join)


@FUZZ
@given(body=JSON_BODIES, document=DOCUMENTS)
async def test_random_json_and_random_documents_never_get_a_server_error(
    api: Api, server: httpx.AsyncClient, body: Any, document: str
) -> None:
    headers = {"Authorization": f"Bearer {api.world['vendor'].token}", "Content-Type": "application/json"}
    # when the endpoint gets any JSON at all, and any string of GraphQL tokens as a document
    for request in (body, {"query": document, "variables": {"x": True}}):
        response = await server.post("/graphql", content=json.dumps(request), headers=headers)
        # then it answers with a client error or a GraphQL answer, never a server error
        assert response.status_code < 500, response.text
        if response.status_code == 200:
            for error in response.json().get("errors") or []:
                assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", error
