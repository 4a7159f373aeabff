"""Request body size limits, enforced before anything buffers the body (Starlette sets none on multipart)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.orders import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_COMMENT

MULTIPART_OVERHEAD_BYTES: Final = 1024 * 1024

MAX_OPERATION_BYTES: Final = 1024 * 1024
"""The largest request body without files (a JSON operation and its variables): the longest text an
input takes is 20,000 characters, and a 40 MB string once kept the event loop busy for 3.5 s."""


def graphql_body_limit(
    attachments: int = MAX_ATTACHMENTS_PER_COMMENT,
    attachment_bytes: int = MAX_ATTACHMENT_BYTES,
    overhead: int = MULTIPART_OVERHEAD_BYTES,
) -> int:
    """The largest GraphQL request body: every attachment at its limit, plus the operation and multipart framing."""
    return attachments * attachment_bytes + overhead


class BodyTooLarge(Exception):
    """Raised from `receive` once the body has grown past the limit; the middleware answers 413."""


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413: by Content-Length up front, else while streaming.

    `paths` limits it to those paths (and anything below them); None means every HTTP request.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, paths: Iterable[str] | None = None, operation_bytes: int | None = None
    ) -> None:
        if max_bytes < 0 or (operation_bytes is not None and operation_bytes < 0):
            raise ValueError("max_bytes and operation_bytes must not be negative")
        self.app = app
        self.max_bytes = max_bytes
        self.operation_bytes = operation_bytes
        """The limit of a body that is not multipart (no files); None: max_bytes for every body."""
        self.paths = None if paths is None else tuple(p.rstrip("/") or "/" for p in paths)

    def _applies(self, path: str) -> bool:
        if self.paths is None:
            return True
        return any(path == p or path.startswith(p if p == "/" else p + "/") for p in self.paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope["path"]):
            await self.app(scope, receive, send)
            return
        limit, code = self.max_bytes, "FILE_TOO_LARGE"
        if self.operation_bytes is not None and not _is_multipart(scope):
            limit, code = self.operation_bytes, "REQUEST_TOO_LARGE"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            # Refused before the first receive, so a client that sent Expect: 100-continue sends nothing.
            await self._refuse(send, limit, code)
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app makes of the refused body (often a 500) is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # The app may re-raise BodyTooLarge as is, wrapped, or as its own error: all mean the same.
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(send, limit, code)

    async def _refuse(self, send: Send, limit: int, code: str) -> None:
        body = json.dumps(
            {
                "errors": [
                    {
                        "message": f"The request body is larger than the limit of {limit} bytes.",
                        "extensions": {"code": code},
                    }
                ]
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of the body is never read: the connection cannot be reused.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects malformed framing itself
    return None


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == b"multipart/form-data"
    return False
