"""Drive orders through their lifecycle over the GraphQL API, as the party allowed to make each move.

`order_at(api, route)` builds one order in a named starting situation (`ROUTES`) and returns an
`OrderRef` that also records what the tests' oracle needs: the order's kind, its provider and
whether the provider has been told of it yet. `party_of` is that oracle: how a world member relates
to the order according to product.md, independently of the code under test.
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import Any
from uuid import UUID

import httpx

from domain.orders.lifecycle import Party
from schema.common import parse_global_id, to_global_id
from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.world import PEOPLE

MEMBERS: tuple[str, ...] = tuple(PEOPLE)
"""Every member of the test world, by key."""

WORKING = ("NOT_STARTED", "IN_PROGRESS", "WAITING_FOR_PARTNER", "SCHEDULED", "EXECUTING")
STATUSES = (
    "DRAFT",
    "PENDING_QUOTES",
    "PENDING_APPROVAL",
    "APPROVED",
    *WORKING,
    "COMPLETE",
    "CANCELLED",
    "ARCHIVED",
)

_names = count(1)


def org_key(member: str) -> str:
    """The organisation key ('partner', 'provider2', ...) of a member."""
    return PEOPLE[member][0]


def org_id(api: Api, member: str) -> str:
    """The global ID of a member's organisation."""
    return to_global_id("Organisation", api.world[member].org.id)


def user_id(api: Api, member: str) -> str:
    """The global ID of a member's user."""
    return to_global_id("User", api.world[member].user.id)


def uuid_of(global_id: str) -> UUID:
    """The UUID inside a global ID."""
    return parse_global_id(global_id)[1]


@dataclass
class OrderRef:
    """An order built through the API, with what the tests need to know about it."""

    id: str
    name: str
    kind: str
    status: str
    version: int
    provider: str | None = None  # org key of the provider it is addressed to; None: open to every provider
    released: bool = False  # its provider has been told of it (APPROVED reached, or its quote accepted)
    quotes: dict[str, str] = field(default_factory=dict)  # quoting provider's org key -> quote ID
    order: dict[str, Any] = field(default_factory=dict)  # the last order payload seen

    def update(self, order: dict[str, Any]) -> None:
        """Record the order as returned by a successful mutation."""
        self.order = order
        self.status = order["status"]
        self.version = order["version"]


# ---- raw calls ---------------------------------------------------------------------------------


async def attempt(api: Api, mutation: str, input: dict[str, Any], member: str, *, lean: bool = False) -> dict[str, Any]:
    """The payload of `mutation` run by `member`, whatever its outcome (top-level errors fail).

    The order comes back with documents.ORDER_FIELDS, or FLOW_ORDER_FIELDS when `lean`.
    """
    document = (doc.FLOW_MUTATIONS if lean else doc.MUTATIONS)[mutation]
    data = await api.client(document, {"input": input}, token=api.world[member].token)
    payload: dict[str, Any] = data[mutation]
    return payload


async def mutate(api: Api, mutation: str, input: dict[str, Any], member: str, *, lean: bool = False) -> dict[str, Any]:
    """The payload of `mutation` run by `member`, which must succeed."""
    payload = await attempt(api, mutation, input, member, lean=lean)
    assert payload["userErrors"] == [], f"{mutation} by {member} failed: {payload['userErrors']}"
    return payload


async def read_order(api: Api, ref: OrderRef | str, member: str = "partner") -> dict[str, Any] | None:
    """The order as `member` sees it (with quotes, comments and activity), or None."""
    order_id = ref if isinstance(ref, str) else ref.id
    data = await api.client(doc.ORDER_DETAIL, {"id": order_id}, token=api.world[member].token)
    order: dict[str, Any] | None = data["order"]
    return order


# ---- single moves --------------------------------------------------------------------------------


async def create(
    api: Api,
    kind: str = "QUOTED",
    *,
    member: str = "partner",
    provider: str | None = None,
    service: str | None = None,
    **fields: Any,
) -> OrderRef:
    """A new DRAFT placed by a partner user (FLAT_FEE: buying `service`, default the webinar)."""
    name = fields.pop("name", None) or f"Order {next(_names)}"
    input: dict[str, Any] = {"kind": kind, "name": name, **fields}
    provider_key = provider
    if kind == "FLAT_FEE":
        svc = api.world.services[service or "webinar"]
        input["serviceId"] = to_global_id("Service", svc.id)
        provider_key = "provider" if svc.provider_id == api.world.org_id("provider") else "provider2"
    elif provider is not None:
        input["providerId"] = org_id(api, provider)
    if "lineItems" not in input and kind == "QUOTED":
        input["lineItems"] = [{"description": "Campaign", "quantity": "1", "unitPrice": "100"}]
    payload = await mutate(api, "orderCreate", input, member, lean=True)
    order = payload["order"]
    ref = OrderRef(order["id"], name, kind, order["status"], order["version"], provider=provider_key)
    ref.update(order)
    return ref


