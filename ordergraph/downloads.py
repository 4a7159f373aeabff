"""GET /files/{attachment_id}: an attachment's bytes, for a caller allowed to see its comment."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Final, Protocol
from urllib.parse import quote
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.common import Unauthenticated
from domain.orders import Attachment, Viewer

DOWNLOAD_PATH: Final = "/files/{attachment_id}"
# Matches anything below /files/ (even with slashes), so every miss gets this endpoint's JSON 404
# rather than the router's plain-text one.
_ROUTE_PATH: Final = "/files/{attachment_id:path}"

ViewerResolver = Callable[[str], Awaitable[Viewer | None]]
"""A bearer token to the caller's read-side scopes, or None when the token is not live."""


class AttachmentLookup(Protocol):
    """The one read the endpoint needs (OrderQueries provides it): an attachment the viewer may see."""

    async def attachment(self, viewer: Viewer, attachment_id: UUID) -> Attachment | None:
        """The attachment, or None when it does not exist or the viewer may not see its comment."""
        ...


class BlobReader(Protocol):
    """The read half of the BlobStore port."""

    async def get(self, digest: str) -> bytes | None:
        """The content with this digest, or None."""
        ...


class MissingBlob(RuntimeError):
    """An attachment row names content the blob store does not have: lost data, not a client error."""


def download_path(attachment_id: UUID) -> str:
    """The URL path that downloads this attachment."""
    return DOWNLOAD_PATH.format(attachment_id=attachment_id)


# Every response of this endpoint: never cached, never sniffed into something executable.
_COMMON_HEADERS: Final = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
}
_FILE_HEADERS: Final = {
    **_COMMON_HEADERS,
    "Content-Security-Policy": "default-src 'none'",
}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers={**_COMMON_HEADERS, **(headers or {})})


def _unauthenticated(error: str | None) -> JSONResponse:
    challenge = 'Bearer realm="ordergraph"' + (f', error="{error}"' if error else "")
    return _error(
        401,
        "UNAUTHENTICATED",
        "Send a live access token as 'Authorization: Bearer <token>'.",
        {"WWW-Authenticate": challenge},
    )


# Unknown, malformed and not-visible ids all get this same answer, so existence does not leak.
def _not_found() -> JSONResponse:
    return _error(404, "NOT_FOUND", "Attachment not found.")


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()\-]")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name RFC 5987-encoded in filename*."""
    fallback = _FALLBACK_UNSAFE.sub("_", filename).strip(" .") or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _media_type(content_type: str) -> str:
    # Stored text is UTF-8 (the sniffer accepts nothing else); saying so stops charset guessing.
    return f"{content_type}; charset=utf-8" if content_type.startswith("text/") else content_type


def download_route(resolve_viewer: ViewerResolver, queries: AttachmentLookup, blobs: BlobReader) -> Route:
    """The Starlette route for `GET /files/{attachment_id}` over the given collaborators."""

    async def download(request: Request) -> Response:
        # The token travels in a header, never the query string, so it stays out of access logs.
        token = bearer_token(request)
        if token is None:
            return _unauthenticated(None)
        try:
            viewer = await resolve_viewer(token)
        except Unauthenticated:
            viewer = None
        if viewer is None:
            return _unauthenticated("invalid_token")
        try:
            attachment_id = UUID(request.path_params["attachment_id"])
        except ValueError:
            return _not_found()
        attachment = await queries.attachment(viewer, attachment_id)
        if attachment is None:
            return _not_found()
        data = await blobs.get(attachment.sha256)
        if data is None:
            raise MissingBlob(f"Attachment {attachment.id} names blob {attachment.sha256}, which is not stored.")
        headers = {
            **_FILE_HEADERS,
            "Content-Disposition": content_disposition(attachment.filename),
            "ETag": f'"{attachment.sha256}"',
        }
        return Response(data, media_type=_media_type(attachment.content_type), headers=headers)

    return Route(_ROUTE_PATH, download, methods=["GET"], name="download_attachment")
