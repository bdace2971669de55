"""The glossary (issue #21): who said "I don't understand" a term, kept only so that a person
counts once per term (the document holds the count, never who); and who wrote each human
explanation, so a participant edits their own. Deleting a board deletes both.

Revision ID: 0008_glossary
Revises: 0007_media_quota
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_glossary"
down_revision: str | Sequence[str] | None = "0007_media_quota"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "glossary_flags",
        sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
        sa.Column("term_id", sa.String, primary_key=True),
        sa.Column("flagger", sa.String, primary_key=True),
    )
    op.create_table(
        "glossary_explainers",
        sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
        sa.Column("term_id", sa.String, primary_key=True),
        sa.Column("lang", sa.String, primary_key=True),
        sa.Column("actor", sa.String, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("glossary_explainers")
    op.drop_table("glossary_flags")
