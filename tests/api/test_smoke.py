"""The spine end to end: sign in, ask who I am, place and work an order."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.world import PASSWORD

TOKEN_CREATE = """
mutation($email: String!, $password: String!) {
  tokenCreate(input: {email: $email, password: $password}) {
    token expiresAt user { email } userErrors { field message code }
  }
}"""

VIEWER = "{ viewer { user { email role } organisation { name kind } } }"

SIGN_IN_AND_READ = """
mutation($email: String!, $password: String!) {
  tokenCreate(input: {email: $email, password: $password}) {
    token user { email organisation { name kind } } userErrors { code }
  }
}"""

SIGN_IN_THEN_ORDER = """
mutation($email: String!, $password: String!) {
  tokenCreate(input: {email: $email, password: $password}) { userErrors { code } }
  orderCreate(input: {kind: QUOTED, name: "Ordered on signing in"}) { order { partner { name } } userErrors { code } }
}"""


async def test_sign_in_and_ask_who_i_am(api: Api) -> None:
    data = await api.client(TOKEN_CREATE, {"email": "PARTNER@example.com ", "password": PASSWORD})
    token = data["tokenCreate"]["token"]
    assert data["tokenCreate"]["userErrors"] == []
    me = await api.client(VIEWER, token=token)
    assert me["viewer"] == {
        "user": {"email": "partner@example.com", "role": "ADMIN"},
        "organisation": {"name": "Partner Ltd", "kind": "PARTNER"},
    }


async def test_the_sign_in_payload_reads_as_the_user_just_signed_in(api: Api) -> None:
    partner = {"email": "partner@example.com", "password": PASSWORD}
    # given an anonymous caller, and one signed in as the vendor of another programme
    for token in (None, api.world["outsider"].token):
        # when it signs in as the partner and reads the payload's user and organisation
        body = await api.client.raw(SIGN_IN_AND_READ, partner, token=token)
        # then the payload reads as the partner, without errors
        assert "errors" not in body, body["errors"]
        payload = body["data"]["tokenCreate"]
        assert payload["userErrors"] == [] and payload["token"]
        assert payload["user"] == {
            "email": "partner@example.com",
            "organisation": {"name": "Partner Ltd", "kind": "PARTNER"},
        }


async def test_a_sign_in_acts_for_the_rest_of_its_operation_only(api: Api) -> None:
    # when an anonymous caller signs in and creates an order in the same operation
    data = await api.client(SIGN_IN_THEN_ORDER, {"email": "partner@example.com", "password": PASSWORD})
    # then the order is the partner's
    assert data["orderCreate"] == {"order": {"partner": {"name": "Partner Ltd"}}, "userErrors": []}
    # and a failed sign-in changes nothing: the rest of the operation stays anonymous
    body = await api.client.raw(SIGN_IN_THEN_ORDER, {"email": "partner@example.com", "password": "nope"})
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["orderCreate"], "UNAUTHENTICATED")]


async def test_wrong_password_is_a_typed_error(api: Api) -> None:
    data = await api.client(TOKEN_CREATE, {"email": "partner@example.com", "password": "nope"})
    assert data["tokenCreate"]["token"] is None
    assert data["tokenCreate"]["userErrors"] == [
        {"field": "password", "message": "Email or password is wrong.", "code": "INVALID_CREDENTIALS"}
    ]


async def test_unauthenticated_calls_get_a_clear_error(api: Api) -> None:
    body = await api.client.raw(VIEWER)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "tokenCreate" in body["errors"][0]["message"]
    body = await api.client.raw(VIEWER, token="not-a-token")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]


async def test_revoked_token_stops_working(api: Api) -> None:
    token = api.world["partner"].token
    data = await api.client("mutation { tokenRevoke { revoked } }", token=token)
    assert data["tokenRevoke"]["revoked"] is True
    body = await api.client.raw(VIEWER, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
