"""Pure conversions between orders' rows and domain objects.

Enums are stored as their `.value`; an `Audience` as `audience_org_id` plus
`audience_buyer_side`; line items as JSON with every Decimal kept exact as a string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.db import RowLike, money, row_mapping
from domain.orders import (
    Attachment,
    Audience,
    Comment,
    CommentVisibility,
    EventKind,
    Line,
    Order,
    OrderEvent,
    OrderKind,
    OrderStatus,
    Priority,
    Quote,
    QuoteStatus,
    Service,
)


def lines_to_json(lines: Sequence[Line]) -> list[dict[str, str]]:
    """Line items as JSON-ready dicts; quantities and prices as exact decimal strings."""
    return [
        {"description": line.description, "quantity": str(line.quantity), "unit_price": str(line.unit_price)}
        for line in lines
    ]


def lines_from_json(data: Iterable[Mapping[str, Any]] | None) -> tuple[Line, ...]:
    """Line items back from their JSON form."""
    return tuple(
        Line(str(item["description"]), Decimal(str(item["quantity"])), Decimal(str(item["unit_price"])))
        for item in data or ()
    )


def audience_values(audience: Audience) -> dict[str, Any]:
    """The two columns an audience is stored in."""
    return {"audience_org_id": audience.org_id, "audience_buyer_side": audience.buyer_side}


def audience_from_row(row: RowLike) -> Audience:
    """An audience from its two columns."""
    m = row_mapping(row)
    return Audience(org_id=m["audience_org_id"], buyer_side=bool(m["audience_buyer_side"]))


def audience_versions_to_json(versions: Mapping[Audience, int]) -> list[list[Any]]:
    """Per-audience version counts as JSON: [org_id, buyer_side, count] triples in a stable order."""
    triples = [[str(a.org_id), a.buyer_side, n] for a, n in versions.items() if a.org_id is not None and n]
    return sorted(triples, key=lambda t: (t[0], t[1]))


def audience_versions_from_json(data: Iterable[Sequence[Any]] | None) -> dict[Audience, int]:
    """Per-audience version counts back from their JSON form."""
    return {Audience(org_id=UUID(str(org)), buyer_side=bool(buyer)): int(n) for org, buyer, n in data or ()}


def order_from_row(row: RowLike) -> Order:
    """An order from an `orders` row, without its quotes (and with no pending events)."""
    m = row_mapping(row)
    return Order(
        id=m["id"],
        programme_id=m["programme_id"],
        number=m["number"],
        kind=OrderKind(m["kind"]),
        status=OrderStatus(m["status"]),
        name=m["name"],
        partner_id=m["partner_id"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        campaign_name=m["campaign_name"],
        activity_type=m["activity_type"],
        partner_contact_id=m["partner_contact_id"],
        provider_id=m["provider_id"],
        service_id=m["service_id"],
        end_customer=m["end_customer"],
        owner_id=m["owner_id"],
        assignee_id=m["assignee_id"],
        priority=Priority(m["priority"]),
        lines=lines_from_json(m["lines"]),
        po_number=m["po_number"],
        po_not_required=bool(m["po_not_required"]),
        requested_completion=m["requested_completion"],
        planned_completion=m["planned_completion"],
        estimated_completion=m["estimated_completion"],
        provider_notes=m["provider_notes"],
        cancel_reason=m["cancel_reason"],
        rejected=bool(m["rejected"]),
        submitted_at=m["submitted_at"],
        released_to_provider_at=m["released_to_provider_at"],
        last_activity_at=m["last_activity_at"],
        version=m["version"],
        public_version=m["public_version"],
        audience_versions=audience_versions_from_json(m["audience_versions"]),
        quotes=[],
    )


def order_values(order: Order) -> dict[str, Any]:
    """Column values of an order for INSERT or UPDATE (including `lines` JSON and `total`)."""
    return {
        "id": order.id,
        "programme_id": order.programme_id,
        "number": order.number,
        "kind": order.kind.value,
        "status": order.status.value,
        "name": order.name,
        "campaign_name": order.campaign_name,
        "activity_type": order.activity_type,
        "partner_id": order.partner_id,
        "partner_contact_id": order.partner_contact_id,
        "provider_id": order.provider_id,
        "service_id": order.service_id,
        "end_customer": order.end_customer,
        "owner_id": order.owner_id,
        "assignee_id": order.assignee_id,
        "priority": order.priority.value,
        "lines": lines_to_json(order.lines),
        "total": money(order.total),
        "po_number": order.po_number,
        "po_not_required": order.po_not_required,
        "requested_completion": order.requested_completion,
        "planned_completion": order.planned_completion,
        "estimated_completion": order.estimated_completion,
        "provider_notes": order.provider_notes,
        "cancel_reason": order.cancel_reason,
        "rejected": order.rejected,
        "submitted_at": order.submitted_at,
        "released_to_provider_at": order.released_to_provider_at,
        "last_activity_at": order.last_activity_at,
        "created_by": order.created_by,
        "created_at": order.created_at,
        "version": order.version,
        "public_version": order.public_version,
        "audience_versions": audience_versions_to_json(order.audience_versions),
    }


def quote_from_row(row: RowLike) -> Quote:
    """A quote from a `quotes` row."""
    m = row_mapping(row)
    return Quote(
        id=m["id"],
        order_id=m["order_id"],
        provider_id=m["provider_id"],
        status=QuoteStatus(m["status"]),
        lines=lines_from_json(m["lines"]),
        expires_on=m["expires_on"],
        promised_completion=m["promised_completion"],
        message=m["message"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        decided_at=m["decided_at"],
    )


def quote_values(quote: Quote) -> dict[str, Any]:
    """Column values of a quote for INSERT or UPDATE."""
    return {
        "id": quote.id,
        "order_id": quote.order_id,
        "provider_id": quote.provider_id,
        "status": quote.status.value,
        "lines": lines_to_json(quote.lines),
        "total": money(quote.total),
        "expires_on": quote.expires_on,
        "promised_completion": quote.promised_completion,
        "message": quote.message,
        "created_by": quote.created_by,
        "created_at": quote.created_at,
        "decided_at": quote.decided_at,
    }


def comment_from_row(row: RowLike, attachments: Iterable[Attachment] = ()) -> Comment:
    """A comment from a `comments` row, with the attachments given."""
    m = row_mapping(row)
    return Comment(
        id=m["id"],
        order_id=m["order_id"],
        author_id=m["author_id"],
        author_org_id=m["author_org_id"],
        visibility=CommentVisibility(m["visibility"]),
        body=m["body"],
        created_at=m["created_at"],
        audience=audience_from_row(m),
        attachments=list(attachments),
    )


def comment_values(comment: Comment) -> dict[str, Any]:
    """Column values of a comment for INSERT (attachments are rows of their own)."""
    return {
        "id": comment.id,
        "order_id": comment.order_id,
        "author_id": comment.author_id,
        "author_org_id": comment.author_org_id,
        "visibility": comment.visibility.value,
        "body": comment.body,
        "created_at": comment.created_at,
        **audience_values(comment.audience),
    }


def attachment_from_row(row: RowLike) -> Attachment:
    """An attachment from an `attachments` row."""
    m = row_mapping(row)
    return Attachment(
        id=m["id"],
        comment_id=m["comment_id"],
        order_id=m["order_id"],
        filename=m["filename"],
        content_type=m["content_type"],
        size=m["size"],
        sha256=m["sha256"],
        created_at=m["created_at"],
    )


def attachment_values(attachment: Attachment) -> dict[str, Any]:
    """Column values of an attachment for INSERT."""
    return {
        "id": attachment.id,
        "comment_id": attachment.comment_id,
        "order_id": attachment.order_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "created_at": attachment.created_at,
    }


def event_from_row(row: RowLike) -> OrderEvent:
    """An event from an `order_activity` row."""
    m = row_mapping(row)
    return OrderEvent(
        kind=EventKind(m["kind"]),
        order_id=m["order_id"],
        actor_user_id=m["actor_user_id"],
        actor_org_id=m["actor_org_id"],
        occurred_at=m["occurred_at"],
        before=dict(m["before"] or {}),
        after=dict(m["after"] or {}),
        audience=audience_from_row(m),
        subject_id=m["subject_id"],
        id=m["id"],
    )


def activity_values(event: OrderEvent, seq: int = 0) -> dict[str, Any]:
    """Column values of an `order_activity` row for an event (`seq`: its place among its command's events)."""
    return {
        "seq": seq,
        "id": event.id,
        "order_id": event.order_id,
        "kind": event.kind.value,
        "actor_user_id": event.actor_user_id,
        "actor_org_id": event.actor_org_id,
        "occurred_at": event.occurred_at,
        "before": event.before,
        "after": event.after,
        "subject_id": event.subject_id,
        **audience_values(event.audience),
    }


def str_or_none(value: UUID | None) -> str | None:
    """A UUID as JSON text, None passed through."""
    return None if value is None else str(value)


def outbox_payload(event: OrderEvent) -> dict[str, Any]:
    """The small JSON message an event becomes in the outbox: ids and times, never snapshots."""
    return {
        "event_id": str(event.id),
        "kind": event.kind.value,
        "order_id": str(event.order_id),
        "subject_id": str_or_none(event.subject_id),
        "actor_user_id": str_or_none(event.actor_user_id),
        "actor_org_id": str_or_none(event.actor_org_id),
        "occurred_at": event.occurred_at.isoformat(),
        "audience": {"org_id": str_or_none(event.audience.org_id), "buyer_side": event.audience.buyer_side},
    }


def outbox_values(event: OrderEvent) -> dict[str, Any]:
    """Column values of an `outbox` row for an event (topic = the event kind's value)."""
    return {
        "event_id": event.id,
        "topic": event.kind.value,
        "order_id": event.order_id,
        "payload": outbox_payload(event),
        "created_at": event.occurred_at,
        "published_at": None,
    }


def service_from_row(row: RowLike) -> Service:
    """A flat-fee service from a `services` row."""
    m = row_mapping(row)
    return Service(
        id=m["id"],
        provider_id=m["provider_id"],
        name=m["name"],
        activity_type=m["activity_type"],
        price=m["price"],
        active=bool(m["active"]),
    )


def service_values(service: Service) -> dict[str, Any]:
    """Column values of a service for INSERT."""
    return {
        "id": service.id,
        "provider_id": service.provider_id,
        "name": service.name,
        "activity_type": service.activity_type,
        "price": money(service.price),
        "active": service.active,
    }
