"""Isolation: a role x operation matrix proving no organisation reads or changes what is not its own.

The partner owns six orders in different situations, with quotes from both providers, SHARED and
INTERNAL comments by every side, provider notes and attachments (`build_estate`). Every other member
(partner_colleague as the same-organisation control, vendor, provider, provider_colleague, provider2,
partner2, outsider) then reads each order every way the API offers and tries every mutation on it.

What each member may see is written down here from product.md (Parties and roles; Comments), not derived
from the code: `Comment.seen_by` and `party_of` are the oracle.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import select

from adapters.orders import tables as order_tables
from domain.identity.model import Organisation, User
from domain.orders.lifecycle import Party
from schema.common import to_global_id
from tests.api import documents as doc
from tests.api.conftest import Api
from tests.api.flows import (
    MEMBERS,
    OrderRef,
    accept,
    approve,
    archive,
    cancel,
    change_status,
    comment,
    create,
    org_id,
    org_key,
    party_of,
    quote,
    step,
    submit,
    user_id,
    uuid_of,
)

FILES = Path(__file__).parents[1] / "fixtures" / "files"
OTHERS = tuple(m for m in MEMBERS if m != "partner")
ORGS = ("partner", "vendor", "provider", "provider2")


@dataclass
class Comment:
    """A comment of the estate and the organisations product.md lets see it (if they see the order)."""

    id: str
    body: str
    order: str
    seen_by: frozenset[str]
    attachments: list[str] = field(default_factory=list)  # attachment UUIDs


@dataclass
class Estate:
    """The partner's orders and everything around them."""

    orders: dict[str, OrderRef]
    comments: list[Comment]
    notes: dict[str, str]  # order key -> the provider notes set on it

    def visible_comments(self, order: str, member: str) -> list[Comment]:
        return [c for c in self.comments if c.order == order and org_key(member) in c.seen_by]


async def build_estate(api: Api) -> Estate:
    """Build the partner's orders through the API, as the parties allowed to."""
    tag = secrets.token_hex(3)
    orders: dict[str, OrderRef] = {}
    comments: list[Comment] = []
    notes: dict[str, str] = {}
    pdf = ("brief.pdf", (FILES / "sample.pdf").read_bytes(), "application/pdf")
    png = ("mock-up.png", (FILES / "sample.png").read_bytes(), "image/png")
    txt = ("costs.txt", (FILES / "sample.txt").read_bytes(), "text/plain")

    async def say(key: str, member: str, visibility: str, seen_by: set[str], files: Any = None) -> None:
        body = f"[{key}|{member}|{visibility}|{len(comments)}|{tag}]"
        created = await comment(api, orders[key], member, body, visibility, files)
        ids = [str(uuid_of(a["id"])) for a in created["attachments"]]
        comments.append(Comment(created["id"], body, key, frozenset(seen_by), ids))

    def named(key: str) -> str:
        return f"Isolation {key} {tag}"

    everyone = {"partner", "vendor", "provider", "provider2"}
    buyer_side = {"partner", "vendor"}

    # open: a request open to every provider, quoted by both, with comments by every side
    orders["open"] = ref = await create(api, "QUOTED", name=named("open"))
    await submit(api, ref)
    await quote(api, ref, "provider", "800")
    await quote(api, ref, "provider2", "700")
    await say("open", "partner", "SHARED", everyone, [pdf])
    await say("open", "partner", "INTERNAL", {"partner"})
    await say("open", "provider", "SHARED", buyer_side | {"provider"})
    await say("open", "provider", "INTERNAL", {"provider"})
    await say("open", "provider2", "SHARED", buyer_side | {"provider2"}, [png])
    await say("open", "provider2", "INTERNAL", {"provider2"})
    await say("open", "vendor", "INTERNAL", {"vendor"})

    # working: provider's quote accepted, in progress, with notes, an assignee and comments
    orders["working"] = ref = await create(api, "QUOTED", name=named("working"))
    await submit(api, ref)
    await say("working", "provider2", "SHARED", buyer_side | {"provider2"})
    await say("working", "provider", "SHARED", buyer_side | {"provider"})
    await quote(api, ref, "provider", "900")
    await quote(api, ref, "provider2", "950")
    await accept(api, ref, "provider")
    await change_status(api, ref, "NOT_STARTED")
    await change_status(api, ref, "IN_PROGRESS")
    notes["working"] = f"NOTES-working-{tag}"
    await step(api, ref, "orderUpdate", "provider", providerNotes=notes["working"], estimatedCompletion="2031-01-31")
    await step(api, ref, "orderAssign", "provider", assigneeId=user_id(api, "provider_colleague"))
    await say("working", "partner", "SHARED", everyone, [pdf])
    await say("working", "partner", "INTERNAL", {"partner"})
    await say("working", "provider", "SHARED", everyone)
    await say("working", "provider", "INTERNAL", {"provider"}, [txt])
    await say("working", "vendor", "INTERNAL", {"vendor"})

    # pending: a flat-fee order waiting for the vendor (its provider is not told yet)
    orders["pending"] = ref = await create(api, "FLAT_FEE", name=named("pending"))
    await submit(api, ref)
    await say("pending", "partner", "SHARED", everyone)
    await say("pending", "partner", "INTERNAL", {"partner"})

    # draft: not submitted
    orders["draft"] = ref = await create(api, "QUOTED", name=named("draft"))
    await say("draft", "partner", "SHARED", everyone)

    # archived: a flat-fee order worked to COMPLETE with notes, then archived
    orders["archived"] = ref = await create(api, "FLAT_FEE", name=named("archived"))
    await submit(api, ref)
    await approve(api, ref)
    await change_status(api, ref, "NOT_STARTED")
    notes["archived"] = f"NOTES-archived-{tag}"
    await step(api, ref, "orderUpdate", "provider_colleague", providerNotes=notes["archived"])
    await say("archived", "partner", "SHARED", everyone)
    await say("archived", "provider", "INTERNAL", {"provider"})
    await change_status(api, ref, "COMPLETE")
    await archive(api, ref)

    # cancelled: a request both providers quoted on, cancelled by the partner before any acceptance
    orders["cancelled"] = ref = await create(api, "QUOTED", name=named("cancelled"))
    await submit(api, ref)
    await quote(api, ref, "provider", "500")
    await quote(api, ref, "provider2", "600")
    await say("cancelled", "provider", "SHARED", buyer_side | {"provider"})
    await cancel(api, ref, "partner", "Not needed after all")

    return Estate(orders, comments, notes)


