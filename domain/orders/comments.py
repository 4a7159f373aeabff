"""Comments on an order and the files attached to them (append-only)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final
from uuid import UUID, uuid4

from domain.common import MAX_TEXT, FileTooLarge, FileTypeNotAllowed, InvalidInput, PermissionDenied, check_text
from domain.identity import Actor
from domain.orders.events import EVERYONE, Audience, EventKind, OrderEvent
from domain.orders.lifecycle import OrderStatus, Party
from domain.orders.order import Order

MAX_ATTACHMENT_BYTES: Final = 5 * 1024 * 1024
MAX_ATTACHMENTS_PER_COMMENT: Final = 10
MAX_COMMENT_CHARS: Final = 10 * MAX_TEXT

ALLOWED_CONTENT_TYPES: Final = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/zip",
        "text/plain",
        "text/csv",
    }
)
"""Types an attachment may have, judged by its content, never by its name."""


class CommentVisibility(Enum):
    """SHARED comments reach both sides; INTERNAL ones stay in the author's organisation."""

    SHARED = "SHARED"
    INTERNAL = "INTERNAL"


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as received, with the type its content was detected as (None if unknown)."""

    filename: str
    data: bytes
    detected_type: str | None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A stored file on a comment; never modified or deleted once saved."""

    id: UUID
    comment_id: UUID
    order_id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


@dataclass(slots=True)
class Comment:
    """A message on an order's thread."""

    id: UUID
    order_id: UUID
    author_id: UUID
    author_org_id: UUID
    visibility: CommentVisibility
    body: str
    created_at: datetime
    audience: Audience = EVERYONE
    attachments: list[Attachment] = field(default_factory=list)
    events: list[OrderEvent] = field(default_factory=list, repr=False)

    def pull_events(self) -> list[OrderEvent]:
        """Hand the recorded events to the unit of work, once."""
        events, self.events = self.events, []
        return events


def check_upload(upload: Upload) -> str:
    """The upload's allowed content type; refuses oversize files and types not on the list."""
    if len(upload.data) > MAX_ATTACHMENT_BYTES:
        raise FileTooLarge(
            f"{safe_filename(upload.filename)} is {len(upload.data)} bytes; the limit is {MAX_ATTACHMENT_BYTES}.",
            field="attachments",
        )
    if upload.detected_type not in ALLOWED_CONTENT_TYPES:
        kind = upload.detected_type or "unrecognised content"
        raise FileTypeNotAllowed(
            f"{safe_filename(upload.filename)} is {kind}, which is not an allowed attachment type.",
            field="attachments",
        )
    return upload.detected_type


_UNSAFE = re.compile(r"[^\w.\- ()]+")


def safe_filename(name: str) -> str:
    """A display name without paths or control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .") or "attachment"
    return cleaned[:120]


def comment_audience(actor: Actor, order: Order, visibility: CommentVisibility) -> Audience:
    """Internal: the author's organisation. Shared by a provider still quoting: it and the buyer side."""
    if visibility is CommentVisibility.INTERNAL:
        return Audience(org_id=actor.organisation_id)
    if Party.CANDIDATE_PROVIDER in order.parties_of(actor):
        return Audience(org_id=actor.organisation_id, buyer_side=True)
    return EVERYONE


def new_comment(
    *,
    actor: Actor,
    order: Order,
    now: datetime,
    body: str,
    visibility: CommentVisibility,
    files: list[tuple[Upload, str]],
) -> Comment:
    """A comment by `actor` on `order`; `files` are checked uploads with their stored SHA-256."""
    if not order.can_see(actor):
        raise PermissionDenied("You cannot comment on this order.", field="orderId")
    if order.status is OrderStatus.ARCHIVED:
        raise PermissionDenied("An archived order takes no more comments.", field="orderId")
    text = check_text(body, "body").strip()
    if not text and not files:
        raise InvalidInput("A comment needs a body or an attachment.", field="body")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"A comment is at most {MAX_COMMENT_CHARS} characters.", field="body")
    if len(files) > MAX_ATTACHMENTS_PER_COMMENT:
        raise InvalidInput(f"At most {MAX_ATTACHMENTS_PER_COMMENT} attachments per comment.", field="attachments")
    audience = comment_audience(actor, order, visibility)
    comment = Comment(
        id=uuid4(),
        order_id=order.id,
        author_id=actor.user_id,
        author_org_id=actor.organisation_id,
        visibility=visibility,
        body=text,
        created_at=now,
        audience=audience,
    )
    for upload, digest in files:
        comment.attachments.append(
            Attachment(
                id=uuid4(),
                comment_id=comment.id,
                order_id=order.id,
                filename=safe_filename(upload.filename),
                content_type=check_upload(upload),
                size=len(upload.data),
                sha256=digest,
                created_at=now,
            )
        )
    comment.events.append(
        OrderEvent(
            kind=EventKind.COMMENT_ADDED,
            order_id=order.id,
            actor_user_id=actor.user_id,
            actor_org_id=actor.organisation_id,
            occurred_at=now,
            after={
                "comment_id": str(comment.id),
                "visibility": visibility.value,
                "attachments": len(comment.attachments),
            },
            audience=audience,
            subject_id=comment.id,
        )
    )
    return comment
