"""Invalid input over GraphQL: bad IDs, values, cursors, search and filters refused with a typed error, nothing changed.

Mutations answer with typed userErrors (InputError with the camelCase `field` at fault); queries with a
top-level error carrying `extensions.code`. Variables the schema cannot coerce are refused before anything runs.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from schema.common import to_global_id
from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import attempt, order_at, read_order, user_id
from tests.api.refusals import row_counts, top_level


def cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def raw_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


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
        ("query($s: String) { users(search: $s) { id } }", {"s": "\x00"}, "search"),
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
        # one-line texts: no line breaks, no override of the text's direction (U+202E: "gpj.exe" shown reversed)
        ("partner", "orderCreate", {"kind": "QUOTED", "name": "Webinar\r\nBcc: all@example.com"}, "name"),
        ("partner", "orderCreate", {"kind": "QUOTED", "name": "invoice\u202egpj.exe"}, "name"),
        ("partner", "orderUpdate", {"campaignName": "Q3\u2066launch"}, "campaignName"),
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
        # a JSON number too large for a float (was an OverflowError in cursor decoding)
        ({"sortBy": {"field": "NUMBER"}, "after": raw_id(f'["NUMBER",1e999,"{uuid.uuid4()}"]')}, "after"),
        ({"search": "s" * 201}, "search"),
        ({"search": "\x00"}, "search"),  # once matched every order
        ({"search": "\x00Webinar"}, "search"),
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
