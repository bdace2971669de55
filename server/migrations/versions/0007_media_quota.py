"""Media quotas and orphans: each media row says how many bytes it holds (quotas per participant
and per board are counted in SQL, so several processes share them) and whether a note was ever
seen using it (uploads never attached to a note are swept after COBORD_MEDIA_ORPHAN_MINUTES).

Rows stored before this migration count as attached: they are never swept.

Revision ID: 0007_media_quota
Revises: 0005_hidden_notes (the lead chains it)
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_media_quota"
down_revision: str | Sequence[str] | None = "0006_disagree"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("size", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("attached", sa.Boolean, nullable=False, server_default=sa.true())
        )
    op.execute("UPDATE media SET size = length(data)")


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.drop_column("attached")
        batch.drop_column("size")
