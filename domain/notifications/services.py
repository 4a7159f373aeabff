"""Notification use cases: recipient lists, watching, follow-ups, order links, resending.

Each runs in one unit of work; the emails themselves leave later, through the outbox
(the events these commands record) and the workers.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.common import InvalidInput, NotFound, Ports
from domain.identity import Actor, normalise_email
from domain.notifications.commands import SendMessage, SendOrderLink, UpdateRecipients
from domain.notifications.deliveries import Delivery, check_resend
from domain.notifications.follow_ups import new_follow_up
from domain.notifications.links import OrderLink, check_link_opens, new_order_link, verify_order_link
from domain.notifications.planning import Person
from domain.notifications.ports import NotificationsUnitOfWork
from domain.notifications.recipients import RecipientList
from domain.notifications.sending import (
    SEND_WINDOWS,
    Sender,
    check_list_additions,
    check_recipient_count,
    check_recipients_allowed,
    check_send_rate,
)
from domain.orders import (
    Comment,
    Order,
    VersionCheck,
    at_callers_version,
    keyed_uploads,
    load_visible_order,
    store_uploads,
)


async def update_recipients(
    ports: Ports[NotificationsUnitOfWork], actor: Actor, cmd: UpdateRecipients
) -> tuple[Order, RecipientList]:
    """Replace the provider's or the partner's notification addresses on an order."""
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, cmd.order_id, None)
        recipients = await uow.notifications.recipients(order.id, cmd.side)
        before = recipients.emails
        recipients.replace(actor, order, cmd.emails, ports.clock.now())  # checks who may, and the addresses
        if recipients.emails != before:
            circle = await uow.notifications.circle(order)
            outside = await _outside_allowed(uow, actor)
            check_list_additions(circle, before, cmd.emails, outside_allowed=outside)
        await uow.notifications.save_recipients(recipients)
        await uow.commit()
    return order, recipients


async def watch_order(ports: Ports[NotificationsUnitOfWork], actor: Actor, order_id: UUID) -> Order:
    """Subscribe the actor to an order it can see: it gets a copy of every comment and follow-up it may see."""
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, order_id, None)
        await uow.notifications.watch(order.id, actor.user_id, ports.clock.now())
        await uow.commit()
    return order


async def unwatch_order(ports: Ports[NotificationsUnitOfWork], actor: Actor, order_id: UUID) -> Order:
    """Unsubscribe the actor from an order."""
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, order_id, None)
        await uow.notifications.unwatch(order.id, actor.user_id)
        await uow.commit()
    return order


async def send_message(ports: Ports[NotificationsUnitOfWork], actor: Actor, cmd: SendMessage) -> tuple[Order, Comment]:
    """Post a follow-up that is emailed to its addresses; optionally reassign the order and watch it."""
    files = await keyed_uploads(ports.blobs, cmd.uploads)

    async def attempt(check: VersionCheck) -> tuple[Order, Comment]:
        async with ports.uow() as uow:
            order = await check.load(uow, cmd.order_id)
            now = ports.clock.now()
            check_recipient_count(cmd.to, ports.policy.recipients_per_message)
            colleagues = await _colleague_emails(uow, actor, cmd.to)
            comment = new_follow_up(
                actor=actor,
                order=order,
                now=now,
                to=cmd.to,
                subject=cmd.subject,
                body=cmd.body,
                visibility=cmd.visibility,
                files=files,
                colleagues=colleagues,
            )
            outside = await _outside_allowed(uow, actor)
            check_recipients_allowed(
                actor, order, await uow.notifications.circle(order), cmd.to, outside_allowed=outside
            )
            await _check_send_rate(ports, uow, actor, now)
            await uow.comments.add(comment)
            if cmd.reassign:
                assignee = None
                if cmd.assignee_id is not None:
                    assignee = await uow.directory.user(cmd.assignee_id)
                    if assignee is None:
                        raise InvalidInput(
                            "The assignee must be an active user of the order's provider.", field="assigneeId"
                        )
                order.assign(actor, now, assignee)
                await uow.orders.save(order)
            if cmd.watch:
                await uow.notifications.watch(order.id, actor.user_id, now)
            await store_uploads(ports.blobs, files)  # every check passed: only now are the files stored
            await uow.commit()
        return order, comment

    # Reassigning saves the order: a save that loses a race runs once more, at the version the sender saw.
    return await at_callers_version(actor, cmd.expected_version, attempt)


async def _outside_allowed(uow: NotificationsUnitOfWork, actor: Actor) -> bool:
    """True when the operator lets the actor's organisation email addresses beyond an order's people."""
    organisation = await uow.directory.organisation(actor.organisation_id)
    return organisation is not None and organisation.outside_recipients


async def _check_send_rate(
    ports: Ports[NotificationsUnitOfWork], uow: NotificationsUnitOfWork, actor: Actor, now: datetime
) -> None:
    """Refuse a message past any of SEND_WINDOWS, counted under the organisation's send lock (held to commit)."""
    await uow.notifications.hold_send_lock(actor.organisation_id)
    for window in SEND_WINDOWS:
        limit = window.most(ports.policy)
        sender_id = actor.user_id if window.sender is Sender.USER else actor.organisation_id
        recent = await uow.notifications.recent_messages(window.sender, sender_id, now - window.length, limit)
        check_send_rate(window, limit, recent, now)


