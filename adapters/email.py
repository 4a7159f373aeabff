"""Email: templates (jinja2, plain text plus HTML), message composition, and two ways out.

- `SmtpMailer` hands messages to an SMTP server with aiosmtplib (`ORDERGRAPH_SMTP_URL`).
- `FileMailer` writes each message to `<mail dir>/<name>.eml`, atomically: a file is either
  absent or complete, and writing the same message again replaces it (so it is exactly once).

Failures are sorted into `MailError` (try again later: the server is down, busy, or says 4xx)
and `PermanentMailError` (the server refused this message or recipient with a 5xx: retrying
cannot help).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from adapters.notifications import EmailFacts
from domain.notifications import Template as EmailTemplate
from domain.notifications import sign_order_link
from domain.orders import CommentVisibility, EventKind

TEMPLATES_DIR: Final = Path(__file__).resolve().parent / "email_templates"
MAX_ATTACHED_BYTES: Final = 20 * 1024 * 1024
"""Files a follow-up carries inside its email, in all; beyond that they are listed by name."""


class MailError(Exception):
    """The message could not be handed over now; a later attempt may succeed."""


class PermanentMailError(MailError):
    """The server refused the message or its recipient for good."""


class Mailer(Protocol):
    """Where composed messages go."""

    async def send(self, message: EmailMessage, name: str) -> None:
        """Deliver `message`; `name` identifies it (a file name stem). Raises MailError."""
        ...


# ---- the ways out -----------------------------------------------------------------------------


class FileMailer:
    """Writes `<folder>/<name>.eml` (the embedded default, and a development aid)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage, name: str) -> None:
        """Write the message atomically (temporary file, fsync, rename)."""
        try:
            await asyncio.to_thread(self._write, message.as_bytes(policy=SMTP), name)
        except OSError as exc:
            raise MailError(f"cannot write {name}.eml in {self.folder}: {exc}") from exc

    def _write(self, data: bytes, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{name}.eml"
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to reach the SMTP server, from `smtp://` or `smtps://` URLs."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None  # None: upgrade when the server offers STARTTLS
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """smtp://[user[:password]@]host[:port][?starttls=true|false&timeout=seconds], or smtps:// (TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("expected smtp://host[:port] or smtps://host[:port]")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        start_tls: bool | None = None
        if "starttls" in query:
            start_tls = query["starttls"].lower() in ("1", "true", "yes", "on")
        try:
            timeout = float(query.get("timeout", "30"))
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError as exc:
            raise ValueError(f"bad port or timeout: {exc}") from None
        if timeout <= 0:
            raise ValueError("the timeout must be positive")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls=False if parts.scheme == "smtps" else start_tls,
            timeout=timeout,
        )


class SmtpMailer:
    """Hands messages to an SMTP server, one connection per message."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage, name: str) -> None:
        """Send; 5xx refusals of the recipient or the content are permanent, anything else is retried."""
        c = self.config
        try:
            await aiosmtplib.send(
                message,
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.use_tls,
                start_tls=c.start_tls,
                timeout=c.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            error = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if codes and all(code >= 500 for code in codes):
                raise PermanentMailError(f"recipient refused: {error}") from exc
            raise MailError(f"recipient deferred: {error}") from exc
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
            if exc.code >= 500:
                raise PermanentMailError(f"refused: {exc.code} {exc.message}") from exc
            raise MailError(f"deferred: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPException as exc:
            raise MailError(f"SMTP {c.host}:{c.port}: {exc}") from exc
        except OSError as exc:  # connection refused, DNS, TLS
            raise MailError(f"SMTP {c.host}:{c.port}: {exc}") from exc


def mailer_for(smtp_url: str, mail_dir: Path) -> Mailer:
    """SMTP when a URL is set, else files in `mail_dir`."""
    if smtp_url:
        return SmtpMailer(SmtpConfig.from_url(smtp_url))
    return FileMailer(mail_dir)


# ---- templates ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    """An email's subject and its two bodies."""

    subject: str
    text: str
    html: str


class Renderer:
    """Renders `<template>.txt` (whose `subject` block is the subject) and `<template>.html`.

    HTML is autoescaped; the plain text is not (it is not markup). Undefined names are errors,
    so a template cannot silently say nothing.
    """

    def __init__(self, folder: Path = TEMPLATES_DIR) -> None:
        loader = FileSystemLoader(str(folder))
        self._text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)  # noqa: S701 - plain text, not markup
        self._html = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined)

    def render(self, template: EmailTemplate, context: dict[str, Any]) -> Rendered:
        """Subject, text and HTML of one template."""
        text = self._text.get_template(f"{template.value}.txt")
        html = self._html.get_template(f"{template.value}.html")
        subject = " ".join(_block(text, "subject", context).split())
        return Rendered(subject=subject, text=text.render(context), html=html.render(context))


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(context)))