def quotes_seen_by(ref: OrderRef, member: str) -> set[str]:
    """Quote IDs product.md shows `member`: every one on the buyer side, its own to a provider."""
    party = party_of(ref, member)
    if party is None:
        return set()
    if party in (Party.PARTNER, Party.VENDOR):
        return set(ref.quotes.values())
    return {qid for provider, qid in ref.quotes.items() if provider == org_key(member)}


async def database_rows(api: Api) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the isolation matrix could touch, for a before/after comparison."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with api.runtime.engine.connect() as conn:
        for table in (
            order_tables.orders,
            order_tables.quotes,
            order_tables.comments,
            order_tables.attachments,
            order_tables.order_activity,
        ):
            rows = (await conn.execute(select(table))).all()
            snapshot[table.name] = sorted((tuple(str(v) for v in row) for row in rows), key=repr)
        snapshot["outbox"] = [(len((await conn.execute(select(order_tables.outbox.c.id))).all()),)]
    blobs = api.runtime.settings.files_dir / "blobs"
    snapshot["blobs"] = sorted((str(p),) for p in blobs.rglob("*") if p.is_file()) if blobs.exists() else []
    return snapshot


# ---- reads ---------------------------------------------------------------------------------------------


async def test_each_member_reads_only_what_product_md_grants(api: Api) -> None:
    # given the partner's estate
    estate = await build_estate(api)
    problems: list[str] = []

    for member in OTHERS:
        token = api.world[member].token
        for key, ref in estate.orders.items():
            party = party_of(ref, member)
            visible = party is not None
            seen_comments = estate.visible_comments(key, member) if visible else []
            hidden_comments = [c for c in estate.comments if c not in seen_comments]
            seen_quotes = quotes_seen_by(ref, member)
            hidden_quotes = set(ref.quotes.values()) - seen_quotes
            notes_shown = party is Party.PROVIDER
            where = f"{member} on {key}"

            # when the member reads the order every way the API offers
            data = await api.client(doc.ISOLATION_READ, {"id": ref.id, "search": ref.name}, token=token)
            order, node, listed, counts = data["order"], data["node"], data["orders"], data["orderStatusCounts"]

            # then it sees the order exactly when product.md says, by every route
            if (order is not None, node is not None, listed["totalCount"] == 1) != (visible, visible, visible):
                problems.append(f"{where}: order/node/orders visible {order is not None, node, listed['totalCount']}")
                continue
            expected_counts = [{"status": s, "count": int(visible and s == ref.status)} for s in doc.MATRIX_STATUSES]
            if counts != expected_counts:
                problems.append(f"{where}: orderStatusCounts {counts}, expected {expected_counts}")
            if not visible:
                continue
            listed_node = listed["edges"][0]["node"]

            # and within it only the comments, quotes, notes and activity it is granted
            expected_bodies = sorted(c.body for c in seen_comments)
            for route, got in (("order", order["comments"]), ("node", node["comments"])):
                if sorted(c["body"] for c in got) != expected_bodies:
                    problems.append(f"{where}: {route}.comments {sorted(c['body'] for c in got)} != {expected_bodies}")
            newest = seen_comments[-1].body if seen_comments else None
            for route, got in (("order", order), ("node", node), ("orders", listed_node)):
                latest = got["latestComment"]
                if (latest["body"] if latest else None) != newest:
                    problems.append(f"{where}: {route}.latestComment {latest}, expected {newest}")
                if {q["id"] for q in got["quotes"]} != seen_quotes:
                    problems.append(f"{where}: {route}.quotes {[q['id'] for q in got['quotes']]} != {seen_quotes}")
                notes = got["providerNotes"]
                expected_notes = estate.notes.get(key, "") if notes_shown else None
                if notes != expected_notes:
                    problems.append(f"{where}: {route}.providerNotes {notes!r}, expected {expected_notes!r}")
            seen_comment_uuids = {str(uuid_of(c.id)) for c in seen_comments}
            seen_quote_uuids = {str(uuid_of(q)) for q in seen_quotes}
            for entry in order["activity"]:
                after, before = entry["after"], entry["before"]
                if not notes_shown and ("provider_notes" in after or "provider_notes" in before):
                    problems.append(f"{where}: activity shows provider notes: {entry}")
                if entry["kind"] == "COMMENT_ADDED" and after.get("comment_id") not in seen_comment_uuids:
                    problems.append(f"{where}: activity shows a comment it may not see: {entry}")
                if entry["kind"].startswith("QUOTE_") and after.get("quote_id") not in seen_quote_uuids:
                    problems.append(f"{where}: activity shows a quote it may not see: {entry}")

            # and nothing it may not see appears anywhere in the response
            text = json.dumps(data)
            leaks = [c.body for c in hidden_comments if c.body in text or str(uuid_of(c.id)) in text]
            leaks += [q for q in hidden_quotes if q in text or str(uuid_of(q)) in text]
            leaks += [n for k, n in estate.notes.items() if not (notes_shown and k == key) and n in text]
            leaks += [a for c in hidden_comments for a in c.attachments if a in text]
            if leaks:
                problems.append(f"{where}: the response leaks {leaks}")

        # when the member asks for all the orders at once with nodes
        ids = [ref.id for ref in estate.orders.values()]
        nodes = (await api.client(doc.NODES, {"ids": ids}, token=token))["nodes"]
        # then it gets exactly the visible ones, in order, null for the rest
        expected = [ref.id if party_of(ref, member) else None for ref in estate.orders.values()]
        if [n["id"] if n else None for n in nodes] != expected:
            problems.append(f"{member}: nodes {[n['id'] if n else None for n in nodes]} != {expected}")

    assert not problems, "\n".join(problems)


