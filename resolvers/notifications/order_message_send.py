"""orderMessageSend: a follow-up emailed from the order (seed 002's Post a Followup)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.common import DomainError
from domain.notifications import SendMessage, send_message
from domain.orders import MAX_ATTACHMENT_BYTES
from domain.orders import Upload as DomainUpload
from schema.common import INPUT, Context, UserError, decode_id, user_errors
from schema.orders import Comment, CommentVisibility, Order, build_comments, build_one, names_below


@strawberry.input(description="A follow-up: emailed to `to`, and kept on the order's thread as a comment.")
class OrderMessageSendInput:
    """Input of orderMessageSend."""

    order_id: strawberry.ID = strawberry.field(description="The order.")
    to: list[str] = strawberry.field(
        description="Who receives it by email: 1 to 10 addresses (the deployment may set up to 20: "
        "TOO_MANY_RECIPIENTS states the limit), each one of the order's people (users of the organisations on "
        "it, its watchers) or on the notification recipients your side sees, unless your organisation may email "
        "outside addresses (RECIPIENT_NOT_ALLOWED names the one refused)."
    )
    subject: str = strawberry.field(description="The email's subject: one line, at most 200 characters.")
    body: str = strawberry.field(description="The message.")
    visibility: CommentVisibility = strawberry.field(
        default=CommentVisibility.SHARED,
        description="SHARED: on the thread for both sides. INTERNAL: your organisation only (then `to` may "
        "only name your colleagues).",
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Also assign the order to this user of its provider (providers only)."
    )
    watch: bool = strawberry.field(default=False, description="Also watch the order.")
    attachments: list[Upload] = strawberry.field(
        default_factory=list, description="Files (multipart request), at most 5 MB each; sent with the email."
    )
    expected_version: int | None = strawberry.field(default=None, description="Fail if the order changed since.")


@strawberry.type(description="The result of orderMessageSend.")
class OrderMessageSendPayload:
    """Payload of orderMessageSend."""

    comment: Comment | None = strawberry.field(description="The follow-up as it stands on the thread.")
    order: Order | None = strawberry.field(description="The order after the change (reassigned, watched).")
    user_errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


async def _read(upload: Any, info: Info[Context, None]) -> DomainUpload:
    data: bytes = await upload.read(MAX_ATTACHMENT_BYTES + 1)
    filename = str(getattr(upload, "filename", None) or "attachment")
    return DomainUpload(filename, data, info.context.ports.sniffer.detect(data))


async def resolve(info: Info[Context, None], input: Annotated[OrderMessageSendInput, INPUT]) -> OrderMessageSendPayload:
    """Send a follow-up."""
    actor = info.context.require_actor()
    try:
        assignee = decode_id(input.assignee_id, "User", field="assigneeId") if input.assignee_id else None
        command = SendMessage(
            order_id=decode_id(input.order_id, "Order", field="orderId"),
            to=tuple(input.to),
            subject=input.subject,
            body=input.body,
            visibility=input.visibility,
            assignee_id=assignee,
            reassign=assignee is not None,
            watch=input.watch,
            uploads=tuple([await _read(upload, info) for upload in input.attachments]),
            expected_version=input.expected_version,
        )
        order, comment = await send_message(info.context.ports, actor, command)
    except DomainError as exc:
        return OrderMessageSendPayload(comment=None, order=None, user_errors=user_errors(exc, target="orderId"))
    [built] = await build_comments(info.context, [comment], names_below(info, "comment"))
    return OrderMessageSendPayload(comment=built, order=await build_one(info, order), user_errors=[])


field = strawberry.mutation(
    resolver=resolve,
    description="Post a follow-up on an order and email it to `to` (with its attachments); watchers and the "
    "other side get a copy when it is SHARED. Optionally reassign the order and watch it. Follow-ups and order "
    "links are limited per user per hour and per organisation per day (RATE_LIMITED, with retryAfter).",
)
