"""Initial schema: boards, participants, the update log, keyframes, note authors, votes.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The tables are spelled out here rather than imported from `server.store.sql`: a migration is a
frozen record of one step, while the live table definitions move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only makes INTEGER PRIMARY KEY (not BIGINT) the autoincrementing rowid alias.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "boards",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("join_code", sa.String, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.UniqueConstraint("join_code", name="uq_boards_join_code"),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("group_name", sa.String),
        sa.Column("lang", sa.String),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_participants_board", "participants", ["board_id"])
    # Append-only. AUTOINCREMENT on SQLite: seqs are never reused, even after old rows are pruned.
    op.create_table(
        "updates",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.String, nullable=False),
        sa.Column("ts", sa.Double, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_updates_board_seq", "updates", ["board_id", "seq"])
    op.create_table(
        "snapshots",
        sa.Column("board_id", sa.String, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("ts", sa.Double, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "note_authors",
        sa.Column("board_id", sa.String, primary_key=True),
        sa.Column("note_id", sa.String, primary_key=True),
        sa.Column("actor", sa.String, nullable=False),
    )
    op.create_table(
        "votes",
        sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
        sa.Column("participant_id", sa.String, sa.ForeignKey("participants.id"), primary_key=True),
        sa.Column("note_id", sa.String, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("votes", "note_authors", "snapshots", "updates", "participants", "boards"):
        op.drop_table(table)
