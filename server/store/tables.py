"""The database's tables, defined once: every query of the SQL repositories uses these.

Alembic (server/migrations/versions/) creates and changes the schema; a migration is a frozen
record of one step, so it spells its tables out rather than importing these. The two must agree:
tests/test_schema.py runs the migrations on an empty SQLite and PostgreSQL database and compares
the result with this metadata (alembic's `compare_metadata`); a difference fails it. A schema
change is therefore two edits: a new migration, and the table here.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

# SQLite only makes INTEGER PRIMARY KEY (not BIGINT) the rowid alias that autoincrements.
_SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

boards = sa.Table(
    "boards",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("join_code", sa.String, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("settings", _JSON_TYPE, nullable=False),
    sa.UniqueConstraint("join_code", name="uq_boards_join_code"),
)
participants = sa.Table(
    "participants",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("group_name", sa.String),
    sa.Column("lang", sa.String),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_participants_board", "board_id"),
)
update_log = sa.Table(
    "updates",
    metadata,
    sa.Column("seq", _SEQ_TYPE, primary_key=True, autoincrement=True),
    sa.Column("board_id", sa.String, nullable=False),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_updates_board_seq", "board_id", "seq"),
    sqlite_autoincrement=True,
)
snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("board_id", sa.String, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("state", sa.LargeBinary, nullable=False),
)
note_authors = sa.Table(
    "note_authors",
    metadata,
    sa.Column("board_id", sa.String, primary_key=True),
    sa.Column("note_id", sa.String, primary_key=True),
    sa.Column("actor", sa.String, nullable=False),
)
votes = sa.Table(
    "votes",
    metadata,
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
    sa.Column("participant_id", sa.String, sa.ForeignKey("participants.id"), primary_key=True),
    sa.Column("note_id", sa.String, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("board_id", sa.String, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("target", sa.String, nullable=False),
    # The replay feed reads one kind of a board's events in seq order (migration 0002_history).
    sa.Index("ix_events_board_kind_seq", "board_id", "kind", "seq"),
)
event_cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("board_id", sa.String, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)

# Migration 0003_media.
media = sa.Table(
    "media",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("content_type", sa.String, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    # Migration 0007_media_quota: bytes held (for quotas without reading the data) and whether a
    # note was ever seen using it (unattached old uploads are swept).
    sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("attached", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index("ix_media_board", "board_id"),
)

# Migration 0005_hidden_notes.
hidden_notes = sa.Table(
    "hidden_notes",
    metadata,
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
    sa.Column("note_id", sa.String, primary_key=True),
    sa.Column("author", sa.String, nullable=True),
    sa.Column("fields", sa.Text, nullable=False),  # JSON object
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("hidden_at", sa.Double, nullable=False),
)

# Migration 0006_disagree. The primary key is the rule "one mark per person per note".
disagree_marks = sa.Table(
    "disagree_marks",
    metadata,
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
    sa.Column("participant_id", sa.String, sa.ForeignKey("participants.id"), primary_key=True),
    sa.Column("note_id", sa.String, primary_key=True),
)

# Migration 0008_glossary. The primary key of glossary_flags is the rule "a person flags a term
# once"; `flagger` is read for nothing else (never exported, never sent).
glossary_flags = sa.Table(
    "glossary_flags",
    metadata,
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
    sa.Column("term_id", sa.String, primary_key=True),
    sa.Column("flagger", sa.String, primary_key=True),
)
# Who wrote each person's explanation (one per term and language): a participant edits their own.
glossary_explainers = sa.Table(
    "glossary_explainers",
    metadata,
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
    sa.Column("term_id", sa.String, primary_key=True),
    sa.Column("lang", sa.String, primary_key=True),
    sa.Column("actor", sa.String, nullable=False),
)
