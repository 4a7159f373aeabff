"""Order use cases: create, edit, and every lifecycle step."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from domain.common import InvalidInput, NotFound, Ports
from domain.identity import Actor
from domain.orders.commands import (
    AssignOrder,
    ChangeOrderStatus,
    CreateOrder,
    OrderCommand,
    ReasonedOrderCommand,
    UpdateOrder,
)
from domain.orders.order import Order
from domain.orders.placing import new_order
from domain.orders.ports import OrdersUnitOfWork
from domain.orders.services._common import VersionCheck, at_callers_version


async def create_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: CreateOrder) -> Order:
    """Place a DRAFT order for the actor's partner organisation."""
    async with ports.uow() as uow:
        service = None
        if cmd.service_id is not None:
            service = await uow.catalogue.service(cmd.service_id)
            provider = await uow.directory.organisation(service.provider_id) if service else None
            if service is None or provider is None or provider.programme_id != actor.programme_id:
                raise NotFound("Service", field="serviceId")
        if cmd.provider_id is not None:
            org = await uow.directory.organisation(cmd.provider_id)
            if org is None or org.programme_id != actor.programme_id or org.kind.value != "PROVIDER":
                raise NotFound("Provider", field="providerId")
        contact = None
        if cmd.partner_contact_id is not None:
            contact = await uow.directory.user(cmd.partner_contact_id)
            if contact is None or contact.organisation_id != actor.organisation_id:
                raise NotFound("Partner contact", field="partnerContactId")
        order = new_order(
            actor=actor,
            now=ports.clock.now(),
            number=await uow.orders.next_number(actor.programme_id),
            kind=cmd.kind,
            name=cmd.name,
            campaign_name=cmd.campaign_name,
            activity_type=cmd.activity_type,
            provider_id=cmd.provider_id,
            service=service,
            partner_contact=contact,
            end_customer=cmd.end_customer,
            requested_completion=cmd.requested_completion,
            lines=cmd.lines,
            po_number=cmd.po_number,
            po_not_required=cmd.po_not_required,
        )
        await uow.orders.add(order)
        await uow.commit()
    return order


async def update_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: UpdateOrder) -> Order:
    """Edit fields of an order under the field policy."""

    async def attempt(check: VersionCheck) -> Order:
        async with ports.uow() as uow:
            order = await check.load(uow, cmd.order_id)
            if not cmd.changes and cmd.lines is None:
                raise InvalidInput("Nothing to change: give at least one field.", field=None)
            now = ports.clock.now()
            changes = dict(cmd.changes)
            for field, org_id in (("owner_id", order.provider_id), ("partner_contact_id", order.partner_id)):
                user_id = changes.get(field)
                if isinstance(user_id, UUID):
                    user = await uow.directory.user(user_id)
                    if user is None or user.organisation_id != org_id or not user.active:
                        message = f"{field.removesuffix('_id')} must be an active user of that side."
                        raise InvalidInput(message, field=field)
            if changes:
                order.update(actor, now, changes)
            if cmd.lines is not None:
                order.set_draft_lines(actor, now, cmd.lines)
            await uow.orders.save(order)
            await uow.commit()
        return order

    return await at_callers_version(actor, cmd.expected_version, attempt)


async def _step(
    ports: Ports[OrdersUnitOfWork], actor: Actor, order_id: UUID, expected: int | None, step: Callable[[Order], None]
) -> Order:
    """Load the visible order, apply one lifecycle step, save and commit."""

    async def attempt(check: VersionCheck) -> Order:
        async with ports.uow() as uow:
            order = await check.load(uow, order_id)
            step(order)
            await uow.orders.save(order)
            await uow.commit()
        return order

    return await at_callers_version(actor, expected, attempt)


async def submit_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: OrderCommand) -> Order:
    """DRAFT to PENDING_QUOTES or PENDING_APPROVAL."""
    now = ports.clock.now()
    return await _step(ports, actor, cmd.order_id, cmd.expected_version, lambda o: o.submit(actor, now))


async def approve_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: OrderCommand) -> Order:
    """Vendor approval, or acceptance of a quote request without a quote."""
    now = ports.clock.now()
    return await _step(ports, actor, cmd.order_id, cmd.expected_version, lambda o: o.approve(actor, now))


async def reject_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: ReasonedOrderCommand) -> Order:
    """Vendor rejection: CANCELLED with the reason REJECTED."""
    now = ports.clock.now()
    return await _step(ports, actor, cmd.order_id, cmd.expected_version, lambda o: o.reject(actor, now, cmd.reason))


async def change_order_status(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: ChangeOrderStatus) -> Order:
    """The provider's Change Status."""
    now = ports.clock.now()
    return await _step(
        ports, actor, cmd.order_id, cmd.expected_version, lambda o: o.change_status(actor, now, cmd.status)
    )


async def cancel_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: ReasonedOrderCommand) -> Order:
    """Cancel within the window, with a reason."""
    now = ports.clock.now()
    return await _step(ports, actor, cmd.order_id, cmd.expected_version, lambda o: o.cancel(actor, now, cmd.reason))


async def archive_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: OrderCommand) -> Order:
    """Archive a complete or cancelled order."""
    now = ports.clock.now()
    return await _step(ports, actor, cmd.order_id, cmd.expected_version, lambda o: o.archive(actor, now))


async def assign_order(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: AssignOrder) -> Order:
    """Assign to a provider user (or clear)."""

    async def attempt(check: VersionCheck) -> Order:
        async with ports.uow() as uow:
            order = await check.load(uow, cmd.order_id)
            assignee = None
            if cmd.assignee_id is not None:
                assignee = await uow.directory.user(cmd.assignee_id)
                if assignee is None:
                    message = "The assignee must be an active user of the order's provider."
                    raise InvalidInput(message, field="assigneeId")
            order.assign(actor, ports.clock.now(), assignee)
            await uow.orders.save(order)
            await uow.commit()
        return order

    return await at_callers_version(actor, cmd.expected_version, attempt)
