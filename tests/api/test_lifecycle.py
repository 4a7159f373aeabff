"""The order lifecycle over GraphQL: every status reached by the party allowed to, and a
member x move matrix checked against the transition table of domain.lifecycle.

The matrix runs every starting situation of `flows.ROUTES` (16 of them: each status, plus the
different ways of being PENDING_QUOTES, PENDING_APPROVAL and CANCELLED that change who sees the
order) for all 8 members of the world, and tries orderStatusChange to each of the 12 statuses and
orderSubmit, orderApprove, orderReject, orderCancel and orderArchive. Refused moves run against one
order per situation (they change nothing, which is checked); each move expected to succeed gets a
fresh order built the same way.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from domain.orders.lifecycle import Action, OrderKind, OrderStatus, Party, Transition, transitions_from
from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import (
    MEMBERS,
    ROUTES,
    OrderRef,
    accept,
    allow_outside_recipients,
    approve,
    archive,
    attempt,
    cancel,
    change_status,
    create,
    money,
    mutate,
    order_at,
    org_id,
    party_of,
    quote,
    read_order,
    step,
    submit,
)

# ---- the oracle ---------------------------------------------------------------------------------


def table_rows(ref: OrderRef, party: Party) -> list[Transition]:
    """The rows of domain.lifecycle open to `party` from the order's status, after the one guard.

    The guard: an open request (no provider named) is awarded by accepting one of its quotes, so only a
    request addressed to one provider may be accepted without a quote (by that provider or the vendor).
    """
    rows = transitions_from(OrderStatus(ref.status), parties={party}, kind=OrderKind(ref.kind))
    return [row for row in rows if not (row.action is Action.ACCEPT_WITHOUT_QUOTE and ref.provider is None)]


def moves(ref: OrderRef) -> dict[str, tuple[str, dict[str, Any], Action, str]]:
    """Alias of documents.MATRIX_MOVES -> (mutation, its extra input, the action it is, the status asked)."""
    submit_to = "PENDING_QUOTES" if ref.kind == "QUOTED" else "PENDING_APPROVAL"
    approve_as = Action.ACCEPT_WITHOUT_QUOTE if ref.status == "PENDING_QUOTES" else Action.APPROVE
    actions = {
        "orderSubmit": (Action.SUBMIT, submit_to, {}),
        "orderApprove": (approve_as, "APPROVED", {}),
        "orderReject": (Action.REJECT, "CANCELLED", {"reason": doc.MATRIX_REASON}),
        "orderCancel": (Action.CANCEL, "CANCELLED", {"reason": doc.MATRIX_REASON}),
        "orderArchive": (Action.ARCHIVE, "ARCHIVED", {}),
    }
    result: dict[str, tuple[str, dict[str, Any], Action, str]] = {}
    for alias, (mutation, status) in doc.MATRIX_MOVES.items():
        if status is not None:
            result[alias] = (mutation, {"status": status}, Action.CHANGE_STATUS, status)
        else:
            action, requested, extra = actions[mutation]
            result[alias] = (mutation, extra, action, requested)
    return result


def only_error(payload: dict[str, Any]) -> dict[str, Any] | None:
    errors = payload["userErrors"]
    return errors[0] if len(errors) == 1 else None


# ---- every status, reached by the party allowed to ----------------------------------------------


async def test_a_quoted_order_is_drafted_submitted_quoted_and_accepted_below_the_threshold(api: Api) -> None:
    # given a partner's draft
    ref = await create(api, "QUOTED", name="Spring webinar")
    assert ref.status == "DRAFT"
    # when the partner submits it, both providers quote and the partner accepts the cheaper one
    await submit(api, ref)
    assert ref.status == "PENDING_QUOTES"
    await quote(api, ref, "provider", "9000")
    await quote(api, ref, "provider2", "9500")
    payload = await accept(api, ref, "provider")
    # then the order is APPROVED for that provider, and it is the provider's now
    assert payload["quote"]["status"] == "ACCEPTED"
    assert ref.status == "APPROVED"
    assert payload["order"]["provider"]["id"] == org_id(api, "provider")
    assert money(payload["order"]["total"]) == money("9000")
    seen = await read_order(api, ref, "provider")
    assert seen is not None and seen["status"] == "APPROVED"


async def test_a_quote_above_the_threshold_waits_for_the_vendor_who_approves_it(api: Api) -> None:
    # given an open request with a quote above the programme threshold (10000)
    ref = await create(api, "QUOTED")
    await submit(api, ref)
    await quote(api, ref, "provider", "10000.01")
    # when the partner accepts it
    await accept(api, ref, "provider")
    # then it waits for approval, and the vendor approves it
    assert ref.status == "PENDING_APPROVAL"
    await approve(api, ref, "vendor")
    assert ref.status == "APPROVED"


async def test_a_quote_exactly_at_the_threshold_needs_no_approval(api: Api) -> None:
    # given a quote of exactly the threshold
    ref = await create(api, "QUOTED")
    await submit(api, ref)
    await quote(api, ref, "provider", "10000")
    # when accepted, then it is approved at once
    await accept(api, ref, "provider")
    assert ref.status == "APPROVED"


async def test_a_flat_fee_order_waits_for_the_vendor(api: Api) -> None:
    # given a flat-fee draft
    ref = await create(api, "FLAT_FEE")
    # when submitted, then it waits for approval; the vendor approves it
    await submit(api, ref)
    assert ref.status == "PENDING_APPROVAL"
    await approve(api, ref, "vendor")
    assert ref.status == "APPROVED"
    assert ref.order["provider"]["id"] == org_id(api, "provider")


@pytest.mark.parametrize("member", ["provider", "provider_colleague", "vendor"])
async def test_a_request_addressed_to_a_provider_is_accepted_without_a_quote(api: Api, member: str) -> None:
    # given a request addressed to provider only
    ref = await order_at(api, "PENDING_QUOTES directed")
    # when that provider (or the vendor) accepts it without a quote
    await approve(api, ref, member)
    # then it is APPROVED for that provider, which now works it
    assert ref.status == "APPROVED"
    assert ref.order["provider"]["id"] == org_id(api, "provider")
    seen = await read_order(api, ref, "provider")
    assert seen is not None
    assert {t["action"] for t in seen["allowedTransitions"]} == {"CHANGE_STATUS", "CANCEL"}
    assert await read_order(api, ref, "provider2") is None


@pytest.mark.parametrize("member", ["provider", "provider2", "vendor"])
async def test_an_open_request_is_not_accepted_without_a_quote(api: Api, member: str) -> None:
    # given a request open to every provider, with a quote
    ref = await order_at(api, "PENDING_QUOTES")
    await quote(api, ref, "provider", "700")
    # when a provider or the vendor tries to accept it without a quote
    payload = await attempt(api, "orderApprove", {"id": ref.id}, member)
    # then it is an invalid transition (the partner awards it by accepting a quote), and nothing changes
    assert [(e["code"], e["currentStatus"], e["requestedStatus"]) for e in payload["userErrors"]] == [
        ("INVALID_TRANSITION", "PENDING_QUOTES", "APPROVED")
    ]
    assert "APPROVED" not in payload["userErrors"][0]["allowedStatuses"]
    after = await read_order(api, ref)
    assert after is not None and (after["status"], after["version"]) == ("PENDING_QUOTES", ref.version)
    assert [q["status"] for q in after["quotes"]] == ["SUBMITTED"]


async def test_accepting_a_request_without_a_quote_closes_its_open_quotes(api: Api) -> None:
    # given a request addressed to provider, which quoted on it
    ref = await order_at(api, "PENDING_QUOTES directed")
    await quote(api, ref, "provider", "700")
    # when the provider accepts the order without its quote
    await approve(api, ref, "provider")
    # then no quote is left open on it
    after = await read_order(api, ref)
    assert after is not None and after["status"] == "APPROVED"
    assert [q["status"] for q in after["quotes"]] == ["CLOSED"]


async def test_the_vendor_rejects_a_pending_order(api: Api) -> None:
    # given a flat-fee order waiting for approval
    ref = await order_at(api, "PENDING_APPROVAL")
    # when the vendor rejects it
    await step(api, ref, "orderReject", "vendor", reason="Out of policy")
    # then it is cancelled, marked rejected, with the reason
    assert ref.status == "CANCELLED"
    assert ref.order["rejected"] is True
    assert ref.order["cancelReason"] == "Out of policy"


async def test_the_provider_works_the_order_forward_and_back_to_complete_then_archives_it(api: Api) -> None:
    # given an approved order
    ref = await order_at(api, "APPROVED")
    version = ref.version
    # when the provider walks every working status, forward and back
    path = [
        "NOT_STARTED",
        "IN_PROGRESS",
        "WAITING_FOR_PARTNER",
        "IN_PROGRESS",
        "SCHEDULED",
        "EXECUTING",
        "SCHEDULED",
        "IN_PROGRESS",
        "NOT_STARTED",
        "EXECUTING",
        "COMPLETE",
    ]
    for status in path:
        await change_status(api, ref, status, "provider_colleague" if status == "SCHEDULED" else "provider")
        assert ref.status == status
    # then each move was one version, and the provider archives the complete order
    assert ref.version == version + len(path)
    await archive(api, ref, "provider")
    assert ref.status == "ARCHIVED"
    detail = await read_order(api, ref, "partner")
    assert detail is not None
    moves_seen = [e["after"]["status"] for e in detail["activity"] if e["kind"] == "STATUS_CHANGED"]
    assert moves_seen[-len(path) - 1 :] == [*path, "ARCHIVED"]


@pytest.mark.parametrize(
    ("route", "member"),
    [
        ("DRAFT", "partner"),
        ("PENDING_QUOTES", "partner"),
        ("PENDING_QUOTES", "vendor"),
        ("PENDING_APPROVAL", "partner_colleague"),
        ("PENDING_APPROVAL", "vendor"),
        ("APPROVED", "partner"),
        ("APPROVED", "vendor"),
        ("APPROVED", "provider"),
        ("NOT_STARTED", "partner"),
        ("NOT_STARTED", "vendor"),
        ("NOT_STARTED", "provider_colleague"),
    ],
)
async def test_cancel_with_a_reason_within_the_window(api: Api, route: str, member: str) -> None:
    # given an order in the cancel window of `member`
    ref = await order_at(api, route)
    # when it cancels with a reason
    await cancel(api, ref, member, reason="  Changed our plans  ")
    # then the order is CANCELLED with the (trimmed) reason, not marked rejected
    assert ref.status == "CANCELLED"
    assert ref.order["cancelReason"] == "Changed our plans"
    assert ref.order["rejected"] is False


@pytest.mark.parametrize("member", ["provider", "vendor"])
async def test_a_cancelled_order_is_archived(api: Api, member: str) -> None:
    # given an order cancelled once the provider knew of it
    ref = await order_at(api, "CANCELLED")
    # when its provider or the vendor archives it
    await archive(api, ref, member)
    # then it is ARCHIVED
    assert ref.status == "ARCHIVED"


# ---- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", list(ROUTES))
async def test_every_member_gets_exactly_the_moves_the_table_allows(api: Api, route: str) -> None:
    # given one order in the situation, and what it looks like before
    ref = await order_at(api, route)
    before = await read_order(api, ref, "vendor")
    assert before is not None
    problems: list[str] = []
    successes: list[tuple[str, str, dict[str, Any], str]] = []

    for member in MEMBERS:
        party = party_of(ref, member)
        token = api.world[member].token
        # when the member reads the order
        seen = (await api.client(doc.ALLOWED_TRANSITIONS, {"id": ref.id}, token=token))["order"]
        # then it sees it exactly when product.md says, with exactly the moves the table gives it
        allowed_rows = table_rows(ref, party) if party else []
        if party is None:
            if seen is not None:
                problems.append(f"{member} can read the order")
        elif seen is None:
            problems.append(f"{member} ({party.name}) cannot read the order")
        else:
            expected = sorted((row.action.value, row.target.value) for row in allowed_rows)
            actual = sorted((t["action"], t["status"]) for t in seen["allowedTransitions"])
            if actual != expected:
                problems.append(f"{member} ({party.name}) allowedTransitions {actual}, the table says {expected}")

        # when the member tries every move the table does not give it (one request of aliased mutations)
        tried = moves(ref)
        allowed = {
            alias
            for alias, (_m, _x, action, requested) in tried.items()
            if any(row.action is action and row.target.value == requested for row in allowed_rows)
        }
        successes.extend((member, *tried[alias][:2], tried[alias][3]) for alias in sorted(allowed))
        refused = [alias for alias in tried if alias not in allowed]
        results = await api.client(doc.lifecycle_moves(refused), {"id": ref.id}, token=token)
        # then every move the table does not give it is refused with the right typed error
        for alias in refused:
            mutation, _extra, _action, requested = tried[alias]
            payload = results[alias]
            error = only_error(payload)
            what = f"{member} {mutation} {requested}"
            if payload["order"] is not None or error is None:
                problems.append(f"{what}: expected a refusal, got {payload}")
            elif party is None:
                if (error["__typename"], error["code"]) != ("NotFoundError", "NOT_FOUND"):
                    problems.append(f"{what}: expected NotFoundError, got {error}")
            else:
                expected_error = {
                    "__typename": "InvalidTransitionError",
                    "code": "INVALID_TRANSITION",
                    "currentStatus": ref.status,
                    "requestedStatus": requested,
                    "allowedStatuses": sorted({row.target.value for row in allowed_rows}),
                }
                got = {k: error.get(k) for k in expected_error}
                got["allowedStatuses"] = sorted(got["allowedStatuses"] or [])
                if got != expected_error:
                    problems.append(f"{what}: expected {expected_error}, got {got}")
        if any(payload["order"] is not None for payload in results.values()):
            # a move was wrongly allowed and changed the order: go on from a fresh one
            ref = await order_at(api, route)
            before = await read_order(api, ref, "vendor")
            assert before is not None

    # then the refused moves changed nothing
    after = await read_order(api, ref, "vendor")
    assert after is not None
    if (after["status"], after["version"], after["activity"]) != (
        before["status"],
        before["version"],
        before["activity"],
    ):
        problems.append(f"refused moves changed the order: {before} -> {after}")

    # when each allowed move is made on a fresh order in the same situation, then it succeeds
    for member, mutation, extra, requested in successes:
        fresh = await order_at(api, route)
        data = await api.client(
            doc.LIFECYCLE_MOVE[mutation], {"input": {"id": fresh.id, **extra}}, token=api.world[member].token
        )
        payload = data[mutation]
        order = payload["order"]
        if payload["userErrors"] or order is None:
            problems.append(f"{member} {mutation} {requested}: expected success, got {payload}")
        elif (order["status"], order["version"]) != (requested, fresh.version + 1):
            problems.append(f"{member} {mutation}: now {order['status']} v{order['version']}, expected {requested}")

    assert not problems, "\n".join(problems)


# ---- asking for the status the order is in ------------------------------------------------------


async def test_a_second_submit_says_the_order_is_already_submitted(api: Api) -> None:
    # given a flat-fee order the partner has submitted
    ref = await create(api, "FLAT_FEE")
    await submit(api, ref)
    assert ref.status == "PENDING_APPROVAL"
    # when the partner submits it again
    payload = await attempt(api, "orderSubmit", {"id": ref.id}, "partner")
    # then it is an InvalidTransitionError saying plainly that the order is already there
    assert payload["order"] is None
    assert payload["userErrors"] == [
        {
            "__typename": "InvalidTransitionError",
            "field": "status",
            "code": "INVALID_TRANSITION",
            "message": "The order is already PENDING_APPROVAL; allowed from PENDING_APPROVAL: CANCELLED.",
            "currentStatus": "PENDING_APPROVAL",
            "requestedStatus": "PENDING_APPROVAL",
            "allowedStatuses": ["CANCELLED"],
        }
    ]
    # and nothing changed
    after = await read_order(api, ref)
    assert after is not None and (after["status"], after["version"]) == ("PENDING_APPROVAL", ref.version)


# ---- cancel reasons, quotes ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   \n\t "])
async def test_cancel_without_a_reason_is_an_input_error_on_reason(api: Api, reason: str) -> None:
    # given an order the partner may cancel
    ref = await order_at(api, "PENDING_QUOTES")
    # when the partner cancels without a reason
    payload = await attempt(api, "orderCancel", {"id": ref.id, "reason": reason}, "partner")
    # then it is an InputError on "reason" and the order is untouched
    assert payload["order"] is None
    assert [(e["__typename"], e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("InputError", "INVALID_INPUT", "reason")
    ]
    after = await read_order(api, ref)
    assert after is not None and (after["status"], after["version"]) == ("PENDING_QUOTES", ref.version)


async def test_an_expired_quote_cannot_be_accepted(api: Api) -> None:
    # given a quote that expires today
    ref = await order_at(api, "PENDING_QUOTES")
    today = api.runtime.ports.clock.now().date()
    quote_id = await quote(api, ref, "provider", "500", expires_on=today.isoformat())
    # when the partner accepts it tomorrow
    tomorrow = datetime.combine(today + timedelta(days=1), time(0, 0, 1), tzinfo=api.runtime.ports.clock.now().tzinfo)
    api.runtime.ports = dataclasses.replace(api.runtime.ports, clock=FixedClock(tomorrow))
    payload = await attempt(api, "quoteAccept", {"id": quote_id}, "partner")
    # then it is refused with QUOTE_EXPIRED and nothing changes
    assert payload["order"] is None and payload["quote"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("QUOTE_EXPIRED", "id")]
    after = await read_order(api, ref)
    assert after is not None
    assert (after["status"], after["version"]) == ("PENDING_QUOTES", ref.version)
    assert [q["status"] for q in after["quotes"]] == ["SUBMITTED"]


async def test_accepting_a_quote_closes_the_others_and_the_losers_no_longer_see_the_order(api: Api) -> None:
    # given an open request quoted by both providers
    ref = await order_at(api, "PENDING_QUOTES")
    await quote(api, ref, "provider", "800")
    await quote(api, ref, "provider2", "700")
    # when the partner accepts provider2's quote
    payload = await accept(api, ref, "provider2")
    # then provider2's quote is ACCEPTED, provider's CLOSED, the order APPROVED for provider2
    assert payload["quote"]["status"] == "ACCEPTED"
    after = await read_order(api, ref, "partner")
    assert after is not None
    by_provider = {q["provider"]["id"]: q for q in after["quotes"]}
    assert by_provider[org_id(api, "provider2")]["status"] == "ACCEPTED"
    assert by_provider[org_id(api, "provider")]["status"] == "CLOSED"
    assert by_provider[org_id(api, "provider")]["decidedAt"] is not None
    assert after["status"] == "APPROVED"
    assert after["provider"]["id"] == org_id(api, "provider2")
    # and the losing provider can no longer see the order, nor accept or quote on it
    assert await read_order(api, ref, "provider") is None
    retry = await attempt(api, "quoteAccept", {"id": ref.quotes["provider"]}, "partner")
    assert [e["__typename"] for e in retry["userErrors"]] in (["InvalidTransitionError"], ["InputError"])


async def test_a_rejected_quote_leaves_the_order_open_and_cannot_then_be_accepted(api: Api) -> None:
    # given two quotes
    ref = await order_at(api, "PENDING_QUOTES")
    await quote(api, ref, "provider", "800")
    await quote(api, ref, "provider2", "700")
    # when the partner rejects provider2's
    payload = await mutate(api, "quoteReject", {"id": ref.quotes["provider2"], "reason": "Too vague"}, "partner")
    # then that quote is REJECTED, the order still PENDING_QUOTES, and the quote cannot be accepted later
    assert payload["quote"]["status"] == "REJECTED"
    assert payload["order"]["status"] == "PENDING_QUOTES"
    retry = await attempt(api, "quoteAccept", {"id": ref.quotes["provider2"]}, "partner")
    assert [e["code"] for e in retry["userErrors"]] == ["INVALID_INPUT"]
    await accept(api, ref, "provider")
    assert ref.status == "APPROVED"


# ---- test doubles --------------------------------------------------------------------------------


class FixedClock:
    """A clock stopped at one instant (the API reads `ports.clock` on every request)."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