async def test_the_outsider_sees_nothing_of_the_programme(api: Api) -> None:
    # given a programme with orders, organisations and users
    estate = await build_estate(api)
    others = [org_id(api, m) for m in ("partner", "vendor", "provider")] + [user_id(api, "partner")]
    ids = [ref.id for ref in estate.orders.values()] + others
    token = api.world["outsider"].token
    # when the vendor of another programme asks for them, lists orders and counts them
    nodes = (await api.client(doc.NODES, {"ids": ids}, token=token))["nodes"]
    listed = await api.client(doc.ORDERS, {"filter": {"archived": None}}, token=token)
    counts = await api.client(doc.ORDER_STATUS_COUNTS, {"filter": {"archived": None}}, token=token)
    # then it gets nothing
    assert nodes == [None] * len(ids)
    assert listed["orders"]["edges"] == [] and listed["orders"]["totalCount"] == 0
    assert counts["orderStatusCounts"] == [{"status": s, "count": 0} for s in doc.MATRIX_STATUSES]


async def test_attachments_download_only_for_those_who_may_see_their_comment(api: Api) -> None:
    # given the estate's attachments
    estate = await build_estate(api)
    with_files = [c for c in estate.comments if c.attachments]
    assert len(with_files) == 4
    problems: list[str] = []
    for member in MEMBERS:
        for c in with_files:
            ref = estate.orders[c.order]
            allowed = party_of(ref, member) is not None and org_key(member) in c.seen_by
            for attachment in c.attachments:
                # when the member downloads it with its bearer token
                response = await api.http.get(
                    f"/files/{attachment}", headers={"Authorization": f"Bearer {api.world[member].token}"}
                )
                # then it gets the file exactly when it may see the comment, else the same 404 as a missing file
                if allowed and response.status_code != 200:
                    problems.append(f"{member} cannot download {c.body}: {response.status_code}")
                refused = (
                    response.status_code == 404 and response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
                )
                if not allowed and not refused:
                    problems.append(f"{member} downloads {c.body}: {response.status_code}")
    # and without a token nobody does
    anonymous = await api.http.get(f"/files/{with_files[0].attachments[0]}")
    assert anonymous.status_code == 401
    assert not problems, "\n".join(problems)


