"""Follow-up messages about an order, each recording the event the outbox turns into email."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final

from domain.common import InvalidInput, has_control
from domain.identity import Actor
from domain.notifications.recipients import clean_emails
from domain.orders import (
    Comment,
    CommentVisibility,
    Order,
    Upload,
    new_comment,
)

MAX_SUBJECT: Final = 200


def clean_subject(subject: str) -> str:
    """A one-line subject of 1 to MAX_SUBJECT characters (email headers take no line breaks)."""
    text = " ".join(subject.split())
    if not text or len(text) > MAX_SUBJECT or has_control(text):
        raise InvalidInput(f"A subject is one line of 1 to {MAX_SUBJECT} characters.", field="subject")
    return text


def new_follow_up(
    *,
    actor: Actor,
    order: Order,
    now: datetime,
    to: Sequence[str],
    subject: str,
    body: str,
    visibility: CommentVisibility,
    files: list[tuple[Upload, str]],
    colleagues: Collection[str],
) -> Comment:
    """A follow-up: a comment on the order's thread that is also emailed to `to`.

    An INTERNAL follow-up stays in the author's organisation, so each of its addresses must be
    an active colleague's (`colleagues`: their normalised emails).
    """
    recipients = clean_emails(to, field="to", required=True)
    clean = clean_subject(subject)
    if not body.strip():
        raise InvalidInput("A follow-up needs a body.", field="body")
    if visibility is CommentVisibility.INTERNAL:
        outside = [email for email in recipients if email not in colleagues]
        if outside:
            raise InvalidInput(
                f"An internal follow-up goes to colleagues only; {outside[0]} is not one. Send it SHARED.",
                field="to",
            )
    comment = new_comment(actor=actor, order=order, now=now, body=body, visibility=visibility, files=files)
    event = comment.events[0]
    message = {"to": list(recipients), "subject": clean}
    comment.events[0] = dataclasses.replace(event, after={**event.after, "message": message})
    return comment
