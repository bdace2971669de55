"""Hidden notes (moderation): notes the facilitator took off the shared document, kept for the
facilitator and their author until restored; deleting a board deletes them.

Revision ID: 0005_hidden_notes
Revises: 0003_media (the integrator chains it after 0004)
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_hidden_notes"
down_revision: str | Sequence[str] | None = "0003_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hidden_notes",
        sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
        sa.Column("note_id", sa.String, primary_key=True),
        sa.Column("author", sa.String, nullable=True),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("hidden_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hidden_notes")
