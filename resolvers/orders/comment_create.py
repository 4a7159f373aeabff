"""commentCreate: a comment on an order, optionally with attachments (GraphQL multipart upload)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.common import DomainError
from domain.orders import MAX_ATTACHMENT_BYTES, CreateComment, create_comment
from domain.orders import Upload as DomainUpload
from schema.common import INPUT, Context, UserError, decode_id, user_errors
from schema.orders import Comment, CommentVisibility, build_comments, names_below


@strawberry.input(description="A comment. Attachments: at most 5 MB each, type checked by content.")
class CommentCreateInput:
    """Input of commentCreate."""

    order_id: strawberry.ID = strawberry.field(description="The order.")
    body: str = strawberry.field(default="", description="The text (may be empty when files are attached).")
    visibility: CommentVisibility = strawberry.field(
        default=CommentVisibility.SHARED, description="SHARED with the other side, or INTERNAL to your organisation."
    )
    attachments: list[Upload] = strawberry.field(
        default_factory=list, description="Files (multipart request). PDF, images, Office documents, CSV, text."
    )


@strawberry.type(description="The result of commentCreate.")
class CommentCreatePayload:
    """Payload of commentCreate."""

    comment: Comment | None = strawberry.field(description="The new comment; null when it failed.")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def _read(upload: Any, info: Info[Context, None]) -> DomainUpload:
    # Read one byte past the limit: enough to know a file is too large without buffering all of it.
    data: bytes = await upload.read(MAX_ATTACHMENT_BYTES + 1)
    filename = str(getattr(upload, "filename", None) or "attachment")
    return DomainUpload(filename, data, info.context.ports.sniffer.detect(data))


async def resolve(info: Info[Context, None], input: Annotated[CommentCreateInput, INPUT]) -> CommentCreatePayload:
    """Add a comment."""
    actor = info.context.require_actor()
    try:
        uploads = tuple([await _read(upload, info) for upload in input.attachments])
        order_id = decode_id(input.order_id, "Order", field="orderId")
        command = CreateComment(order_id, input.body, input.visibility, uploads)
        comment = await create_comment(info.context.ports, actor, command)
    except DomainError as exc:
        return CommentCreatePayload(comment=None, user_errors=user_errors(exc, target="orderId"))
    [built] = await build_comments(info.context, [comment], names_below(info, "comment"))
    return CommentCreatePayload(comment=built, user_errors=[])


field = strawberry.mutation(
    resolver=resolve,
    description="Comment on an order you can see; attachments can never be changed or deleted afterwards.",
)