async def _colleague_emails(uow: NotificationsUnitOfWork, actor: Actor, addresses: tuple[str, ...]) -> set[str]:
    """Those of `addresses` that belong to active users of the actor's organisation."""
    found: set[str] = set()
    for address in addresses[:50]:  # the domain refuses more than its maximum anyway
        user = await uow.directory.user_by_email(address)
        if user is not None and user.active and user.organisation_id == actor.organisation_id:
            found.add(normalise_email(user.email))
    return found


async def send_order_link(
    ports: Ports[NotificationsUnitOfWork], actor: Actor, cmd: SendOrderLink
) -> tuple[Order, OrderLink]:
    """Email a user of the ordering partner a signed link that resumes a DRAFT order."""
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, cmd.order_id, None)
        recipient = None
        user = await uow.directory.user_by_email(cmd.to)
        if user is not None:
            organisation = await uow.directory.organisation(user.organisation_id)
            recipient = Person.of(user, organisation) if organisation else None
        now = ports.clock.now()
        link = new_order_link(
            actor=actor,
            order=order,
            now=now,
            recipient=recipient,
            to=cmd.to,
            subject=cmd.subject,
            message=cmd.message,
            ttl=cmd.ttl,
        )
        await _check_send_rate(ports, uow, actor, now)
        await uow.notifications.add_link(link)
        await uow.commit()
    return order, link


async def open_order_link(ports: Ports[NotificationsUnitOfWork], actor: Actor, token: str) -> tuple[Order, datetime]:
    """The DRAFT order a genuine, unexpired link names, if the actor may see it."""
    order_id, expires_at = verify_order_link(token, ports.policy.order_link_key(), ports.clock.now())
    async with ports.uow() as uow:
        try:
            order = await load_visible_order(uow, actor, order_id, None)
        except NotFound:
            raise NotFound("Order", field="token") from None
    check_link_opens(order)
    return order, expires_at


async def resend_notification(ports: Ports[NotificationsUnitOfWork], actor: Actor, delivery_id: UUID) -> Delivery:
    """Send one notification again now (see check_resend: a sent one once more, after a cool-down)."""
    async with ports.uow() as uow:
        delivery = await uow.notifications.delivery(delivery_id)
        order = await uow.orders.get(delivery.order_id) if delivery else None
        if order is None:
            raise NotFound("Notification")
        now = ports.clock.now()
        check_resend(actor, order, delivery, now)
        resent = await uow.notifications.resend(delivery_id, now)
        await uow.commit()
    return resent
