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


async def test_sign_in_and_ask_who_i_am(api: Api) -> None:
    data = await api.client(TOKEN_CREATE, {"email": "PARTNER@example.com ", "password": PASSWORD})
    token = data["tokenCreate"]["token"]
    assert data["tokenCreate"]["userErrors"] == []
    me = await api.client(VIEWER, token=token)
    assert me["viewer"] == {
        "user": {"email": "partner@example.com", "role": "ADMIN"},
        "organisation": {"name": "Partner Ltd", "kind": "PARTNER"},
    }


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
