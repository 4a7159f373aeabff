"""Comment use cases."""

from __future__ import annotations

from domain.common import Ports
from domain.identity import Actor
from domain.orders.commands import CreateComment
from domain.orders.comments import Comment, Upload, check_upload, new_comment
from domain.orders.ports import OrdersUnitOfWork
from domain.orders.services._common import load_visible_order


async def create_comment(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: CreateComment) -> Comment:
    """Add a comment; every upload is checked before anything is stored.

    Blobs are content-addressed and written before the comment's transaction: if that
    transaction fails, the blob is an unreferenced file that a later identical upload reuses.
    """
    for upload in cmd.uploads:
        check_upload(upload)
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, cmd.order_id, None)
        files: list[tuple[Upload, str]] = []
        for upload in cmd.uploads:
            files.append((upload, await ports.blobs.put(upload.data)))
        comment = new_comment(
            actor=actor,
            order=order,
            now=ports.clock.now(),
            body=cmd.body,
            visibility=cmd.visibility,
            files=files,
        )
        await uow.comments.add(comment)
        await uow.commit()
    return comment
