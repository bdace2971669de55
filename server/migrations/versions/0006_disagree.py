""""I disagree" marks: one per participant per note, secret until the facilitator reveals, with a
budget of their own (the board setting `disagree_budget`); deleting a board deletes them.

Revision ID: 0006_disagree
Revises: 0005_hidden_notes
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_disagree"
down_revision: str | Sequence[str] | None = "0005_hidden_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The primary key is the rule "one mark per person per note".
    op.create_table(
        "disagree_marks",
        sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
        sa.Column(
            "participant_id", sa.String, sa.ForeignKey("participants.id"), primary_key=True
        ),
        sa.Column("note_id", sa.String, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("disagree_marks")