# ---- the directory: organisations and users ---------------------------------------------------------------

ORGANISATIONS = """
query($kind: OrganisationKind, $search: String) { organisations(kind: $kind, search: $search) { id name kind } }"""
USERS = """
query($organisationId: ID, $search: String) {
  users(organisationId: $organisationId, search: $search) { id name email organisation { id } }
}"""

PEOPLE_SEEN = {"VENDOR": {"PARTNER", "PROVIDER"}, "PARTNER": {"PROVIDER", "VENDOR"}, "PROVIDER": {"PARTNER", "VENDOR"}}
"""Whose people a member sees besides its own organisation's, in its programme: the vendor everyone's
(product.md: it sees everything in its programme); a partner or provider its counterparts' and the vendor's,
never a competitor's (another partner's or another provider's)."""


def sees(mine: Organisation, org: Organisation, other: User) -> bool:
    """Whether a member of `mine` may see `other`, a user of `org` (the oracle of the directory)."""
    same_programme = org.programme_id == mine.programme_id
    return other.active and same_programme and (org.id == mine.id or org.kind.value in PEOPLE_SEEN[mine.kind.value])


def by_name(user: User) -> str:
    return user.name


def org_ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


async def test_each_member_lists_only_the_organisations_and_users_it_may_see(api: Api) -> None:
    # given the world, and an inactive user at the partner (listed to nobody)
    world = api.world
    gone = replace(world["partner"].user, id=uuid4(), email="gone@example.com", name="Gone Away", active=False)
    async with api.runtime.ports.uow() as uow:
        await uow.directory.add_user(gone)
        await uow.commit()
    orgs = {m.org.id: m.org for m in world.members.values()}
    people = list(world.members.values())
    problems: list[str] = []

    for key, member in world.members.items():
        token, mine = member.token, member.org

        # when the member lists the organisations (all, by kind, searched)
        programme = sorted((o for o in orgs.values() if o.programme_id == mine.programme_id), key=lambda o: o.name)
        listed = (await api.client(ORGANISATIONS, token=token))["organisations"]
        # then it gets exactly those of its programme, by name
        expected = [to_global_id("Organisation", o.id) for o in programme]
        if org_ids(listed) != expected:
            problems.append(f"{key}: organisations {[r['name'] for r in listed]}")
        for kind in ("VENDOR", "PARTNER", "PROVIDER"):
            by_kind = (await api.client(ORGANISATIONS, {"kind": kind}, token=token))["organisations"]
            if org_ids(by_kind) != [to_global_id("Organisation", o.id) for o in programme if o.kind.value == kind]:
                problems.append(f"{key}: organisations(kind: {kind}) {[r['name'] for r in by_kind]}")
        searched = (await api.client(ORGANISATIONS, {"search": "PARTNER"}, token=token))["organisations"]
        if org_ids(searched) != [to_global_id("Organisation", o.id) for o in programme if "partner" in o.name.lower()]:
            problems.append(f"{key}: organisations(search) {[r['name'] for r in searched]}")

        # when it lists the users (all, of each organisation of the world, searched)
        visible = sorted((m.user for m in people if sees(mine, orgs[m.user.organisation_id], m.user)), key=by_name)
        users = (await api.client(USERS, token=token))["users"]
        # then it gets the active users of its own organisation and of the kinds it may see, by name
        if [u["email"] for u in users] != [u.email for u in visible]:
            problems.append(f"{key}: users {[u['email'] for u in users]}")
        if any(u["organisation"] is None for u in users):
            problems.append(f"{key}: a listed user's organisation is not visible: {users}")
        for org in orgs.values():
            of_org = await api.client(USERS, {"organisationId": to_global_id("Organisation", org.id)}, token=token)
            expected_emails = [u.email for u in visible if u.organisation_id == org.id]
            if [u["email"] for u in of_org["users"]] != expected_emails:
                problems.append(f"{key}: users(organisationId: {org.name}) {[u['email'] for u in of_org['users']]}")
        searched_users = (await api.client(USERS, {"search": "Colleague"}, token=token))["users"]
        expected_emails = [u.email for u in visible if "colleague" in u.name.lower() or "colleague" in u.email]
        if [u["email"] for u in searched_users] != expected_emails:
            problems.append(f"{key}: users(search) {[u['email'] for u in searched_users]}")

        # and nothing of another programme or a hidden user appears anywhere
        text = json.dumps([listed, users])
        hidden = [m.user.email for m in people if not sees(mine, orgs[m.user.organisation_id], m.user)]
        hidden.append(gone.email)
        leaks = [email for email in hidden if f'"{email}"' in text]
        leaks += [o.name for o in orgs.values() if o.programme_id != mine.programme_id and f'"{o.name}"' in text]
        if leaks:
            problems.append(f"{key}: the directory leaks {leaks}")

    assert not problems, "\n".join(problems)


