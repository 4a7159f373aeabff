"""Quote use cases: providers quote or decline; the partner accepts or rejects."""

from __future__ import annotations

from domain.common import NotFound, Ports
from domain.identity import Actor
from domain.orders.commands import DecideQuote, DeclineQuote, SubmitQuote
from domain.orders.order import Order
from domain.orders.ports import OrdersUnitOfWork
from domain.orders.quotes import Quote
from domain.orders.services._common import load_visible_order


async def submit_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: SubmitQuote) -> tuple[Order, Quote]:
    """A provider quotes on an open request."""
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, cmd.order_id, None)
        quote = order.submit_quote(
            actor,
            ports.clock.now(),
            lines=cmd.lines,
            expires_on=cmd.expires_on,
            promised_completion=cmd.promised_completion,
            message=cmd.message,
        )
        await uow.orders.save(order)
        await uow.commit()
    return order, quote


async def decline_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: DeclineQuote) -> tuple[Order, Quote]:
    """A provider declines to quote."""
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, cmd.order_id, None)
        quote = order.decline_quote(actor, ports.clock.now(), cmd.message)
        await uow.orders.save(order)
        await uow.commit()
    return order, quote


async def accept_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: DecideQuote) -> tuple[Order, Quote]:
    """The partner accepts a quote; the programme's threshold decides whether the vendor approves."""
    async with ports.uow() as uow:
        order = await _order_of_quote(uow, actor, cmd)
        programme = await uow.directory.programme(order.programme_id)
        threshold = programme.quote_approval_threshold if programme else None
        quote = order.accept_quote(actor, ports.clock.now(), cmd.quote_id, threshold)
        await uow.orders.save(order)
        await uow.commit()
    return order, quote


async def reject_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: DecideQuote) -> tuple[Order, Quote]:
    """The partner rejects a quote."""
    async with ports.uow() as uow:
        order = await _order_of_quote(uow, actor, cmd)
        quote = order.reject_quote(actor, ports.clock.now(), cmd.quote_id, cmd.reason)
        await uow.orders.save(order)
        await uow.commit()
    return order, quote


async def _order_of_quote(uow: OrdersUnitOfWork, actor: Actor, cmd: DecideQuote) -> Order:
    order_id = await uow.orders.order_id_of_quote(cmd.quote_id)
    if order_id is None:
        raise NotFound("Quote")
    try:
        return await load_visible_order(uow, actor, order_id, cmd.expected_version)
    except NotFound:
        raise NotFound("Quote") from None
