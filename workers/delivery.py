"""Sending one notification: idempotent, leased, retried with backoff, recorded.

`Sender.deliver(id)` is what the `send_notification` actor runs, however many times a message
for the same id arrives:

1. claim: one UPDATE takes a lease on the row if it is PENDING and nobody holds one (and counts
   the attempt); a SENT or FAILED row is left alone, a leased one is retried after the lease;
2. render the templates and compose the message (its Message-ID comes from the row's id);
3. hand it to SMTP, or write `<mail dir>/<id>.eml`;
4. mark it SENT at once, in its own short transaction.

Exactly once, and where it is only at least once: two deliveries of the same message cannot
both send (the lease), and a sent row is never sent again (1). A crash before 3 completes
leaves the row PENDING; after the lease it is claimed and sent again, which is right because
nothing went out. The one window for a duplicate is a crash (or a lost database connection)
after the SMTP server accepted the message and before step 4 committed: the message is then
sent again after the lease. The window is one UPDATE long; the repeated message carries the
same Message-ID, which mail systems use to drop duplicates. Written files have no window: the
file is named after the row and replaced atomically.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from enum import Enum
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters import notifications as store
from adapters.db import for_writing
from adapters.email import (
    MAX_ATTACHED_BYTES,
    Links,
    Mailer,
    MailError,
    PermanentMailError,
    Renderer,
    compose,
    email_context,
    file_name,
)
from domain.common import BlobStore, Clock
from domain.notifications import Delivery, Template

log = logging.getLogger("ordergraph.notifications")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How long a worker holds a row, how retries back off, and when to give up."""

    lease: timedelta = timedelta(seconds=60)
    redeliver_after: timedelta = timedelta(seconds=60)
    """How long after its message was sent the sweeper sends another if the row is still PENDING."""
    max_attempts: int = 15
    min_backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(minutes=10)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: doubling from min_backoff up to max_backoff."""
        doublings: int = min(max(attempts - 1, 0), 30)
        return min(self.max_backoff, self.min_backoff * (1 << doublings))


class Outcome(Enum):
    """What one run of the sender did."""

    SENT = "SENT"
    SKIPPED = "SKIPPED"  # already sent, failed for good, or gone
    FAILED = "FAILED"  # given up on now


class RetryLater(Exception):
    """Try this delivery again after `delay` (the actor turns it into a Dramatiq retry)."""

    def __init__(self, message: str, delay: timedelta) -> None:
        super().__init__(message)
        self.delay = delay


class Sender:
    """Delivers notification rows through a mailer."""

    def __init__(
        self,
        engine: AsyncEngine,
        mailer: Mailer,
        *,
        renderer: Renderer,
        links: Links,
        blobs: BlobStore,
        clock: Clock,
        mail_from: str,
        policy: DeliveryPolicy = DeliveryPolicy(),
    ) -> None:
        self.engine = engine
        self.mailer = mailer
        self.renderer = renderer
        self.links = links
        self.blobs = blobs
        self.clock = clock
        self.mail_from = mail_from
        self.policy = policy

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with for_writing(self.engine).begin() as conn:
            yield conn

    async def deliver(self, delivery_id: UUID) -> Outcome:
        """Send one delivery unless it is sent; raises RetryLater when it should be tried again."""
        now = self.clock.now()
        async with self._writing() as conn:
            claim = await store.claim(conn, delivery_id, now, now + self.policy.lease)
        if claim.result is store.ClaimResult.DONE or claim.delivery is None:
            return Outcome.SKIPPED
        delivery = claim.delivery
        if claim.result is store.ClaimResult.BUSY:
            raise RetryLater(f"notification {delivery_id} is being sent by another worker", self.policy.lease)
        try:
            message = await self._compose(delivery)
        except Exception as exc:  # a template or data problem: retrying cannot fix it; resend after a fix
            log.exception("cannot compose notification %s", delivery_id)
            await self._failed(delivery, f"cannot compose the email: {exc}", retry=False)
            return Outcome.FAILED
        if message is None:
            await self._failed(delivery, "its order or event no longer exists", retry=False)
            return Outcome.FAILED
        try:
            await self.mailer.send(message, file_name(delivery.id, delivery.generation))
        except PermanentMailError as exc:
            log.warning("notification %s to %s refused for good: %s", delivery.id, delivery.recipient, exc)
            await self._failed(delivery, str(exc), retry=False)
            return Outcome.FAILED
        except MailError as exc:
            if delivery.attempts >= self.policy.max_attempts:
                log.warning("notification %s: giving up after %d attempts: %s", delivery.id, delivery.attempts, exc)
                await self._failed(delivery, str(exc), retry=False)
                return Outcome.FAILED
            delay = self.policy.backoff(delivery.attempts)
            await self._failed(delivery, str(exc), retry=True, delay=delay)
            raise RetryLater(f"notification {delivery.id}: {exc}", delay) from exc
        # At once, in a transaction of its own: this commit is all that separates "accepted" from "recorded".
        async with self._writing() as conn:
            await store.mark_sent(conn, delivery, self.clock.now())
        return Outcome.SENT

    async def _failed(self, delivery: Delivery, error: str, *, retry: bool, delay: timedelta = timedelta(0)) -> None:
        now = self.clock.now()
        # The sweeper steps in only if the broker's own retry (after `delay`) never comes.
        retry_at = now + delay + self.policy.redeliver_after if retry else None
        async with self._writing() as conn:
            await store.mark_attempt_failed(conn, delivery, error, retry_at=retry_at)

    async def _compose(self, delivery: Delivery) -> EmailMessage | None:
        async with self.engine.connect() as conn:
            facts = await store.load_facts(conn, delivery)
        if facts is None:
            return None
        rendered = self.renderer.render(delivery.template, email_context(facts, self.links))
        files: list[tuple[str, str, bytes]] = []
        if delivery.template is Template.FOLLOW_UP and facts.comment is not None:
            budget = MAX_ATTACHED_BYTES
            for attachment in facts.comment.attachments:
                if attachment.size > budget:
                    continue  # listed by name in the body; too large to carry
                data = await self.blobs.get(attachment.sha256)
                if data is not None:
                    files.append((attachment.filename, attachment.content_type, data))
                    budget -= len(data)
        return compose(facts, rendered, mail_from=self.mail_from, now=self.clock.now(), files=files)
