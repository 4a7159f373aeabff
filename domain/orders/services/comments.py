"""Comment use cases."""

from __future__ import annotations

from collections.abc import Sequence

from domain.common import BlobStore, Ports
from domain.identity import Actor
from domain.orders.commands import CreateComment
from domain.orders.comments import Comment, Upload, check_upload, new_comment
from domain.orders.ports import OrdersUnitOfWork
from domain.orders.services._common import load_visible_order


async def keyed_uploads(blobs: BlobStore, uploads: Sequence[Upload]) -> list[tuple[Upload, str]]:
    """Each upload, checked, with the digest the store will keep it under; nothing is stored yet."""
    for upload in uploads:
        check_upload(upload)
    return [(upload, await blobs.digest(upload.data)) for upload in uploads]


async def store_uploads(blobs: BlobStore, files: Sequence[tuple[Upload, str]]) -> None:
    """Store the files of a comment that passed every check, the last step before its transaction commits.

    So a refused comment (too long, on an archived order, one file too many) leaves no blob behind. A
    transaction that fails after this leaves content-addressed blobs nothing references, which a later
    identical upload reuses; they are not deleted here, since a concurrent upload of the same content
    may be about to reference them.
    """
    for upload, digest in files:
        stored = await blobs.put(upload.data)
        if stored != digest:
            raise RuntimeError(f"the blob store kept {digest} as {stored}: it must address content by SHA-256")


async def create_comment(ports: Ports[OrdersUnitOfWork], actor: Actor, cmd: CreateComment) -> Comment:
    """Add a comment; every upload and rule is checked before any file is stored."""
    files = await keyed_uploads(ports.blobs, cmd.uploads)
    async with ports.uow() as uow:
        order = await load_visible_order(uow, actor, cmd.order_id, None)
        comment = new_comment(
            actor=actor,
            order=order,
            now=ports.clock.now(),
            body=cmd.body,
            visibility=cmd.visibility,
            files=files,
        )
        await uow.comments.add(comment)
        await store_uploads(ports.blobs, files)
        await uow.commit()
    return comment