# ---- what each email says ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Links:
    """How emails link back to the application."""

    public_url: str
    order_url: Callable[[Any], str]
    secret: Callable[[], bytes]
    """The order-link signing key, loaded on first use."""


def email_context(facts: EmailFacts, links: Links) -> dict[str, Any]:
    """The template variables of one delivery: only what its recipient may see (never provider notes)."""
    order, event, delivery = facts.order, facts.event, facts.delivery
    after, before = event.after, event.before
    context: dict[str, Any] = {
        "recipient": delivery.recipient,
        "order": {
            "number": order.number,
            "name": order.name,
            "campaign_name": order.campaign_name,
            # As the event left it: an email sent later must not tell of a status its event did not set.
            "status": _label(str(after.get("status") or order.status.value)),
            "kind": _label(order.kind.value),
            "partner": facts.partner_name,
            "provider": facts.provider_name,
            "url": links.order_url(order),
        },
        "actor": {
            "name": facts.actor.name if facts.actor else "ordergraph",
            "organisation": facts.actor_org_name,
        },
        "occurred_at": event.occurred_at.strftime("%Y-%m-%d %H:%M UTC"),
        "change": {
            "from": _label(str(before.get("status", ""))),
            "to": _label(str(after.get("status", ""))),
            "reason": str(after.get("reason", "")),
        },
        "quote": None,
        "comment": None,
        "message": None,
        "link": None,
        "assignee": facts.assignee.name if facts.assignee else "",
    }
    if facts.quote is not None:
        q = facts.quote
        context["quote"] = {
            "total": f"{q.total:,.2f}",
            "message": q.message,
            "expires_on": q.expires_on.isoformat() if q.expires_on else "",
            "promised_completion": q.promised_completion.isoformat() if q.promised_completion else "",
            "reason": str(after.get("reason", "")),
        }
    if facts.comment is not None:
        c = facts.comment
        context["comment"] = {
            "body": c.body,
            "internal": c.visibility is CommentVisibility.INTERNAL,
            "attachments": [{"filename": a.filename, "size": a.size} for a in c.attachments],
        }
    message = after.get("message")
    if event.kind is EventKind.COMMENT_ADDED and isinstance(message, dict):
        context["message"] = {"subject": str(message.get("subject", "")), "to": list(message.get("to", []))}
    if event.kind is EventKind.ORDER_LINK_SENT:
        expires_at = datetime.fromisoformat(str(after["expires_at"]))
        token = sign_order_link(order.id, expires_at, links.secret())
        context["link"] = {
            "url": f"{links.public_url}/orders/resume?token={token}",
            "expires_at": expires_at.strftime("%Y-%m-%d %H:%M UTC"),
            "message": str(after.get("message", "")),
            "subject": str(after.get("subject", "")),
        }
    return context


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize() if value else ""


def compose(
    facts: EmailFacts,
    rendered: Rendered,
    *,
    mail_from: str,
    now: datetime,
    files: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """The message of one delivery, with a Message-ID made from its id (the same on every attempt)."""
    delivery, event = facts.delivery, facts.event
    name, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2] or "ordergraph.invalid"
    personal = delivery.template in (EmailTemplate.FOLLOW_UP, EmailTemplate.ORDER_LINK)
    message = EmailMessage()
    if personal and facts.actor is not None:
        message["From"] = formataddr((f"{facts.actor.name} via {name or 'ordergraph'}", address))
        message["Reply-To"] = formataddr((facts.actor.name, facts.actor.email))
    else:
        message["From"] = formataddr((name, address)) if name else address
    message["To"] = delivery.recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    suffix = f".{delivery.generation}" if delivery.generation else ""
    message["Message-ID"] = f"<{delivery.id}{suffix}@{domain}>"
    # One thread per order in mail clients.
    message["References"] = f"<order-{event.order_id}@{domain}>"
    message["X-Ordergraph-Notification"] = str(delivery.id)
    if not personal:
        message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for filename, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return message


def file_name(delivery_id: Any, generation: int) -> str:
    """The stem a delivery's message is known by: its id (and generation, once resent)."""
    return f"{delivery_id}.{generation}" if generation else str(delivery_id)
