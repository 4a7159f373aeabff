"""Attachments over the GraphQL multipart request spec (operations, map, files) with httpx.

https://github.com/jaydenseric/graphql-multipart-request-spec. Files come from tests/fixtures/files
(tiny, hand-built samples of each format; `invoice.pdf` is a Windows executable and `report.docx` an
ELF binary under office names).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.files import LocalBlobStore
from adapters.orders import tables as order_tables
from domain.orders.comments import MAX_ATTACHMENTS_PER_COMMENT, MAX_COMMENT_CHARS
from ordergraph.limits import graphql_body_limit
from tests.api.conftest import Api
from tests.api.flows import MEMBERS, OrderRef, comment, order_at, post_comment, read_order, settle_uploads
from workers.blob_sweep import sweep_blobs

FILES = Path(__file__).parents[1] / "fixtures" / "files"
MB = 1024 * 1024
MAX_GRAPHQL_BODY = graphql_body_limit()

ALLOWED = {
    "sample.pdf": "application/pdf",
    "sample.png": "image/png",
    "sample.jpg": "image/jpeg",
    "sample.gif": "image/gif",
    "sample.webp": "image/webp",
    "sample.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "sample.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sample.pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "sample.zip": "application/zip",
    "sample.txt": "text/plain",
    "sample.csv": "text/csv",
}


def fixture(name: str) -> bytes:
    return (FILES / name).read_bytes()


def blobs(api: Api) -> list[Path]:
    """Every file under the blob store (temporary files included)."""
    root = api.runtime.settings.files_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def stored_rows(api: Api) -> dict[str, int]:
    """Row counts of everything a comment writes."""
    counts: dict[str, int] = {}
    async with api.runtime.engine.connect() as conn:
        for table in (
            order_tables.comments,
            order_tables.attachments,
            order_tables.order_activity,
            order_tables.outbox,
        ):
            counts[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return counts


async def download(api: Api, url: str, member: str) -> Any:
    return await api.http.get(url, headers={"Authorization": f"Bearer {api.world[member].token}"})


async def refused_upload(api: Api, ref: OrderRef, files: list[tuple[str, bytes, str]]) -> dict[str, Any]:
    """commentCreate with `files` by the partner; returns the payload after checking nothing was written."""
    before_rows, before_blobs = await stored_rows(api), blobs(api)
    before_order = await read_order(api, ref)
    response = await post_comment(api, "partner", {"orderId": ref.id, "body": "See attached"}, files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["commentCreate"]
    assert payload["comment"] is None
    # nothing written: no comment, no attachment, no activity, no outbox row, no blob on disk
    assert await stored_rows(api) == before_rows
    assert blobs(api) == before_blobs
    assert await read_order(api, ref) == before_order
    return payload


# ---- allowed files ------------------------------------------------------------------------------------


async def test_allowed_types_are_stored_with_their_sha256_and_downloadable_by_those_who_see_the_order(
    api: Api,
) -> None:
    # given an order the provider is working on
    ref = await order_at(api, "IN_PROGRESS")
    uploaded: list[tuple[str, bytes, dict[str, Any]]] = []
    for name, content_type in ALLOWED.items():
        data = fixture(name)
        # when the partner attaches each allowed type to a SHARED comment (declaring a generic type)
        created = await comment(
            api, ref, "partner", f"Here is {name}", files=[(name, data, "application/octet-stream")]
        )
        # then it is stored with the type detected from its content, its size and its SHA-256
        [attachment] = created["attachments"]
        assert attachment["filename"] == name
        assert attachment["contentType"] == content_type
        assert attachment["size"] == len(data)
        assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
        uploaded.append((name, data, attachment))

    # and it downloads, byte for byte, for everyone who sees the order, and for nobody else
    for member in MEMBERS:
        sees = member in ("partner", "partner_colleague", "vendor", "provider", "provider_colleague")
        for name, data, attachment in uploaded:
            response = await download(api, attachment["url"], member)
            if sees:
                assert response.status_code == 200, (member, name)
                assert response.content == data
                assert response.headers["content-type"].split(";")[0] == ALLOWED[name]
                assert response.headers["x-content-type-options"] == "nosniff"
            else:
                assert response.status_code == 404, (member, name)
    # and the comments carry them
    detail = await read_order(api, ref, "provider")
    assert detail is not None
    assert sorted(a["sha256"] for c in detail["comments"] for a in c["attachments"]) == sorted(
        hashlib.sha256(data).hexdigest() for _, data, _ in uploaded
    )


async def test_several_files_on_one_comment_and_a_file_of_exactly_5_mb(api: Api) -> None:
    # given an order
    ref = await order_at(api, "PENDING_QUOTES")
    big = b"a,b\n" * (5 * MB // 4)
    assert len(big) == 5 * MB
    # when the partner attaches a PDF, a PNG and a CSV of exactly 5 MB to one comment
    created = await comment(
        api,
        ref,
        "partner",
        "",
        files=[
            ("a.pdf", fixture("sample.pdf"), "application/pdf"),
            ("b.png", fixture("sample.png"), "image/png"),
            ("big.csv", big, "text/csv"),
        ],
    )
    # then all three are stored, in order
    assert [(a["filename"], a["size"]) for a in created["attachments"]] == [
        ("a.pdf", len(fixture("sample.pdf"))),
        ("b.png", len(fixture("sample.png"))),
        ("big.csv", 5 * MB),
    ]
    response = await download(api, created["attachments"][2]["url"], "vendor")
    assert response.status_code == 200 and response.content == big


async def test_an_internal_comments_attachment_downloads_only_inside_the_authors_organisation(api: Api) -> None:
    # given an order in progress
    ref = await order_at(api, "IN_PROGRESS")
    # when the provider attaches a file to an INTERNAL comment
    created = await comment(
        api, ref, "provider", "Our cost sheet", "INTERNAL", [("costs.xlsx", fixture("sample.xlsx"), "text/plain")]
    )
    url = created["attachments"][0]["url"]
    # then only the provider's users can download it
    for member in MEMBERS:
        response = await download(api, url, member)
        assert response.status_code == (200 if member.startswith("provider") and member != "provider2" else 404), member


async def test_identical_content_uploaded_twice_is_stored_once(api: Api) -> None:
    # given an order
    ref = await order_at(api, "PENDING_QUOTES")
    data = fixture("sample.pdf")
    # when the same content is attached twice, under two names, by two users
    first = await comment(api, ref, "partner", "v1", files=[("brief.pdf", data, "application/pdf")])
    second = await comment(api, ref, "vendor", "again", files=[("brief-copy.pdf", data, "application/pdf")])
    # then there are two attachments with the same SHA-256, and one file on disk
    a, b = first["attachments"][0], second["attachments"][0]
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(blobs(api)) == 1
    assert blobs(api)[0].read_bytes() == data
    for attachment in (a, b):
        response = await download(api, attachment["url"], "partner")
        assert response.status_code == 200 and response.content == data
        assert attachment["filename"] in response.headers["content-disposition"]


# ---- refused files ---------------------------------------------------------------------------------------


async def test_a_file_over_5_mb_is_refused_with_file_too_large_and_nothing_is_written(api: Api) -> None:
    # given an order with one comment already
    ref = await order_at(api, "PENDING_QUOTES")
    await comment(api, ref, "partner", "Before")
    # when the partner attaches a text file one byte over 5 MB
    payload = await refused_upload(api, ref, [("huge.txt", b"x" * (5 * MB + 1), "text/plain")])
    # then it is refused with FILE_TOO_LARGE on attachments (and nothing was written: see refused_upload)
    assert [(e["__typename"], e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("InputError", "FILE_TOO_LARGE", "attachments")
    ]


@pytest.mark.parametrize(
    ("source", "name", "declared"),
    [
        ("program.exe", "invoice.pdf", "application/pdf"),
        ("program.elf", "report.pdf", "application/pdf"),
        ("report.docx", "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("page.html", "page.html", "text/html"),
        ("page.html", "notes.txt", "text/plain"),
        ("snippet.txt", "snippet.txt", "text/plain"),
        ("image.svg", "logo.png", "image/png"),
        ("macro.docx", "letter.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("tool.zip", "tool.zip", "application/zip"),
    ],
)
async def test_executables_and_active_content_are_refused_whatever_their_name(
    api: Api, source: str, name: str, declared: str
) -> None:
    # given an order
    ref = await order_at(api, "PENDING_QUOTES")
    # when the partner attaches an executable or HTML under an innocent name and type
    payload = await refused_upload(api, ref, [(name, fixture(source), declared)])
    # then it is refused with FILE_TYPE_NOT_ALLOWED, and nothing is written
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("FILE_TYPE_NOT_ALLOWED", "attachments")]
    assert "/" not in payload["userErrors"][0]["message"].split(" is ")[0]  # the file name is shown sanitised


async def test_one_bad_file_refuses_the_whole_comment(api: Api) -> None:
    # given an order
    ref = await order_at(api, "PENDING_QUOTES")
    # when a good PDF and an executable are attached together
    payload = await refused_upload(
        api,
        ref,
        [
            ("good.pdf", fixture("sample.pdf"), "application/pdf"),
            ("bad.pdf", fixture("invoice.pdf"), "application/pdf"),
        ],
    )
    # then the comment is refused and not even the good file is stored
    assert [e["code"] for e in payload["userErrors"]] == ["FILE_TYPE_NOT_ALLOWED"]


async def test_a_request_body_beyond_the_global_limit_gets_413(api: Api) -> None:
    # given an order, and a multipart request of eleven files just under 5 MB each (over the body limit)
    ref = await order_at(api, "PENDING_QUOTES")
    before_rows, before_blobs = await stored_rows(api), blobs(api)
    part = b"y" * (5 * MB - 1024)
    files = [(f"part{i}.txt", part, "text/plain") for i in range(11)]
    assert 11 * len(part) > MAX_GRAPHQL_BODY
    # when it is sent with its length declared
    response = await post_comment(api, "partner", {"orderId": ref.id, "body": "Too much"}, files)
    # then it gets 413 with a JSON error, and nothing is written
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "FILE_TOO_LARGE"
    assert await stored_rows(api) == before_rows and blobs(api) == before_blobs


async def test_a_streamed_body_beyond_the_global_limit_gets_413(api: Api) -> None:
    # given a multipart body streamed in chunks without a declared length
    ref = await order_at(api, "PENDING_QUOTES")
    before_rows, before_blobs = await stored_rows(api), blobs(api)
    boundary = "ordergraphboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        '{"query": "mutation($f: Upload!) { commentCreate(input: {orderId: \\"' + ref.id + '\\", '
        'attachments: [$f]}) { comment { id } } }", "variables": {"f": null}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.f"]}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        chunk = b"z" * MB
        for _ in range(MAX_GRAPHQL_BODY // MB + 2):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    # when it is posted
    response = await api.http.post(
        "/graphql",
        content=body(),
        headers={
            "Authorization": f"Bearer {api.world['partner'].token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    settle_uploads()
    # then it gets 413, and nothing is written
    assert response.status_code == 413
    assert await stored_rows(api) == before_rows and blobs(api) == before_blobs


@pytest.mark.parametrize(("name", "source"), [("brief.pdf", "sample.pdf"), ("invoice.pdf", "program.exe")])
async def test_uploaded_files_are_closed_after_the_request(api: Api, name: str, source: str) -> None:
    # given an order, and no upload left open by earlier requests
    ref = await order_at(api, "PENDING_QUOTES")
    settle_uploads()
    # when a comment with a file is posted (accepted or refused)
    response = await post_comment(
        api, "partner", {"orderId": ref.id, "body": "File"}, [(name, fixture(source), "application/pdf")], settle=False
    )
    assert response.status_code == 200
    # then the server has closed the temporary file it spooled the upload into
    assert settle_uploads() == []


async def test_an_attachment_is_only_reachable_through_the_comment_it_was_saved_with(api: Api) -> None:
    # given a saved attachment
    ref = await order_at(api, "PENDING_QUOTES")
    created = await comment(
        api, ref, "partner", "Original", files=[("a.pdf", fixture("sample.pdf"), "application/pdf")]
    )
    # when someone tries to reach it under another id or path
    attachment_id = created["attachments"][0]["url"].rsplit("/", 1)[1]
    for url in (f"/files/{attachment_id}x", f"/files/{attachment_id}/{attachment_id}", "/files/..%2f..%2fetc%2fpasswd"):
        response = await download(api, url, "partner")
        # then it is a plain 404
        assert response.status_code == 404, url
    # and the comment mutation has no way to change or remove attachments
    introspection = "{ __schema { mutationType { fields { name } } } }"
    mutations = (await api.client(introspection, token=api.world["partner"].token))["__schema"]
    names = {f["name"] for f in mutations["mutationType"]["fields"]}
    assert not {n for n in names if n.startswith(("comment", "attachment")) and n != "commentCreate"}


# ---- a refusal stores nothing ---------------------------------------------------------------------


def blob_folder(api: Api) -> dict[str, str]:
    """Every file of the blob store by its path, with the SHA-256 of its bytes."""
    root = api.runtime.settings.files_dir
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


COMMENT_CREATE_IDS = """
mutation($input: CommentCreateInput!) {
  commentCreate(input: $input) { comment { id } userErrors { code field } }
}"""
MESSAGE_SEND = """
mutation($input: OrderMessageSendInput!) {
  orderMessageSend(input: $input) { comment { id } userErrors { code field } }
}"""


async def multipart(api: Api, document: str, input: dict[str, Any], files: list[tuple[str, bytes, str]]) -> Any:
    """A multipart mutation by the partner with `files` as input.attachments; its JSON answer."""
    operations = {"query": document, "variables": {"input": {**input, "attachments": [None] * len(files)}}}
    response = await api.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps(_placeholders(len(files)))},
        files={str(i): spec for i, spec in enumerate(files)},
        headers={"Authorization": f"Bearer {api.world['partner'].token}"},
    )
    settle_uploads()
    assert response.status_code == 200, response.text
    return response.json()


def _placeholders(count: int) -> dict[str, list[str]]:
    return {str(i): [f"variables.input.attachments.{i}"] for i in range(count)}


@pytest.mark.parametrize(
    ("mutation", "status", "changes", "count", "refusal"),
    [
        ("commentCreate", "PENDING_QUOTES", {"body": "x" * (MAX_COMMENT_CHARS + 1)}, 3, ("INVALID_INPUT", "body")),
        ("commentCreate", "ARCHIVED", {}, 3, ("PERMISSION_DENIED", "orderId")),
        ("commentCreate", "PENDING_QUOTES", {}, MAX_ATTACHMENTS_PER_COMMENT + 1, ("INVALID_INPUT", "attachments")),
        ("orderMessageSend", "PENDING_QUOTES", {"subject": "s" * 201}, 3, ("INVALID_INPUT", "subject")),
        ("orderMessageSend", "PENDING_QUOTES", {"to": ["not an address"]}, 3, ("INVALID_INPUT", "to.0")),
        ("orderMessageSend", "PENDING_QUOTES", {"to": ["x@outside.example"]}, 3, ("RECIPIENT_NOT_ALLOWED", "to.0")),
        (
            "orderMessageSend",
            "PENDING_QUOTES",
            {"to": [f"c{n}@x.example" for n in range(11)]},
            3,
            ("TOO_MANY_RECIPIENTS", "to"),
        ),
    ],
)
async def test_a_refused_comment_or_follow_up_stores_none_of_its_files(
    api: Api, mutation: str, status: str, changes: dict[str, Any], count: int, refusal: tuple[str, str]
) -> None:
    # given an order, and the blob folder as it is (one attachment already stored)
    ref = await order_at(api, status)
    kept = [("a.txt", b"kept", "text/plain")]
    await comment(api, await order_at(api, "PENDING_QUOTES"), "partner", "earlier", files=kept)
    before = blob_folder(api)
    assert before
    # when a comment (or a follow-up) with files of new content is refused for a reason besides the files
    files = [(f"note-{i}.txt", f"note {i} of a refused comment".encode(), "text/plain") for i in range(count)]
    input = {"orderId": ref.id, "body": "See attached", **changes}
    if mutation == "orderMessageSend":
        input = {"to": ["client@customer.example"], "subject": "Hello", **input}
    answer = await multipart(api, MESSAGE_SEND if mutation == "orderMessageSend" else COMMENT_CREATE_IDS, input, files)
    # then it is refused, and the blob folder is byte for byte what it was (once: 10 blobs of 5 MB left behind)
    assert "errors" not in answer, answer
    assert [(e["code"], e["field"]) for e in answer["data"][mutation]["userErrors"]] == [refusal]
    assert blob_folder(api) == before


async def test_the_sweep_keeps_every_attached_blob_and_deletes_the_unreferenced(api: Api) -> None:
    # given an attachment stored an hour and more ago, and a blob no attachment references, as old
    ref = await order_at(api, "PENDING_QUOTES")
    attached = await comment(api, ref, "partner", "kept", files=[("kept.txt", b"attached and kept", "text/plain")])
    store = api.runtime.ports.blobs
    assert isinstance(store, LocalBlobStore)
    orphan = await store.put(b"stored by a transaction that failed")
    for path in store.root.rglob("*"):
        if path.is_file():
            os.utime(path, (path.stat().st_mtime - 7200,) * 2)
    # when the sweep runs against the application's database
    removed = await sweep_blobs(api.runtime.engine, store, older_than=3600)
    # then the orphan is gone and the attachment still downloads
    assert removed == 1 and await store.get(orphan) is None
    response = await download(api, attached["attachments"][0]["url"], "partner")
    assert (response.status_code, response.content) == (200, b"attached and kept")
