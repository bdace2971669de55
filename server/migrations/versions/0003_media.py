"""Media: photo and voice notes, stored beside their board (deleting a board deletes them).

Revision ID: 0003_media
Revises: 0001 (the integrator chains it after 0002)
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_media"
down_revision: str | Sequence[str] | None = "0002_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("content_type", sa.String, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_media_board", "media", ["board_id"])


def downgrade() -> None:
    op.drop_index("ix_media_board", table_name="media")
    op.drop_table("media")