# ---- comments --------------------------------------------------------------------------------------------

_COMMENT_WITH_AUTHOR = {
    "commentCreate": """
mutation($input: CommentCreateInput!) {
  commentCreate(input: $input) { comment { body author { name email organisation { name } } } userErrors { code } }
}""",
    "orderMessageSend": """
mutation($input: OrderMessageSendInput!) {
  orderMessageSend(input: $input) { comment { body author { name email organisation { name } } } userErrors { code } }
}""",
}


@pytest.mark.parametrize("mutation", sorted(_COMMENT_WITH_AUTHOR))
@pytest.mark.parametrize("member", ["partner", "provider_colleague"])
async def test_a_new_comment_comes_back_with_its_author(api: Api, mutation: str, member: str) -> None:
    # given an order both sides work on
    ref = await order_at(api, "APPROVED")
    input: dict[str, Any] = {"orderId": ref.id, "body": f"Hello from {member}"}
    if mutation == "orderMessageSend":
        input |= {"to": ["client@customer.example"], "subject": "Hello"}
        await allow_outside_recipients(api, member)  # the client is no user of the order's organisations
    # when the member comments and reads the new comment's author in the payload
    data = await api.client(_COMMENT_WITH_AUTHOR[mutation], {"input": input}, token=api.world[member].token)
    # then the author is the member, with its organisation
    payload = data[mutation]
    me = api.world[member]
    assert payload["userErrors"] == []
    assert payload["comment"] == {
        "body": f"Hello from {member}",
        "author": {"name": me.user.name, "email": me.user.email, "organisation": {"name": me.org.name}},
    }
