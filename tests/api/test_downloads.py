"""GET /files/{id} over HTTP, and the request body limit in front of the GraphQL endpoint.

The route runs in a tiny Starlette app with the real LocalBlobStore on tmp_path. Its collaborators
(token resolution, the attachment query) are in-test doubles: they are not what is under test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.files import LocalBlobStore
from domain.common.errors import Unauthenticated
from domain.identity.model import Actor, OrgKind, Role
from domain.orders.comments import Attachment
from domain.orders.queries import Viewer, viewer_for
from ordergraph.downloads import MissingBlob, content_disposition, download_path, download_route
from ordergraph.limits import BodySizeLimit, graphql_body_limit

PROGRAMME = uuid4()
PDF = (Path(__file__).parents[1] / "fixtures" / "files" / "sample.pdf").read_bytes()


def viewer(kind: OrgKind) -> Viewer:
    return viewer_for(Actor(uuid4(), uuid4(), kind, Role.MEMBER, PROGRAMME))


OWNER = viewer(OrgKind.PARTNER)
STRANGER = viewer(OrgKind.PARTNER)
TOKENS = {"owner-token": OWNER, "stranger-token": STRANGER}


async def resolve_viewer(token: str) -> Viewer | None:
    if token == "revoked-token":
        raise Unauthenticated("The access token is invalid or has expired.")
    return TOKENS.get(token)


@dataclass
class OneViewerAttachments:
    """Answers `attachment` like OrderQueries: the attachment for the one viewer allowed, else None."""

    allowed: Viewer
    attachments: dict[UUID, Attachment]

    async def attachment(self, viewer: Viewer, attachment_id: UUID) -> Attachment | None:
        return self.attachments.get(attachment_id) if viewer == self.allowed else None


def attachment(filename: str, content_type: str, data: bytes, digest: str) -> Attachment:
    return Attachment(
        id=uuid4(),
        comment_id=uuid4(),
        order_id=uuid4(),
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


@dataclass
class Files:
    client: httpx.AsyncClient
    pdf: Attachment
    text: Attachment
    lost: Attachment


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[Files]:
    blobs = LocalBlobStore(tmp_path / "blobs")
    pdf = attachment("Résumé 2024.pdf", "application/pdf", PDF, await blobs.put(PDF))
    text = attachment("notes.txt", "text/plain", b"hello\n", await blobs.put(b"hello\n"))
    lost = attachment("lost.pdf", "application/pdf", b"gone", "0" * 64)
    queries = OneViewerAttachments(OWNER, {a.id: a for a in (pdf, text, lost)})
    app = Starlette(routes=[download_route(resolve_viewer, queries, blobs)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Files(client, pdf, text, lost)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code(response: httpx.Response) -> str:
    body = response.json()
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def test_the_owner_downloads_the_exact_bytes_with_safe_headers(files: Files) -> None:
    response = await files.client.get(download_path(files.pdf.id), headers=bearer("owner-token"))

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(PDF))
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"R_sum_ 2024.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["etag"] == f'"{files.pdf.sha256}"'


async def test_text_is_served_as_utf8(files: Files) -> None:
    response = await files.client.get(download_path(files.text.id), headers=bearer("owner-token"))

    assert response.status_code == 200
    assert response.content == b"hello\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_the_bearer_scheme_is_case_insensitive(files: Files) -> None:
    response = await files.client.get(download_path(files.pdf.id), headers={"Authorization": "bearer owner-token"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": "owner-token"}, id="no-scheme"),
        pytest.param({"Authorization": "Basic b3duZXI6cHc="}, id="basic"),
        pytest.param({"Authorization": "Bearer "}, id="empty-token"),
        pytest.param({"Authorization": "Bearer owner-token extra"}, id="two-tokens"),
    ],
)
async def test_without_a_bearer_token_the_answer_is_401(files: Files, headers: dict[str, str]) -> None:
    response = await files.client.get(download_path(files.pdf.id), headers=headers)

    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("token", ["unknown-token", "revoked-token"])
async def test_a_token_that_is_not_live_gets_401(files: Files, token: str) -> None:
    response = await files.client.get(download_path(files.pdf.id), headers=bearer(token))

    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_token_in_the_query_string_is_not_accepted(files: Files) -> None:
    response = await files.client.get(download_path(files.pdf.id), params={"access_token": "owner-token"})

    assert response.status_code == 401


async def test_an_anonymous_caller_learns_nothing_about_ids(files: Files) -> None:
    known = await files.client.get(download_path(files.pdf.id))
    malformed = await files.client.get("/files/not-a-uuid")

    assert known.status_code == malformed.status_code == 401
    assert known.content == malformed.content


async def test_unknown_malformed_and_invisible_ids_get_the_same_404(files: Files) -> None:
    headers = bearer("stranger-token")
    invisible = await files.client.get(download_path(files.pdf.id), headers=headers)
    unknown = await files.client.get(download_path(uuid4()), headers=bearer("owner-token"))
    malformed = await files.client.get("/files/not-a-uuid", headers=bearer("owner-token"))
    traversal = await files.client.get("/files/..%2F..%2Fetc%2Fpasswd", headers=bearer("owner-token"))

    for response in (invisible, unknown, malformed, traversal):
        assert response.status_code == 404
        assert response.content == invisible.content
        assert response.headers["content-type"] == invisible.headers["content-type"]
        assert "content-disposition" not in response.headers
    assert error_code(invisible) == "NOT_FOUND"


async def test_only_get_is_served(files: Files) -> None:
    response = await files.client.post(download_path(files.pdf.id), headers=bearer("owner-token"))

    assert response.status_code == 405


async def test_an_attachment_whose_content_is_lost_is_a_server_error_not_a_404(files: Files) -> None:
    with pytest.raises(MissingBlob):
        await files.client.get(download_path(files.lost.id), headers=bearer("owner-token"))


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        ('a"b\\c.txt', "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"),
        (
            "x\r\nSet-Cookie: a=b",
            "attachment; filename=\"x__Set-Cookie_ a_b\"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db",
        ),
        ("日本.png", "attachment; filename=\"__.png\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png"),
    ],
)
def test_content_disposition_cannot_be_broken_out_of(filename: str, expected: str) -> None:
    assert content_disposition(filename) == expected


# --- request body limit -----------------------------------------------------------------------

LIMIT = 1000


@dataclass
class Calls:
    count: int = 0


def limited_app(calls: Calls, *, catch_errors: bool = False, form: bool = False) -> Starlette:
    """An app whose /graphql reads the whole body (or form) and says how big it was."""

    async def graphql(request: Request) -> Response:
        calls.count += 1
        try:
            if form:
                async with request.form() as parsed:
                    return JSONResponse({"fields": len(parsed)})
            return JSONResponse({"size": len(await request.body())})
        except Exception:
            if catch_errors:
                return JSONResponse({"errors": [{"message": "bad request"}]}, status_code=400)
            raise

    async def other(request: Request) -> Response:
        return JSONResponse({"size": len(await request.body())})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/upload", other, methods=["POST"])],
        middleware=[Middleware(BodySizeLimit, max_bytes=LIMIT, paths=["/graphql"])],
    )


def client_for(app: Starlette | BodySizeLimit) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


class Chunks:
    """A request body sent chunked (no Content-Length), counting how much the server pulled."""

    def __init__(self, count: int, size: int = 100) -> None:
        self.count = count
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.sent += 1
            yield b"x" * self.size


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.headers["connection"] == "close"
    body = json.loads(response.content)
    assert body["errors"][0]["extensions"]["code"] == "FILE_TOO_LARGE"
    assert str(LIMIT) in body["errors"][0]["message"]


async def test_a_declared_content_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    calls = Calls()
    async with client_for(limited_app(calls)) as client:
        response = await client.post("/graphql", content=b"x" * (LIMIT + 1))

    assert_refused(response)
    assert calls.count == 0


async def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit() -> None:
    calls = Calls()
    body = Chunks(count=1000)  # 100 KB in 100-byte chunks
    async with client_for(limited_app(calls)) as client:
        response = await client.post("/graphql", content=body)

    assert "content-length" not in response.request.headers
    assert_refused(response)
    assert body.sent == LIMIT // body.size + 1  # read up to the first byte too many, no further


async def test_an_app_that_swallows_the_error_still_answers_413() -> None:
    calls = Calls()
    async with client_for(limited_app(calls, catch_errors=True)) as client:
        response = await client.post("/graphql", content=Chunks(count=50))

    assert_refused(response)
    assert calls.count == 1


async def test_a_chunked_multipart_upload_over_the_limit_is_refused_while_parsed() -> None:
    boundary = "limit-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    async def multipart() -> AsyncIterator[bytes]:
        yield head
        for _ in range(100):
            yield b"\x00" * 100
        yield f"\r\n--{boundary}--\r\n".encode()

    async with client_for(limited_app(Calls(), form=True)) as client:
        response = await client.post(
            "/graphql",
            content=multipart(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    assert_refused(response)


async def test_wrapping_the_whole_app_also_turns_its_500_into_413() -> None:
    calls = Calls()
    inner = Starlette(routes=limited_app(calls).routes)
    async with client_for(BodySizeLimit(inner, max_bytes=LIMIT)) as client:
        response = await client.post("/graphql", content=Chunks(count=50))

    assert_refused(response)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"x" * 10, id="small-with-length"),
        pytest.param(b"x" * LIMIT, id="exactly-the-limit"),
        pytest.param(Chunks(count=LIMIT // 100), id="chunked-exactly-the-limit"),
        pytest.param(Chunks(count=1, size=10), id="small-chunked"),
    ],
)
async def test_bodies_within_the_limit_pass_untouched(content: bytes | Chunks) -> None:
    expected = len(content) if isinstance(content, bytes) else content.count * content.size
    async with client_for(limited_app(Calls())) as client:
        response = await client.post("/graphql", content=content)

    assert response.status_code == 200
    assert response.json() == {"size": expected}
    assert "connection" not in response.headers


async def test_paths_outside_the_limit_are_not_limited() -> None:
    async with client_for(limited_app(Calls())) as client:
        response = await client.post("/upload", content=b"x" * (LIMIT * 5))

    assert response.status_code == 200
    assert response.json() == {"size": LIMIT * 5}


def test_the_graphql_limit_is_ten_attachments_of_5_mb_plus_1_mb() -> None:
    assert graphql_body_limit() == 10 * 5 * 1024 * 1024 + 1024 * 1024
    assert graphql_body_limit(attachments=1, attachment_bytes=100, overhead=10) == 110
