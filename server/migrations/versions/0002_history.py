"""History: the "who did what" feed of each board, derived from its update log.

Revision ID: 0002_history
Revises: 0001
Create Date: 2026-12-01

`events` holds readable changes (note added, moved, phase changed, ...) decoded from the log once,
so the replay feed and the timeline's bookmarks are indexed reads, not a replay of the whole log.
`event_cursors` says up to which seq a board's log has been decoded.
`participants.revoked`: the participant's token is refused (erasure, or revoked by the facilitator).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_history"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "participants",
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "events",
        sa.Column("board_id", sa.String, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("ts", sa.Double, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
    )
    op.create_index("ix_events_board_kind_seq", "events", ["board_id", "kind", "seq"])
    op.create_table(
        "event_cursors",
        sa.Column("board_id", sa.String, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("revoked")
    op.drop_index("ix_events_board_kind_seq", "events")
    op.drop_table("event_cursors")
    op.drop_table("events")