# ---- changes --------------------------------------------------------------------------------------------

CASES = (
    "name",
    "notes",
    "submit",
    "approve",
    "reject",
    "status",
    "cancel",
    "archive",
    "assign",
    "quoteSubmit",
    "quoteDecline",
    "acceptProvider",
    "acceptProvider2",
    "rejectProvider",
    "rejectProvider2",
    "comment",
)
"""Every mutation a member can try on an order (orderUpdate twice: buyer fields, provider notes)."""

# What a member that can see the order gets for each case; "ok" = product.md grants it (not tried here:
# test_lifecycle makes those moves). NF, PD, IT, IE: NotFound, PermissionDenied, InvalidTransition, Input.
# Members that cannot see an order get NotFoundError for every case.
_EXPECTED = """
member/order                name notes submit approve reject status cancel archive assign quoteSubmit quoteDecline
                            acceptProvider acceptProvider2 rejectProvider rejectProvider2 comment
partner_colleague/open      ok PD IT IT IT IT ok IT PD PD PD ok ok ok ok ok
partner_colleague/working   ok PD IT IT IT IT IT IT PD PD PD IT IT IT IT ok
partner_colleague/pending   ok PD IT IT IT IT ok IT PD PD PD -  -  -  -  ok
partner_colleague/draft     ok PD ok IT IT IT ok IT PD PD PD -  -  -  -  ok
partner_colleague/archived  PD PD IT IT IT IT IT IT PD PD PD -  -  -  -  PD
partner_colleague/cancelled PD PD IT IT IT IT IT IT PD PD PD IT IT IT IT ok
vendor/open                 ok PD IT IT IT IT ok IT PD PD PD PD PD PD PD ok
vendor/working              ok PD IT IT IT IT IT IT PD PD PD PD PD PD PD ok
vendor/pending              ok PD IT ok ok IT ok IT PD PD PD -  -  -  -  ok
vendor/draft                ok PD IT IT IT IT IT IT PD PD PD -  -  -  -  ok
vendor/archived             PD PD IT IT IT IT IT IT PD PD PD -  -  -  -  PD
vendor/cancelled            PD PD IT IT IT IT IT ok PD PD PD PD PD PD PD ok
provider/open               PD PD IT IT IT IT IT IT PD IE ok PD NF PD NF ok
provider/working            PD ok IT IT IT ok IT IT ok IT IT PD NF PD NF ok
provider/archived           PD PD IT IT IT IT IT IT PD IT IT -  -  -  -  PD
provider2/open              PD PD IT IT IT IT IT IT PD IE ok NF PD NF PD ok
"""


def _expected_table() -> dict[tuple[str, str], dict[str, str]]:
    lines = [line.split() for line in _EXPECTED.strip().splitlines()]
    header, rows = lines[0][1:] + lines[1], lines[2:]
    assert tuple(header) == CASES
    return {tuple(row[0].split("/")): dict(zip(header, row[1:], strict=True)) for row in rows}  # type: ignore[misc]