async def step(api: Api, ref: OrderRef, mutation: str, member: str, **input: Any) -> dict[str, Any]:
    """Run an order mutation that must succeed and record the new state."""
    payload = await mutate(api, mutation, {"id": ref.id, **input}, member, lean=True)
    ref.update(payload["order"])
    if ref.status == "APPROVED":
        ref.released = True
    return payload


async def submit(api: Api, ref: OrderRef, member: str = "partner") -> None:
    """DRAFT -> PENDING_QUOTES (QUOTED) or PENDING_APPROVAL (FLAT_FEE)."""
    await step(api, ref, "orderSubmit", member)


async def approve(api: Api, ref: OrderRef, member: str = "vendor") -> None:
    """PENDING_APPROVAL -> APPROVED (vendor), or accept a quote request without a quote (provider)."""
    await step(api, ref, "orderApprove", member)
    if ref.provider is None:
        ref.provider = org_key(member)


async def change_status(api: Api, ref: OrderRef, status: str, member: str = "provider") -> None:
    """The provider's Change Status."""
    await step(api, ref, "orderStatusChange", member, status=status)


async def cancel(api: Api, ref: OrderRef, member: str = "partner", reason: str = "No longer needed") -> None:
    """Cancel with a reason."""
    await step(api, ref, "orderCancel", member, reason=reason)


async def archive(api: Api, ref: OrderRef, member: str = "provider") -> None:
    """COMPLETE or CANCELLED -> ARCHIVED."""
    await step(api, ref, "orderArchive", member)


async def quote(
    api: Api,
    ref: OrderRef,
    member: str = "provider",
    amount: str = "900",
    *,
    expires_on: str | None = None,
    promised_completion: str | None = None,
) -> str:
    """A provider's quote of `amount` on an open request; returns the quote's ID."""
    input: dict[str, Any] = {
        "orderId": ref.id,
        "lineItems": [{"description": "Delivery", "quantity": "1", "unitPrice": amount}],
        "message": f"Quote by {member}.",
    }
    if expires_on is not None:
        input["expiresOn"] = expires_on
    if promised_completion is not None:
        input["promisedCompletion"] = promised_completion
    payload = await mutate(api, "quoteSubmit", input, member, lean=True)
    ref.quotes[org_key(member)] = payload["quote"]["id"]
    ref.version = payload["order"]["version"]
    return str(payload["quote"]["id"])


async def accept(api: Api, ref: OrderRef, provider: str, member: str = "partner") -> dict[str, Any]:
    """The partner accepts `provider`'s quote."""
    payload = await mutate(api, "quoteAccept", {"id": ref.quotes[provider]}, member, lean=True)
    ref.update(payload["order"])
    ref.provider = provider
    ref.released = True
    return payload


# ---- comments, with files over the GraphQL multipart request spec --------------------------------

FileSpec = tuple[str, bytes, str]
"""(file name, content, the content type the client declares)."""


