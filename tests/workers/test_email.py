"""Email composition: every template renders (text and escaped HTML), SMTP URLs parse, files are atomic."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.email import Renderer, SmtpConfig
from domain.notifications.deliveries import Template


def context() -> dict[str, Any]:
    return {
        "recipient": "a@x.example",
        "order": {
            "number": 7,
            "name": "Spring <b>launch</b>",
            "campaign_name": "Q2",
            "status": "Approved",
            "kind": "Flat fee",
            "partner": "Partner & Co",
            "provider": "Agency",
            "url": "http://app.example/orders/T3JkZXI6MQ",
        },
        "actor": {"name": "Ann", "organisation": "Agency"},
        "occurred_at": "2026-03-02 09:00 UTC",
        "change": {"from": "Pending approval", "to": "Approved", "reason": "fine"},
        "quote": {"total": "1,000.00", "message": "m", "expires_on": "", "promised_completion": "", "reason": ""},
        "comment": {
            "body": "<script>alert(1)</script>",
            "internal": False,
            "attachments": [{"filename": "a.pdf", "size": 1}],
        },
        "message": {"subject": "Dates", "to": ["c@x.example"]},
        "link": {
            "url": "http://app.example/orders/resume?token=t",
            "expires_at": "x",
            "message": "go",
            "subject": "Finish",
        },
        "assignee": "Bob",
    }


@pytest.mark.parametrize("template", list(Template))
def test_every_template_renders_a_subject_text_and_escaped_html(template: Template) -> None:
    rendered = Renderer().render(template, context())
    assert rendered.subject and "\n" not in rendered.subject
    assert "#7" in rendered.text or template in (Template.FOLLOW_UP,)
    assert "<b>launch</b>" not in rendered.html and "<script>" not in rendered.html
    if template in (Template.COMMENT_ADDED, Template.FOLLOW_UP):
        assert "<script>alert(1)</script>" in rendered.text  # plain text is not markup
        assert "&lt;script&gt;" in rendered.html


def test_smtp_urls() -> None:
    plain = SmtpConfig.from_url("smtp://mail.example")
    assert (plain.host, plain.port, plain.use_tls, plain.start_tls, plain.timeout) == (
        "mail.example",
        25,
        False,
        None,
        30,
    )
    tls = SmtpConfig.from_url("smtps://u%40x:p%2Fw@mail.example?timeout=5")
    assert (tls.port, tls.use_tls, tls.username, tls.password, tls.timeout) == (465, True, "u@x", "p/w", 5.0)
    assert SmtpConfig.from_url("smtp://h:587?starttls=true").start_tls is True
    for bad in ("http://h", "smtp://", "smtp://h?timeout=0", "smtp://h?timeout=x"):
        with pytest.raises(ValueError, match=r"expected|timeout|port"):
            SmtpConfig.from_url(bad)
