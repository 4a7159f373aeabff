"""Bad input over GraphQL: every class refused with a clear typed error, and nothing changed.

Mutations answer with typed userErrors (InputError with the camelCase `field` at fault); queries with a
top-level error carrying `extensions.code`. Documents that break the GraphQL rules or the server's limits
are refused before anything runs. Unexpected failures are masked. A Hypothesis fuzz of orderCreate and
orderUpdate checks that no input, however odd, gets an INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.orders import tables as order_tables
from ordergraph.app import create_app
from schema.common import to_global_id
from tests.api import documents as doc
from tests.api.conftest import Api, settings_for
from tests.api.flows import OrderRef, attempt, order_at, post_comment, read_order, settle_uploads, user_id

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


def cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def raw_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def row_counts(api: Api) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with api.runtime.engine.connect() as conn:
        for table in (
            order_tables.orders,
            order_tables.quotes,
            order_tables.comments,
            order_tables.order_activity,
            order_tables.outbox,
        ):
            counts[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return counts


async def input_error(
    api: Api, mutation: str, input: dict[str, Any], member: str = "partner"
) -> tuple[str, str | None, str]:
    """(code, field, message) of the single user error a refused mutation returns; checks nothing was written."""
    before = await row_counts(api)
    payload = await attempt(api, mutation, input, member)
    assert payload.get("order") is None and payload.get("comment") is None, payload
    assert len(payload["userErrors"]) == 1, payload
    error = payload["userErrors"][0]
    assert await row_counts(api) == before
    return error["code"], error["field"], error["message"]


def top_level(body: dict[str, Any]) -> dict[str, Any]:
    """The first top-level error of a refused request (whose data, if any, is all null)."""
    assert body.get("data") is None or all(v is None for v in body["data"].values()), body
    assert len(body["errors"]) >= 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


# ---- IDs -----------------------------------------------------------------------------------------------

MALFORMED_IDS = ["", "garbage", "!!!", raw_id("Order"), raw_id("Order:not-a-uuid"), raw_id("Order:" + "f" * 40)]


@pytest.mark.parametrize("bad", MALFORMED_IDS)
async def test_a_malformed_id_is_a_typed_error_in_queries_and_mutations(api: Api, bad: str) -> None:
    token = api.world["partner"].token
    # when a query takes a malformed ID, then it is a top-level INVALID_INPUT error naming the argument
    for document in (doc.ORDER, doc.NODE):
        error = top_level(await api.client.raw(document, {"id": bad}, token=token))
        assert error["extensions"]["code"] == "INVALID_INPUT", error
        assert error["extensions"].get("field") == "id"
    # when a mutation does, then it is an InputError on that field, and nothing changes
    assert (await input_error(api, "orderSubmit", {"id": bad}))[:2] == ("INVALID_INPUT", "id")
    assert (await input_error(api, "commentCreate", {"orderId": bad, "body": "Hi"}))[:2] == ("INVALID_INPUT", "orderId")
    quote_input = {"orderId": bad, "lineItems": [{"description": "x", "unitPrice": "1"}]}
    assert (await input_error(api, "quoteSubmit", quote_input, "provider"))[:2] == ("INVALID_INPUT", "orderId")


async def test_an_id_of_the_wrong_type_is_a_typed_error(api: Api) -> None:
    # given a real order and IDs of other kinds of objects
    ref = await order_at(api, "DRAFT")
    partner_user = user_id(api, "partner")
    organisation = to_global_id("Organisation", api.world["provider"].org.id)
    service = to_global_id("Service", api.world.services["webinar"].id)
    token = api.world["partner"].token
    # when order() is given a user's ID, then INVALID_INPUT; node() simply returns the user
    error = top_level(await api.client.raw(doc.ORDER, {"id": partner_user}, token=token))
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"] == "Expected an ID of type Order, got one of type User."
    # when mutations are given IDs of the wrong type, then an InputError on the field
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("orderSubmit", {"id": partner_user}, "id"),
        ("orderCancel", {"id": organisation, "reason": "x"}, "id"),
        ("orderCreate", {"kind": "QUOTED", "name": "X", "providerId": service}, "providerId"),
        ("orderCreate", {"kind": "FLAT_FEE", "name": "X", "serviceId": organisation}, "serviceId"),
        ("orderCreate", {"kind": "QUOTED", "name": "X", "partnerContactId": organisation}, "partnerContactId"),
        ("orderAssign", {"id": ref.id, "assigneeId": ref.id}, "assigneeId"),
        ("quoteAccept", {"id": ref.id}, "id"),
        ("commentCreate", {"orderId": partner_user, "body": "Hi"}, "orderId"),
    ]
    for mutation, input, field in cases:
        member = "provider" if mutation == "orderAssign" else "partner"
        code, got_field, _ = await input_error(api, mutation, input, member)
        assert (code, got_field) == ("INVALID_INPUT", field), (mutation, input)
    after = await read_order(api, ref)
    assert after is not None and (after["status"], after["version"]) == ("DRAFT", ref.version)


async def test_ids_that_name_nothing_visible(api: Api) -> None:
    token = api.world["partner"].token
    missing = to_global_id("Order", uuid.uuid4())
    # a well-formed ID of no order: null in queries, NotFoundError in mutations
    assert (await api.client(doc.ORDER, {"id": missing}, token=token))["order"] is None
    assert (await api.client(doc.NODE, {"id": missing}, token=token))["node"] is None
    assert (await api.client(doc.NODE, {"id": to_global_id("Quote", uuid.uuid4())}, token=token))["node"] is None
    assert (await input_error(api, "orderSubmit", {"id": missing}))[:2] == ("NOT_FOUND", "id")
    # a nodes() request over its limit is refused
    error = top_level(await api.client.raw(doc.NODES, {"ids": [missing] * 101}, token=token))
    assert error["extensions"]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        ("query($o: ID) { users(organisationId: $o) { id } }", {"o": "garbage"}, "organisationId"),
        (
            "query($o: ID) { users(organisationId: $o) { id } }",
            {"o": to_global_id("User", uuid.uuid4())},
            "organisationId",
        ),
        ("query($s: String) { users(search: $s) { id } }", {"s": "x" * 201}, "search"),
        ("query($s: String) { organisations(search: $s) { id } }", {"s": "x" * 201}, "search"),
    ],
)
async def test_bad_directory_arguments_are_input_errors_on_the_argument(
    api: Api, query: str, variables: dict[str, Any], field: str
) -> None:
    # when the partner lists the directory with a bad argument
    body = await api.client.raw(query, variables, token=api.world["partner"].token)
    # then it is a top-level INVALID_INPUT naming the argument
    error = top_level(body)
    assert (error["extensions"]["code"], error["extensions"].get("field")) == ("INVALID_INPUT", field), error


LINE = [{"description": "x", "unitPrice": "1"}]
TARGET_ID_INPUTS: dict[str, tuple[str, dict[str, Any]]] = {
    # mutation -> (who tries it, its input besides the unknown orderId)
    "commentCreate": ("partner", {"body": "Hi"}),
    "quoteSubmit": ("provider", {"lineItems": LINE}),
    "quoteDecline": ("provider", {"message": "Too busy"}),
    "orderWatch": ("partner", {}),
    "orderUnwatch": ("partner", {}),
    "orderRecipientsUpdate": ("partner", {"side": "PARTNER", "emails": []}),
    "orderMessageSend": ("partner", {"to": ["client@customer.example"], "subject": "s", "body": "b"}),
    "orderLinkSend": ("partner", {"to": "partner_colleague@example.com"}),
}
"""Every mutation whose input names its order `orderId` (not `id`); test_target_id_inputs_are_all_listed checks."""

_INPUT_FIELDS = """{
  __schema { mutationType { fields { name args { name type { ofType { name inputFields { name } } } } } } }
}"""


async def test_target_id_inputs_are_all_listed(api: Api) -> None:
    # given every mutation of the schema and the fields of its input
    data = await api.client(_INPUT_FIELDS)
    named: set[str] = set()
    for mutation in data["__schema"]["mutationType"]["fields"]:
        for arg in mutation["args"]:
            fields = {f["name"] for f in (arg["type"]["ofType"] or {}).get("inputFields") or ()}
            if arg["name"] == "input" and "id" not in fields and fields & {"orderId", "quoteId"}:
                named.add(mutation["name"])
    # then those naming their target orderId or quoteId are exactly the ones tested below
    assert named == set(TARGET_ID_INPUTS)


@pytest.mark.parametrize("mutation", sorted(TARGET_ID_INPUTS))
async def test_not_found_names_the_input_field_that_was_given(api: Api, mutation: str) -> None:
    # given a well-formed ID of no order
    member, extra = TARGET_ID_INPUTS[mutation]
    document = f"""
    mutation($input: {mutation[0].upper()}{mutation[1:]}Input!) {{
      {mutation}(input: $input) {{ userErrors {{ __typename field code }} }}
    }}"""
    missing = to_global_id("Order", uuid.uuid4())
    # when the member runs the mutation on it
    data = await api.client(document, {"input": {"orderId": missing, **extra}}, token=api.world[member].token)
    # then the NotFoundError names the input field the order was given in
    assert data[mutation]["userErrors"] == [{"__typename": "NotFoundError", "field": "orderId", "code": "NOT_FOUND"}]


# ---- values ----------------------------------------------------------------------------------------------

LONG = "x" * 201


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   \t"}, "name"),
        ({"name": LONG}, "name"),
        ({"name": "ok", "campaignName": LONG}, "campaignName"),
        ({"name": "ok", "activityType": LONG}, "activityType"),
        ({"name": "ok", "endCustomer": LONG}, "endCustomer"),
        ({"name": "ok", "poNumber": LONG}, "poNumber"),
        ({"name": "ok", "lineItems": [{"description": "Ads", "quantity": "-1", "unitPrice": "10"}]}, "lineItems.0"),
        ({"name": "ok", "lineItems": [{"description": "Ads", "quantity": "0", "unitPrice": "10"}]}, "lineItems.0"),
        ({"name": "ok", "lineItems": [{"description": "Ads", "unitPrice": "-0.01"}]}, "lineItems.0"),
        ({"name": "ok", "lineItems": [{"description": "Ads", "unitPrice": "NaN"}]}, "lineItems.0"),
        (
            {"name": "ok", "lineItems": [{"description": "Ads", "quantity": "Infinity", "unitPrice": "1"}]},
            "lineItems.0",
        ),
        ({"name": "ok", "lineItems": [{"description": " ", "unitPrice": "1"}]}, "lineItems.0"),
        ({"name": "ok", "lineItems": [{"description": LONG, "unitPrice": "1"}]}, "lineItems.0"),
        (
            {
                "name": "ok",
                "lineItems": [{"description": "a", "unitPrice": "1"}, {"description": "b", "unitPrice": "-1"}],
            },
            "lineItems.1",
        ),
    ],
)
async def test_bad_values_in_order_create_are_input_errors_on_the_field(
    api: Api, input: dict[str, Any], field: str
) -> None:
    # when the partner creates an order with one bad value
    code, got_field, message = await input_error(api, "orderCreate", {"kind": "QUOTED", **input})
    # then it is INVALID_INPUT on that input field (as the API names it), and no order exists
    assert (code, got_field) == ("INVALID_INPUT", field), message


@pytest.mark.parametrize(
    ("member", "input", "field"),
    [
        ("partner", {"name": ""}, "name"),
        ("partner", {"name": LONG}, "name"),
        ("partner", {"campaignName": LONG}, "campaignName"),
        ("partner", {"lineItems": [{"description": "Ads", "quantity": "-2", "unitPrice": "1"}]}, "lineItems.0"),
        ("partner", {}, None),
        ("provider", {"providerNotes": "n" * 20_001}, "providerNotes"),
    ],
)
async def test_bad_values_in_order_update_change_nothing(
    api: Api, member: str, input: dict[str, Any], field: str | None
) -> None:
    # given a draft (the partner's) or an approved order (the provider's)
    ref = await order_at(api, "DRAFT" if member == "partner" else "APPROVED")
    before = await read_order(api, ref, member)
    # when the member updates it with a bad value
    code, got_field, message = await input_error(api, "orderUpdate", {"id": ref.id, **input}, member)
    # then it is INVALID_INPUT on that field, and the order is unchanged
    assert (code, got_field) == ("INVALID_INPUT", field), message
    assert await read_order(api, ref, member) == before


LINES = [{"description": "Work", "unitPrice": "10"}]


@pytest.mark.parametrize(
    ("member", "mutation", "input", "field"),
    [
        ("partner", "orderCancel", {"reason": "r" * 2_001}, "reason"),
        ("partner", "commentCreate", {"body": "b" * 20_001}, "body"),
        ("partner", "commentCreate", {"body": "   "}, "body"),
        ("provider", "quoteSubmit", {"lineItems": []}, "lineItems"),
        ("provider", "quoteSubmit", {"lineItems": LINES, "message": "m" * 2_001}, "message"),
        ("provider", "quoteSubmit", {"lineItems": LINES, "expiresOn": "2000-01-01"}, "expiresOn"),
        (
            "provider",
            "quoteSubmit",
            {"lineItems": [{"description": "Work", "quantity": "-1", "unitPrice": "10"}]},
            "lineItems.0",
        ),
    ],
)
async def test_bad_values_elsewhere_are_input_errors_on_the_field(
    api: Api, member: str, mutation: str, input: dict[str, Any], field: str
) -> None:
    # given an open request
    ref = await order_at(api, "PENDING_QUOTES")
    key = "id" if mutation == "orderCancel" else "orderId"
    # when the member sends one bad value
    code, got_field, message = await input_error(api, mutation, {key: ref.id, **input}, member)
    # then it is INVALID_INPUT on that field, and nothing is written
    assert (code, got_field) == ("INVALID_INPUT", field), message


async def test_an_amount_beyond_what_is_stored_is_an_input_error(api: Api) -> None:
    # when a partner orders a line whose total does not fit the stored amounts (14 digits, 2 decimals)
    code, field, message = await input_error(
        api,
        "orderCreate",
        {
            "kind": "QUOTED",
            "name": "Huge",
            "lineItems": [{"description": "Gold", "quantity": "1e6", "unitPrice": "1e12"}],
        },
    )
    # then it is refused as input, not a server error
    assert (code, field) == ("INVALID_INPUT", "lineItems.0"), message


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (doc.ORDER_CREATE, {"input": {"kind": "BOGUS", "name": "X"}}),
        (doc.ORDER_STATUS_CHANGE, {"input": {"id": "x", "status": "DONE"}}),
        (doc.ORDER_CREATE, {"input": {"kind": "QUOTED", "name": "X", "requestedCompletion": "2024-13-45"}}),
        (
            doc.ORDER_CREATE,
            {"input": {"kind": "QUOTED", "name": "X", "lineItems": [{"description": "a", "unitPrice": "abc"}]}},
        ),
        (doc.ORDER_SUBMIT, {"input": {"id": "x", "expectedVersion": 2**31}}),
        (doc.ORDER_CREATE, {"input": {"kind": "QUOTED"}}),
        (doc.ORDER_CREATE, {"input": {"kind": "QUOTED", "name": "X", "unknownField": 1}}),
        (doc.ORDERS, {"first": 2**40}),
        (doc.ORDERS, {"filter": {"statuses": ["BOGUS"]}}),
        (doc.ORDERS, {"sortBy": {"field": "PRICE"}}),
    ],
)
async def test_values_the_schema_cannot_coerce_are_refused_before_anything_runs(
    api: Api, document: str, variables: dict[str, Any]
) -> None:
    before = await row_counts(api)
    # when a variable has an unknown enum value, a bad date/decimal/int or a missing/unknown field
    body = await api.client.raw(document, variables, token=api.world["partner"].token)
    # then the request is refused with a top-level error saying what is wrong, and nothing ran
    error = top_level(body)
    assert error["message"].startswith("Variable '$"), error
    assert await row_counts(api) == before


@pytest.mark.parametrize(
    "variables",
    [
        {"input": {"kind": "BOGUS", "name": "X"}},
        {"input": {"kind": "QUOTED", "name": "X", "requestedCompletion": "2024-13-45"}},
    ],
)
async def test_refused_documents_carry_a_code_for_programs(api: Api, variables: dict[str, Any]) -> None:
    # when a variable cannot be coerced
    body = await api.client.raw(doc.ORDER_CREATE, variables, token=api.world["partner"].token)
    # then the top-level error says so in extensions.code, like every other refusal
    error = top_level(body)
    code = (error.get("extensions") or {}).get("code")
    assert code not in (None, "INTERNAL_SERVER_ERROR"), error


@pytest.mark.parametrize(
    ("member", "mutation", "input", "field"),
    [
        ("partner", "orderCreate", {"kind": "QUOTED", "name": "a\x00b"}, "name"),
        ("partner", "orderCreate", {"kind": "QUOTED", "name": "ok", "campaignName": "\x00"}, "campaignName"),
        ("partner", "orderCancel", {"reason": "no\x00pe"}, "reason"),
        ("partner", "commentCreate", {"body": "hi\x00"}, "body"),
        ("partner", "orderUpdate", {"endCustomer": "\x00"}, "endCustomer"),
    ],
)
async def test_text_with_a_nul_character_is_an_input_error_on_both_backends(
    api: Api, member: str, mutation: str, input: dict[str, Any], field: str
) -> None:
    # given an open request (PostgreSQL cannot store NUL in text; SQLite can)
    ref = await order_at(api, "PENDING_QUOTES")
    key = {"orderCancel": "id", "orderUpdate": "id", "commentCreate": "orderId"}.get(mutation)
    body = await api.client.raw(
        doc.MUTATIONS[mutation], {"input": {**({key: ref.id} if key else {}), **input}}, token=api.world[member].token
    )
    # then it is refused as input on the field, the same way on both backends, and nothing is written
    assert "errors" not in body, body["errors"]
    payload = body["data"][mutation]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", field)]


# ---- cursors and search ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"after": "garbage"}, "after"),
        ({"after": "!!"}, "after"),
        ({"before": cursor("LAST_ACTIVITY_AT")}, "before"),
        ({"after": cursor("LAST_ACTIVITY_AT", "yesterday", str(uuid.uuid4()))}, "after"),
        ({"after": cursor("LAST_ACTIVITY_AT", "2024-01-01T00:00:00+00:00", "not-a-uuid")}, "after"),
        ({"after": cursor("NUMBER", "2024-01-01", str(uuid.uuid4()))}, "after"),
        (
            {"sortBy": {"field": "NUMBER"}, "after": cursor("NUMBER", "1e999", str(uuid.uuid4()))},
            "after",
        ),
        ({"after": cursor("LAST_ACTIVITY_AT", "2024-01-01T00:00:00", str(uuid.uuid4()))}, "after"),
        ({"sortBy": {"field": "NUMBER"}, "after": cursor("NUMBER", 2**70, str(uuid.uuid4()))}, "after"),
        ({"search": "s" * 201}, "search"),
        ({"filter": {"partnerIds": ["garbage"]}}, "filter.partnerIds"),
        ({"filter": {"assigneeIds": [to_global_id("Order", uuid.uuid4())]}}, "filter.assigneeIds"),
    ],
)
async def test_bad_cursors_search_and_filters_are_invalid_input(
    api: Api, variables: dict[str, Any], field: str
) -> None:
    # when a list is asked for with a bad cursor, search or filter
    body = await api.client.raw(doc.ORDERS, variables, token=api.world["vendor"].token)
    # then it is a top-level INVALID_INPUT error naming the argument
    error = top_level(body)
    assert error["extensions"]["code"] == "INVALID_INPUT", error
    assert error["extensions"].get("field") == field, error


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


@pytest.fixture
async def server(api: Api, database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The same API answering as a real server does: an unhandled exception becomes a 500 response."""
    app = create_app(settings_for(database_url, tmp_path / "server-files"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        await app.state.runtime.engine.dispose()


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


FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run: CI stays reproducible; known finds have their own tests
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


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