def settle_uploads() -> list[str]:
    """Finalise what earlier multipart requests left behind; the ResourceWarnings of files left open.

    Should the server leave the temporary files of multipart requests open again (test_uploads
    test_uploaded_files_are_closed_after_the_request guards that), their ResourceWarnings would surface
    at a random later garbage collection and fail whichever test runs then; helpers collect them here.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    left_open = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    for w in caught:
        if not issubclass(w.category, ResourceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return left_open


async def post_comment(
    api: Api, member: str, input: dict[str, Any], files: list[FileSpec] | None = None, *, settle: bool = True
) -> httpx.Response:
    """commentCreate over HTTP: a JSON request, or a multipart one (operations, map, files) when `files`.

    See https://github.com/jaydenseric/graphql-multipart-request-spec. Unless `settle` is false, the
    files the server leaves open are collected afterwards (see `settle_uploads`).
    """
    headers = {"Authorization": f"Bearer {api.world[member].token}"}
    if not files:
        return await api.http.post(
            "/graphql", json={"query": doc.COMMENT_CREATE, "variables": {"input": input}}, headers=headers
        )
    operations = {
        "query": doc.COMMENT_CREATE,
        "variables": {"input": {**input, "attachments": [None] * len(files)}},
    }
    file_map = {str(i): [f"variables.input.attachments.{i}"] for i in range(len(files))}
    response = await api.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps(file_map)},
        files={str(i): spec for i, spec in enumerate(files)},
        headers=headers,
    )
    if settle:
        settle_uploads()
    return response


async def comment(
    api: Api,
    ref: OrderRef,
    member: str,
    body: str,
    visibility: str = "SHARED",
    files: list[FileSpec] | None = None,
) -> dict[str, Any]:
    """A comment by `member` that must succeed; returns it as the API does."""
    response = await post_comment(api, member, {"orderId": ref.id, "body": body, "visibility": visibility}, files)
    assert response.status_code == 200, response.text
    body_json = response.json()
    assert "errors" not in body_json, body_json
    payload = body_json["data"]["commentCreate"]
    assert payload["userErrors"] == [], payload
    created: dict[str, Any] = payload["comment"]
    return created


# ---- routes to a starting situation -------------------------------------------------------------


async def _draft(api: Api) -> OrderRef:
    return await create(api, "QUOTED")


async def _pending_quotes(api: Api) -> OrderRef:
    ref = await create(api, "QUOTED")
    await submit(api, ref)
    return ref


async def _pending_quotes_directed(api: Api) -> OrderRef:
    ref = await create(api, "QUOTED", provider="provider")
    await submit(api, ref)
    return ref


async def _pending_approval(api: Api) -> OrderRef:
    ref = await create(api, "FLAT_FEE")
    await submit(api, ref)
    return ref


async def _pending_approval_quoted(api: Api) -> OrderRef:
    ref = await _pending_quotes(api)
    await quote(api, ref, "provider", "12500")
    await accept(api, ref, "provider")
    assert ref.status == "PENDING_APPROVAL"
    return ref


async def _approved(api: Api) -> OrderRef:
    ref = await _pending_approval(api)
    await approve(api, ref)
    return ref


def _working(status: str) -> Callable[[Api], Awaitable[OrderRef]]:
    async def build(api: Api) -> OrderRef:
        ref = await _approved(api)
        await change_status(api, ref, "NOT_STARTED")
        if status != "NOT_STARTED":
            await change_status(api, ref, status)
        return ref

    return build


async def _cancelled(api: Api) -> OrderRef:
    ref = await _approved(api)
    await cancel(api, ref, "provider", "Provider cannot deliver")
    return ref


async def _cancelled_unreleased(api: Api) -> OrderRef:
    ref = await _pending_quotes(api)
    await cancel(api, ref, "partner", "Budget cut")
    return ref


async def _rejected(api: Api) -> OrderRef:
    ref = await _pending_approval(api)
    await step(api, ref, "orderReject", "vendor", reason="Out of policy")
    return ref


async def _archived(api: Api) -> OrderRef:
    ref = await _working("COMPLETE")(api)
    await archive(api, ref)
    return ref


ROUTES: dict[str, Callable[[Api], Awaitable[OrderRef]]] = {
    "DRAFT": _draft,
    "PENDING_QUOTES": _pending_quotes,
    "PENDING_QUOTES directed": _pending_quotes_directed,
    "PENDING_APPROVAL": _pending_approval,
    "PENDING_APPROVAL quoted": _pending_approval_quoted,
    "APPROVED": _approved,
    **{status: _working(status) for status in (*WORKING, "COMPLETE")},
    "CANCELLED": _cancelled,
    "CANCELLED unreleased": _cancelled_unreleased,
    "CANCELLED rejected": _rejected,
    "ARCHIVED": _archived,
}
"""Named starting situations. The first word is the status; the rest says how it was reached:

- DRAFT: a quoted draft open to every provider; PENDING_QUOTES: submitted, open to every provider;
  "directed": asked of `provider` only;
- PENDING_APPROVAL: a flat-fee order (the provider is not told yet); "quoted": provider's quote above
  the programme threshold accepted (the provider knows);
- APPROVED and the working statuses, COMPLETE: a flat-fee order from `provider`, approved by the vendor;
- CANCELLED: cancelled by the provider once APPROVED; "unreleased": by the partner while PENDING_QUOTES;
  "rejected": rejected by the vendor; ARCHIVED: COMPLETE, archived by the provider.
"""


async def order_at(api: Api, route: str) -> OrderRef:
    """A fresh order in the named situation (see ROUTES), reached through the API."""
    ref = await ROUTES[route](api)
    assert ref.status == route.split()[0], (route, ref.status)
    return ref


# ---- the oracle: who each member is to an order (product.md, Parties and roles) -----------------


def party_of(ref: OrderRef, member: str) -> Party | None:
    """How `member` relates to the order, or None when it may not see it at all."""
    org = org_key(member)
    if org == "outsider":
        return None  # vendor of another programme
    if org == "vendor":
        return Party.VENDOR
    if org.startswith("partner"):
        return Party.PARTNER if org == "partner" else None
    if ref.released and ref.provider == org:
        return Party.PROVIDER
    if ref.kind == "QUOTED" and ref.status == "PENDING_QUOTES" and ref.provider in (None, org):
        return Party.CANDIDATE_PROVIDER
    return None


def money(value: str) -> Decimal:
    """A Decimal scalar as returned by the API."""
    return Decimal(value)


async def allow_outside_recipients(api: Api, *members: str) -> None:
    """Let the organisations of `members` email any address, as the operator does (`ordergraph outside-recipients`)."""
    from ordergraph.cli.database import set_outside_recipients

    for org_id in {api.world[m].org.id for m in members}:
        await set_outside_recipients(api.runtime.settings, org_id, True)
