"""Quote use cases: providers quote or decline; the partner accepts or rejects."""

from __future__ import annotations

from domain.common import NotFound, Ports
from domain.identity import Actor
from domain.orders.commands import DecideQuote, DeclineQuote, SubmitQuote
from domain.orders.order import Order
from domain.orders.ports import OrdersUnitOfWork
from domain.orders.quotes import Quote
from domain.orders.services._common import VersionCheck, at_callers_version


async def submit_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: SubmitQuote) -> tuple[Order, Quote]:
    """A provider quotes on an open request."""

    async def attempt(check: VersionCheck) -> tuple[Order, Quote]:
        async with ports.uow() as uow:
            order = await check.load(uow, cmd.order_id)
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

    return await at_callers_version(actor, None, attempt)


async def decline_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: DeclineQuote) -> tuple[Order, Quote]:
    """A provider declines to quote."""

    async def attempt(check: VersionCheck) -> tuple[Order, Quote]:
        async with ports.uow() as uow:
            order = await check.load(uow, cmd.order_id)
            quote = order.decline_quote(actor, ports.clock.now(), cmd.message)
            await uow.orders.save(order)
            await uow.commit()
        return order, quote

    return await at_callers_version(actor, None, attempt)


async def accept_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: DecideQuote) -> tuple[Order, Quote]:
    """The partner accepts a quote; the programme's threshold decides whether the vendor approves."""

    async def attempt(check: VersionCheck) -> tuple[Order, Quote]:
        async with ports.uow() as uow:
            order = await _order_of_quote(uow, check, cmd)
            programme = await uow.directory.programme(order.programme_id)
            threshold = programme.quote_approval_threshold if programme else None
            quote = order.accept_quote(actor, ports.clock.now(), cmd.quote_id, threshold)
            await uow.orders.save(order)
            await uow.commit()
        return order, quote

    return await at_callers_version(actor, cmd.expected_version, attempt)


async def reject_quote(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: DecideQuote) -> tuple[Order, Quote]:
    """The partner rejects a quote."""

    async def attempt(check: VersionCheck) -> tuple[Order, Quote]:
        async with ports.uow() as uow:
            order = await _order_of_quote(uow, check, cmd)
            quote = order.reject_quote(actor, ports.clock.now(), cmd.quote_id, cmd.reason)
            await uow.orders.save(order)
            await uow.commit()
        return order, quote

    return await at_callers_version(actor, cmd.expected_version, attempt)


async def _order_of_quote(uow: OrdersUnitOfWork, check: VersionCheck, cmd: DecideQuote) -> Order:
    order_id = await uow.orders.order_id_of_quote(cmd.quote_id)
    if order_id is None:
        raise NotFound("Quote")
    try:
        return await check.load(uow, order_id)
    except NotFound:
        raise NotFound("Quote") from None
