"""versions by side: what each side sees of an order's version (issue 8, item 8)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

`orders.public_version` counts the commands everyone who sees the order sees, and
`orders.audience_versions` ([org_id, buyer_side, count] triples) those only one audience sees;
`orders.version` stays the row's counter of every command, which saves check.

An existing order starts with every side at its current version (public_version = version, no
audience counts): exactly the number every client holds today, so no held version goes stale.
Self-contained on purpose (no imports from adapters.tables), like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("public_version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("audience_versions", sa.JSON(), server_default="[]", nullable=False))
    op.execute("UPDATE orders SET public_version = version")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("audience_versions")
        batch.drop_column("public_version")