EXPECTED = _expected_table()
CODES = {
    "NF": ("NotFoundError", "NOT_FOUND"),
    "PD": ("PermissionDeniedError", "PERMISSION_DENIED"),
    "IT": ("InvalidTransitionError", "INVALID_TRANSITION"),
    "IE": ("InputError", "INVALID_INPUT"),
}


def expectation(member: str, key: str, ref: OrderRef) -> dict[str, str]:
    """Case -> expected code for `member` on the order; NotFound everywhere when it cannot see it."""
    if party_of(ref, member) is None:
        return {case: "NF" for case in CASES}
    row = EXPECTED.get((member.replace("provider_colleague", "provider"), key))
    assert row is not None, f"the table says nothing of {member} on {key}, which can see it"
    return row


def case_input(api: Api, case: str, ref: OrderRef, member: str) -> tuple[str, dict[str, Any]] | None:
    """The mutation and input of one case (None when the order has no such quote)."""
    lines = [{"description": "Poach", "unitPrice": "1"}]
    by_case: dict[str, tuple[str, dict[str, Any]]] = {
        "name": ("orderUpdate", {"id": ref.id, "name": f"Hijacked by {member}"}),
        "notes": ("orderUpdate", {"id": ref.id, "providerNotes": f"Hijacked by {member}"}),
        "submit": ("orderSubmit", {"id": ref.id}),
        "approve": ("orderApprove", {"id": ref.id}),
        "reject": ("orderReject", {"id": ref.id, "reason": "Hijack"}),
        "status": ("orderStatusChange", {"id": ref.id, "status": "SCHEDULED"}),
        "cancel": ("orderCancel", {"id": ref.id, "reason": "Hijack"}),
        "archive": ("orderArchive", {"id": ref.id}),
        "assign": ("orderAssign", {"id": ref.id, "assigneeId": user_id(api, member)}),
        "quoteSubmit": ("quoteSubmit", {"orderId": ref.id, "lineItems": lines}),
        "quoteDecline": ("quoteDecline", {"orderId": ref.id, "message": "Hijack"}),
        "comment": ("commentCreate", {"orderId": ref.id, "body": f"Hijack by {member}"}),
    }
    for provider in ("provider", "provider2"):
        if provider in ref.quotes:
            suffix = provider[0].upper() + provider[1:]
            by_case[f"accept{suffix}"] = ("quoteAccept", {"id": ref.quotes[provider]})
            by_case[f"reject{suffix}"] = ("quoteReject", {"id": ref.quotes[provider], "reason": "Hijack"})
    return by_case.get(case)


async def test_changes_by_other_members_are_refused_and_change_nothing(api: Api) -> None:
    # given the partner's estate, and every row of the database
    estate = await build_estate(api)
    before = await database_rows(api)
    token = api.world["partner"].token  # the partner's own versions (a provider's quote moves its provider's too)
    versions = {
        key: (await api.client(doc.ORDER, {"id": r.id}, token=token))["order"]["version"]
        for key, r in estate.orders.items()
    }
    problems: list[str] = []

    for member in OTHERS:
        for key, ref in estate.orders.items():
            expected = expectation(member, key, ref)
            tried: dict[str, tuple[str, str, dict[str, Any]]] = {}
            for case in CASES:
                made = case_input(api, case, ref, member)
                if made is None or expected[case] in ("ok", "-"):
                    continue
                tried[case] = (expected[case], *made)
            # when the member tries every change product.md does not grant it (one request, aliased)
            document = doc.refusal_batch((case, mutation) for case, (_, mutation, _i) in tried.items())
            variables = {case: input for case, (_, _m, input) in tried.items()}
            data = await api.client(document, variables, token=api.world[member].token)
            # then each is refused with the expected typed error
            for case, (code, mutation, _input) in tried.items():
                payload = data[case]
                errors = [(e["__typename"], e["code"]) for e in payload["userErrors"]]
                result = payload.get("order", payload.get("comment"))
                if result is not None or errors != [CODES[code]]:
                    problems.append(f"{member} {mutation} ({case}) on {key}: expected {CODES[code]}, got {payload}")

    # and the database is exactly as it was
    after = await database_rows(api)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not problems, "\n".join(problems)
    assert not changed, f"refused changes wrote to {sorted(changed)}"
    for key, ref in estate.orders.items():
        seen = (await api.client(doc.ORDER, {"id": ref.id}, token=api.world["partner"].token))["order"]
        assert (seen["status"], seen["version"], seen["name"]) == (ref.status, versions[key], ref.name), key
