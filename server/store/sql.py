"""`SqlStore`: the `Store` over SQLAlchemy 2 async Core; SQLite (aiosqlite) or PostgreSQL (asyncpg).

Transactions, and why:
- Writes go through `_write()`. On SQLite that is `BEGIN IMMEDIATE`: the write lock is taken up
  front, so a read-then-write transaction (a vote) cannot interleave with another writer, and waits
  go through `busy_timeout` instead of failing with SQLITE_BUSY when a deferred transaction tries to
  upgrade. Writers of one process also queue on an asyncio lock first: SQLite serializes them
  anyway, and queueing on the event loop avoids the busy handler's sleep-and-retry (1-100 ms steps).
- Reads use a plain deferred transaction: in WAL mode readers and the writer never block each other.
- `append_updates` on PostgreSQL takes a per-board advisory transaction lock before inserting.
  Sequence values are handed out at INSERT time but become visible at COMMIT, so two processes
  appending to one board could commit seq 11 before seq 10, and a reader catching up with
  `updates_after(10)` would never see 10. Under the lock, per-board seq order is commit order.
- `cast_vote` and `cast_mark` on PostgreSQL lock the participant row (SELECT ... FOR UPDATE) before
  reading their dots and marks, so concurrent votes of one participant are serialized (a budget is
  never exceeded, across processes too) while everyone else's proceed.

The schema is created by Alembic (server/migrations), run from `open()`; the tables below only
describe it for queries and must stay in step with the migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from server.store.base import (
    BoardRecord,
    DuplicateJoinCode,
    ErasureCounts,
    EventRecord,
    GlossaryFull,
    HiddenNoteRecord,
    HistoryRewriter,
    KeyframeBuilder,
    LogSummary,
    MarkRecord,
    MediaQuota,
    MediaRecord,
    NewUpdate,
    ParticipantRecord,
    SnapshotRecord,
    StoreError,
    UpdateRecord,
    VoteRecord,
    VoteTally,
    check_media_quota,
)
from server.store.memory import check_mark, check_no_mark_when_dotting, check_vote
from server.store.sqlite_log import SqliteLogAppender
from server.store.sqlite_replay import SqliteReplayReader

DEFAULT_URL = "sqlite+aiosqlite:///./cobord.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option read by the SQLite "begin" hook: which BEGIN to emit.
_BEGIN_OPTION = "cobord_sqlite_begin"

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
)
event_cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("board_id", sa.String, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


def normalize_url(url: str) -> URL:
    """Pick the async driver: `postgres(ql)://` -> asyncpg, `sqlite://` -> aiosqlite."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def _on_sqlite_connect(
    dbapi_connection: Any, _record: ConnectionPoolEntry, synchronous: str = "FULL"
) -> None:
    # Take BEGIN away from the sqlite3 driver (it skips it before SELECTs, breaking read-then-write
    # transactions); `_on_sqlite_begin` emits it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",  # readers and the writer do not block each other
        # FULL: each commit is synced to disk; NORMAL: only at checkpoints (see README: Durability)
        f"PRAGMA synchronous={synchronous}",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA foreign_keys=ON",
    ):
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: URL, sqlite_synchronous: str = "FULL") -> AsyncEngine:
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":

        def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
            _on_sqlite_connect(dbapi_connection, record, sqlite_synchronous)

        sa.event.listen(engine.sync_engine, "connect", on_connect)
        sa.event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _alembic_config(url: URL) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def _upgrade_sync(connection: Connection, cfg: Config) -> None:
    # env.py uses this connection (and its open transaction) instead of making its own engine.
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def _upgrade_engine(engine: AsyncEngine) -> None:
    writer = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    async with writer.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Several processes starting together must not run the migrations twice.
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('cobord:migrate'))"))
        await conn.run_sync(_upgrade_sync, _alembic_config(engine.url))


async def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema (`cobord db upgrade`)."""
    engine = make_engine(normalize_url(url))
    try:
        await _upgrade_engine(engine)
    finally:
        await engine.dispose()


def _board(row: sa.Row[Any]) -> BoardRecord:
    return BoardRecord(
        id=row.id,
        title=row.title,
        join_code=row.join_code,
        created_at=row.created_at,
        settings=row.settings,
    )


def _participant(row: sa.Row[Any]) -> ParticipantRecord:
    return ParticipantRecord(
        id=row.id,
        board_id=row.board_id,
        name=row.name,
        group=row.group_name,
        lang=row.lang,
        created_at=row.created_at,
        revoked=bool(row.revoked),
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
glossary_explainers = sa.Table(
    "glossary_explainers",
    metadata,
    sa.Column("board_id", sa.String, sa.ForeignKey("boards.id"), primary_key=True),
    sa.Column("term_id", sa.String, primary_key=True),
    sa.Column("lang", sa.String, primary_key=True),
    sa.Column("actor", sa.String, nullable=False),
)


class SqlStore:
    """The `Store` over a SQL database; call `open()` before use and `close()` after."""

    def __init__(self, url: str = DEFAULT_URL, sqlite_synchronous: str = "FULL") -> None:
        if sqlite_synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"sqlite_synchronous: FULL or NORMAL, not {sqlite_synchronous!r}")
        self.sqlite_synchronous = sqlite_synchronous
        self._url = normalize_url(url)
        self._engine: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self._write_lock: asyncio.Lock | None = None
        self._appender: SqliteLogAppender | None = None  # SQLite files: one-hop group commits
        self._replay: SqliteReplayReader | None = None  # SQLite files: one-hop replay seeks

    @property
    def dialect(self) -> str:
        return self._url.get_backend_name()

    async def open(self) -> None:
        engine = make_engine(self._url, self.sqlite_synchronous)
        try:
            await _upgrade_engine(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        # Same pool; only the BEGIN emitted on SQLite differs.
        self._writer = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        database = engine.url.database
        if self.dialect == "sqlite" and database and database != ":memory:":
            self._appender = SqliteLogAppender(database, self.sqlite_synchronous)
            self._replay = SqliteReplayReader(database)

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()
            self._appender = None
        if self._replay is not None:
            await self._replay.close()
            self._replay = None
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._writer = None

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        if self._engine is None:
            raise StoreError("store is not open")
        async with self._engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on exit (rolled back on error)."""
        if self._writer is None:
            raise StoreError("store is not open")
        async with self._write_lock or contextlib.nullcontext(), self._writer.begin() as conn:
            yield conn

    def _insert(self, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
        # Both dialects' INSERT have the same ON CONFLICT API.
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # Boards and participants

    async def create_board(self, board: BoardRecord) -> None:
        row = {
            "id": board.id,
            "title": board.title,
            "join_code": board.join_code,
            "created_at": board.created_at,
            "settings": board.settings,
        }
        try:
            async with self._write() as conn:
                await conn.execute(boards.insert(), row)
        except IntegrityError as error:
            # Tell the two unique keys apart without parsing driver-specific messages.
            if await self.get_board_by_code(board.join_code) is not None:
                raise DuplicateJoinCode(f"join code {board.join_code!r} is taken") from error
            raise StoreError(f"board {board.id!r} already exists") from error

    async def get_board(self, board_id: str) -> BoardRecord | None:
        async with self._read() as conn:
            row = (await conn.execute(boards.select().where(boards.c.id == board_id))).first()
        return None if row is None else _board(row)

    async def get_board_by_code(self, join_code: str) -> BoardRecord | None:
        query = boards.select().where(boards.c.join_code == join_code)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _board(row)

    async def update_board_settings(self, board_id: str, settings: dict[str, Any]) -> None:
        query = boards.update().where(boards.c.id == board_id).values(settings=settings)
        async with self._write() as conn:
            result = await conn.execute(query)
        if result.rowcount == 0:
            raise StoreError(f"unknown board {board_id!r}")

    async def add_participant(self, participant: ParticipantRecord) -> None:
        row = {
            "id": participant.id,
            "board_id": participant.board_id,
            "name": participant.name,
            "group_name": participant.group,
            "lang": participant.lang,
            "created_at": participant.created_at,
        }
        try:
            async with self._write() as conn:
                await conn.execute(participants.insert(), row)
        except IntegrityError as error:
            raise StoreError(
                f"participant {participant.id!r} exists or board {participant.board_id!r} does not"
            ) from error

    async def get_participant(self, participant_id: str) -> ParticipantRecord | None:
        query = participants.select().where(participants.c.id == participant_id)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _participant(row)

    async def list_participants(self, board_id: str) -> list[ParticipantRecord]:
        query = (
            participants.select()
            .where(participants.c.board_id == board_id)
            .order_by(participants.c.created_at, participants.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_participant(row) for row in rows]

    # The update log

    async def append_updates(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        if not updates:
            return []
        rows = [
            {"board_id": board_id, "ts": u.ts, "actor": u.actor, "data": u.data} for u in updates
        ]
        # Reversed: the batch's first creator of a note wins, as ON CONFLICT DO NOTHING does across
        # batches.
        if self._appender is not None:
            async with self._write_lock or contextlib.nullcontext():
                return await self._appender.append(board_id, updates)
        authors = {n: u.actor for u in reversed(updates) for n in u.created_notes}
        async with self._write() as conn:
            seqs = await self._insert_updates(conn, board_id, rows)
            if authors:
                await conn.execute(
                    self._insert(note_authors).on_conflict_do_nothing(),
                    [
                        {"board_id": board_id, "note_id": note_id, "actor": actor}
                        for note_id, actor in authors.items()
                    ],
                )
        return seqs

    async def _insert_updates(
        self, conn: AsyncConnection, board_id: str, rows: list[dict[str, Any]]
    ) -> list[int]:
        if self.dialect == "postgresql":
            # Per-board seq order must be commit order (see the module docstring).
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:board, 0))"),
                {"board": board_id},
            )
            # One multi-row INSERT; the sentinel ordering makes RETURNING follow parameter order.
            insert = update_log.insert().returning(update_log.c.seq, sort_by_parameter_order=True)
            return list((await conn.execute(insert, rows)).scalars())
        # SQLAlchemy cannot batch an ordered RETURNING on SQLite (it would send one INSERT per
        # row), but it does batch an unordered one into multi-row VALUES. Those insert their rows in
        # order, and under BEGIN IMMEDIATE (nobody else writes until we commit) AUTOINCREMENT hands
        # out increasing seqs: whatever order RETURNING reports them in, sorted seqs are in
        # parameter order.
        insert = update_log.insert().returning(update_log.c.seq)
        return sorted((await conn.execute(insert, rows)).scalars())

    async def load(
        self, board_id: str, until_ts: float | None = None
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        if until_ts is not None and self._replay is not None:
            return await self._replay.load_until_ts(board_id, until_ts)
        latest = snapshots.select().where(snapshots.c.board_id == board_id)
        if until_ts is not None:
            latest = latest.where(snapshots.c.ts <= until_ts)
        latest = latest.order_by(snapshots.c.seq.desc()).limit(1)
        # One read transaction: on SQLite both queries see the same database state.
        async with self._read() as conn:
            return await self._load(conn, board_id, latest, until_ts)

    async def _load(
        self, conn: AsyncConnection, board_id: str, latest: Any, until_ts: float | None = None
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        row = (await conn.execute(latest)).first()
        snapshot = None if row is None else SnapshotRecord(row.seq, row.ts, bytes(row.state))
        after = snapshot.seq if snapshot else 0
        tail = await self._updates_after(conn, board_id, after, None, until_ts)
        return snapshot, tail

    async def save_keyframe_from_log(
        self, board_id: str, build: KeyframeBuilder
    ) -> SnapshotRecord | None:
        # PostgreSQL: a shared lock that only an erasure takes exclusively (appends and other
        # keyframes go on), so a keyframe is never built from rows an erasure has rewritten
        # since. SQLite: one write transaction (one process at a time writes anyway).
        latest = (
            snapshots.select()
            .where(snapshots.c.board_id == board_id)
            .order_by(snapshots.c.seq.desc())
            .limit(1)
        )
        async with self._write() as conn:
            if self.dialect == "postgresql":
                await conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:board, 1))"),
                    {"board": board_id},
                )
            previous, tail = await self._load(conn, board_id, latest)
            keyframe = await asyncio.to_thread(build, previous, tail)
            if keyframe is None:
                return None
            row = {"board_id": board_id, "seq": keyframe.seq, "ts": keyframe.ts}
            await conn.execute(
                self._insert(snapshots).on_conflict_do_nothing(), {**row, "state": keyframe.state}
            )
        return keyframe

    async def save_snapshot(self, board_id: str, snapshot: SnapshotRecord) -> None:
        row = {
            "board_id": board_id,
            "seq": snapshot.seq,
            "ts": snapshot.ts,
            "state": snapshot.state,
        }
        # A keyframe at a given seq is the same state whoever writes it: keep the first one.
        async with self._write() as conn:
            await conn.execute(self._insert(snapshots).on_conflict_do_nothing(), row)

    async def note_authors(self, board_id: str) -> dict[str, str]:
        query = sa.select(note_authors.c.note_id, note_authors.c.actor).where(
            note_authors.c.board_id == board_id
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return {row.note_id: row.actor for row in rows}

    async def updates_after(
        self, board_id: str, after_seq: int, limit: int | None = None
    ) -> list[UpdateRecord]:
        async with self._read() as conn:
            return await self._updates_after(conn, board_id, after_seq, limit)

    @staticmethod
    async def _updates_after(
        conn: AsyncConnection,
        board_id: str,
        after_seq: int,
        limit: int | None,
        until_ts: float | None = None,
    ) -> list[UpdateRecord]:
        query = sa.select(
            update_log.c.seq, update_log.c.ts, update_log.c.actor, update_log.c.data
        ).where(update_log.c.board_id == board_id, update_log.c.seq > after_seq)
        if until_ts is not None:
            query = query.where(update_log.c.ts <= until_ts)
        query = query.order_by(update_log.c.seq)
        if limit is not None:
            query = query.limit(max(limit, 0))
        rows = (await conn.execute(query)).all()
        return [UpdateRecord(seq, ts, actor, bytes(data)) for seq, ts, actor, data in rows]

    # Replay and history

    async def load_until_seq(
        self, board_id: str, seq: int
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        if self._replay is not None:
            return await self._replay.load_until_seq(board_id, seq)
        latest = (
            snapshots.select()
            .where(snapshots.c.board_id == board_id, snapshots.c.seq <= seq)
            .order_by(snapshots.c.seq.desc())
            .limit(1)
        )
        async with self._read() as conn:
            row = (await conn.execute(latest)).first()
            snapshot = None if row is None else SnapshotRecord(row.seq, row.ts, bytes(row.state))
            query = (
                sa.select(update_log.c.seq, update_log.c.ts, update_log.c.actor, update_log.c.data)
                .where(
                    update_log.c.board_id == board_id,
                    update_log.c.seq > (snapshot.seq if snapshot else 0),
                    update_log.c.seq <= seq,
                )
                .order_by(update_log.c.seq)
            )
            rows = (await conn.execute(query)).all()
        return snapshot, [UpdateRecord(q, ts, actor, bytes(data)) for q, ts, actor, data in rows]

    async def log_summary(self, board_id: str) -> LogSummary:
        # Three index lookups on (board_id, seq); COUNT walks the index only, never the data.
        where = update_log.c.board_id == board_id
        count = sa.select(sa.func.count()).select_from(update_log).where(where)
        first = sa.select(update_log.c.seq, update_log.c.ts).where(where)
        async with self._read() as conn:
            total = int((await conn.execute(count)).scalar_one())
            head = (await conn.execute(first.order_by(update_log.c.seq).limit(1))).first()
            tail = (await conn.execute(first.order_by(update_log.c.seq.desc()).limit(1))).first()
        if head is None or tail is None:
            return LogSummary(0, 0, None, 0, None)
        return LogSummary(total, int(head.seq), head.ts, int(tail.seq), tail.ts)

    async def event_cursor(self, board_id: str) -> int:
        query = sa.select(event_cursors.c.seq).where(event_cursors.c.board_id == board_id)
        async with self._read() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return int(value or 0)

    async def save_events(
        self, board_id: str, expected_cursor: int, upto_seq: int, events_: Sequence[EventRecord]
    ) -> bool:
        async with self._write() as conn:
            exists = sa.select(boards.c.id).where(boards.c.id == board_id).with_for_update()
            if (await conn.execute(exists)).first() is None:
                return False
            cursor = sa.select(event_cursors.c.seq).where(event_cursors.c.board_id == board_id)
            current = (await conn.execute(cursor.with_for_update())).scalar_one_or_none()
            if int(current or 0) != expected_cursor:
                return False
            if current is None:
                await conn.execute(event_cursors.insert(), {"board_id": board_id, "seq": upto_seq})
            else:
                await conn.execute(
                    event_cursors.update()
                    .where(event_cursors.c.board_id == board_id)
                    .values(seq=upto_seq)
                )
            if events_:
                await conn.execute(
                    events.insert(),
                    [
                        {
                            "board_id": board_id,
                            "seq": e.seq,
                            "idx": e.idx,
                            "ts": e.ts,
                            "kind": e.kind,
                            "actor": e.actor,
                            "target": e.target,
                        }
                        for e in events_
                    ],
                )
        return True

    async def events_after(
        self, board_id: str, after_seq: int, limit: int, kinds: Sequence[str] | None = None
    ) -> list[EventRecord]:
        query = sa.select(
            events.c.seq, events.c.idx, events.c.ts, events.c.kind, events.c.actor, events.c.target
        ).where(events.c.board_id == board_id, events.c.seq > after_seq)
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        query = query.order_by(events.c.seq, events.c.idx).limit(max(limit, 0))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [EventRecord(int(r.seq), r.idx, r.ts, r.kind, r.actor, r.target) for r in rows]

    async def revoke_participant(
        self, board_id: str, participant_id: str, new_name: str | None = None
    ) -> bool:
        values: dict[str, Any] = {"revoked": True}
        if new_name is not None:
            values["name"] = new_name
        query = (
            participants.update()
            .where(participants.c.id == participant_id, participants.c.board_id == board_id)
            .values(**values)
        )
        async with self._write() as conn:
            result = await conn.execute(query)
        return bool(result.rowcount)

    async def erase_participant(
        self, board_id: str, participant_id: str, erased_name: str, rewrite: HistoryRewriter
    ) -> ErasureCounts:
        async with self._write() as conn:
            if self.dialect == "postgresql":
                # The lock appends take (`_insert_updates`): no row lands between read and write;
                # and the one keyframes built from the log take shared (save_keyframe_from_log).
                for key in (0, 1):
                    await conn.execute(
                        sa.text(f"SELECT pg_advisory_xact_lock(hashtextextended(:board, {key}))"),
                        {"board": board_id},
                    )
            person = participants.c
            found = await conn.execute(
                sa.select(person.id).where(person.id == participant_id, person.board_id == board_id)
            )
            if found.first() is None:
                raise StoreError(f"unknown participant {participant_id!r}")
            log = [
                UpdateRecord(r.seq, r.ts, r.actor, bytes(r.data))
                for r in await conn.execute(
                    sa.select(update_log)
                    .where(update_log.c.board_id == board_id)
                    .order_by(update_log.c.seq)
                )
            ]
            frames = [
                SnapshotRecord(r.seq, r.ts, bytes(r.state))
                for r in await conn.execute(
                    sa.select(snapshots)
                    .where(snapshots.c.board_id == board_id)
                    .order_by(snapshots.c.seq)
                )
            ]
            # Decoding and checking a long history takes a while: off the event loop. Raising
            # leaves the transaction, which rolls back.
            plan = await asyncio.to_thread(rewrite, log, frames)
            if plan.updates:
                await conn.execute(
                    update_log.update()
                    .where(update_log.c.board_id == board_id, update_log.c.seq == sa.bindparam("s"))
                    .values(data=sa.bindparam("d")),
                    [{"s": seq, "d": data} for seq, data in plan.updates.items()],
                )
            if plan.keyframes:
                await conn.execute(
                    snapshots.update()
                    .where(snapshots.c.board_id == board_id, snapshots.c.seq == sa.bindparam("s"))
                    .values(state=sa.bindparam("d")),
                    [{"s": seq, "d": data} for seq, data in plan.keyframes.items()],
                )
            await conn.execute(
                participants.update()
                .where(person.id == participant_id)
                .values(name=erased_name, revoked=True)
            )
            gone = await conn.execute(
                media.delete().where(media.c.board_id == board_id, media.c.actor == participant_id)
            )
            # The glossary: which terms they did not understand is forgotten (the counts in the
            # document stay, naming nobody); their explanations are nobody's to keep any more.
            for table, column in (
                (glossary_flags, glossary_flags.c.flagger),
                (glossary_explainers, glossary_explainers.c.actor),
            ):
                await conn.execute(
                    table.delete().where(table.c.board_id == board_id, column == participant_id)
                )
            hidden_rows = await conn.execute(
                sa.select(hidden_notes.c.note_id, hidden_notes.c.fields).where(
                    hidden_notes.c.board_id == board_id, hidden_notes.c.author == participant_id
                )
            )
            cleaned = []
            for note_id, text in hidden_rows.all():
                fields = json.loads(text)
                if isinstance(fields, dict) and "author" in fields:
                    del fields["author"]
                    cleaned.append({"n": note_id, "f": json.dumps(fields)})
            if cleaned:
                await conn.execute(
                    hidden_notes.update()
                    .where(
                        hidden_notes.c.board_id == board_id,
                        hidden_notes.c.note_id == sa.bindparam("n"),
                    )
                    .values(fields=sa.bindparam("f")),
                    cleaned,
                )
        return ErasureCounts(len(plan.updates) + len(plan.keyframes), gone.rowcount, len(cleaned))

    async def set_join_code(self, board_id: str, join_code: str) -> None:
        query = boards.update().where(boards.c.id == board_id).values(join_code=join_code)
        try:
            async with self._write() as conn:
                result = await conn.execute(query)
        except IntegrityError as error:
            raise DuplicateJoinCode(f"join code {join_code!r} is taken") from error
        if result.rowcount == 0:
            raise StoreError(f"unknown board {board_id!r}")

    async def idle_boards(self, before_ts: float) -> list[str]:
        last = (
            sa.select(update_log.c.ts)
            .where(update_log.c.board_id == boards.c.id)
            .order_by(update_log.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            sa.select(boards.c.id)
            .where(sa.func.coalesce(last, boards.c.created_at) < before_ts)
            .order_by(boards.c.id)
        )
        async with self._read() as conn:
            return list((await conn.execute(query)).scalars())

    async def delete_board(self, board_id: str) -> bool:
        async with self._write() as conn:
            # Children first (foreign keys), the board row last.
            for table in (
                votes,
                disagree_marks,
                participants,
                update_log,
                snapshots,
                note_authors,
                events,
                media,
                hidden_notes,
                glossary_flags,
                glossary_explainers,
            ):
                await conn.execute(table.delete().where(table.c.board_id == board_id))
            await conn.execute(event_cursors.delete().where(event_cursors.c.board_id == board_id))
            result = await conn.execute(boards.delete().where(boards.c.id == board_id))
        return bool(result.rowcount)

    # Dot voting

    async def cast_vote(
        self,
        board_id: str,
        participant_id: str,
        note_id: str,
        delta: int,
        budget: int,
        max_per_note: int,
    ) -> VoteTally:
        if delta not in (1, -1):
            raise ValueError(f"delta must be +1 or -1, not {delta}")
        async with self._write() as conn:
            # The row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite, which does not render FOR
            # UPDATE) serializes this participant's votes from here to COMMIT.
            await self._lock_participant(conn, board_id, participant_id)
            spent, mine = await self._dots(conn, board_id, participant_id, note_id)
            check_vote(delta, mine, spent, budget, max_per_note)
            if delta > 0:
                _, marked = await self._marks(conn, board_id, participant_id, note_id)
                check_no_mark_when_dotting(marked)
            await self._set_dots(conn, board_id, participant_id, note_id, mine, mine + delta)
        return VoteTally(mine=mine + delta, remaining=budget - spent - delta)

    async def cast_mark(
        self, board_id: str, participant_id: str, note_id: str, delta: int, budget: int
    ) -> VoteTally:
        if delta not in (1, -1):
            raise ValueError(f"delta must be +1 or -1, not {delta}")
        async with self._write() as conn:
            # Same serialization as dots: the participant's row lock (PostgreSQL) or BEGIN
            # IMMEDIATE (SQLite) holds from this read to COMMIT, so the budget check sees every
            # mark this participant committed, whichever process served it.
            await self._lock_participant(conn, board_id, participant_id)
            spent, marked = await self._marks(conn, board_id, participant_id, note_id)
            _, dots_on_note = await self._dots(conn, board_id, participant_id, note_id)
            check_mark(delta, marked, spent, budget, dots_on_note)
            key = (
                (disagree_marks.c.board_id == board_id)
                & (disagree_marks.c.participant_id == participant_id)
                & (disagree_marks.c.note_id == note_id)
            )
            if delta > 0:
                await conn.execute(
                    disagree_marks.insert().values(
                        board_id=board_id, participant_id=participant_id, note_id=note_id
                    )
                )
            else:
                await conn.execute(disagree_marks.delete().where(key))
        return VoteTally(mine=int(marked) + delta, remaining=budget - spent - delta)

    @staticmethod
    async def _marks(
        conn: AsyncConnection, board_id: str, participant_id: str, note_id: str
    ) -> tuple[int, bool]:
        """(all marks of the participant, whether this note is one of them), in one query."""
        on_note = sa.case((disagree_marks.c.note_id == note_id, 1), else_=0)
        query = sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(on_note), 0)
        ).where(
            disagree_marks.c.board_id == board_id,
            disagree_marks.c.participant_id == participant_id,
        )
        spent, marked = (await conn.execute(query)).one()
        return int(spent), bool(marked)

    async def marks_of(self, board_id: str, participant_id: str) -> list[str]:
        query = (
            sa.select(disagree_marks.c.note_id)
            .where(
                disagree_marks.c.board_id == board_id,
                disagree_marks.c.participant_id == participant_id,
            )
            .order_by(disagree_marks.c.note_id)
        )
        async with self._read() as conn:
            return list((await conn.execute(query)).scalars())

    async def all_marks(self, board_id: str) -> list[MarkRecord]:
        query = (
            sa.select(disagree_marks.c.participant_id, disagree_marks.c.note_id)
            .where(disagree_marks.c.board_id == board_id)
            .order_by(disagree_marks.c.participant_id, disagree_marks.c.note_id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [MarkRecord(pid, note_id) for pid, note_id in rows]

    @staticmethod
    async def _lock_participant(conn: AsyncConnection, board_id: str, participant_id: str) -> None:
        query = (
            sa.select(participants.c.id)
            .where(participants.c.id == participant_id, participants.c.board_id == board_id)
            .with_for_update()
        )
        if (await conn.execute(query)).first() is None:
            raise StoreError(f"unknown participant {participant_id!r} on board {board_id!r}")

    @staticmethod
    async def _dots(
        conn: AsyncConnection, board_id: str, participant_id: str, note_id: str
    ) -> tuple[int, int]:
        """(all dots of the participant, their dots on this note), in one query."""
        on_note = sa.case((votes.c.note_id == note_id, votes.c.count), else_=0)
        query = sa.select(
            sa.func.coalesce(sa.func.sum(votes.c.count), 0),
            sa.func.coalesce(sa.func.sum(on_note), 0),
        ).where(votes.c.board_id == board_id, votes.c.participant_id == participant_id)
        spent, mine = (await conn.execute(query)).one()
        return int(spent), int(mine)

    @staticmethod
    async def _set_dots(
        conn: AsyncConnection, board_id: str, participant_id: str, note_id: str, old: int, new: int
    ) -> None:
        # Under the participant lock nobody else writes these rows, so the plain statement that fits
        # is enough (no upsert race), and rows never hold 0.
        key = (
            (votes.c.board_id == board_id)
            & (votes.c.participant_id == participant_id)
            & (votes.c.note_id == note_id)
        )
        if old == 0:
            values = {"board_id": board_id, "participant_id": participant_id, "note_id": note_id}
            await conn.execute(votes.insert().values(count=new, **values))
        elif new == 0:
            await conn.execute(votes.delete().where(key))
        else:
            await conn.execute(votes.update().where(key).values(count=new))

    async def votes_of(self, board_id: str, participant_id: str) -> dict[str, int]:
        query = sa.select(votes.c.note_id, votes.c.count).where(
            votes.c.board_id == board_id,
            votes.c.participant_id == participant_id,
            votes.c.count > 0,
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return {note_id: count for note_id, count in rows}

    async def all_votes(self, board_id: str) -> list[VoteRecord]:
        query = (
            sa.select(votes.c.participant_id, votes.c.note_id, votes.c.count)
            .where(votes.c.board_id == board_id, votes.c.count > 0)
            .order_by(votes.c.participant_id, votes.c.note_id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [VoteRecord(pid, note_id, count) for pid, note_id, count in rows]

    async def _insert_on_board(self, table: sa.Table, row: dict[str, Any], taken: str) -> None:
        """Insert `row` of a board that must exist; `taken`: the error when its key is used."""
        async with self._write() as conn:
            query = sa.select(boards.c.id).where(boards.c.id == row["board_id"])
            if (await conn.execute(query)).first() is None:
                raise StoreError(f"unknown board {row['board_id']!r}")
            try:
                async with conn.begin_nested():
                    await conn.execute(table.insert(), row)
            except IntegrityError as error:
                raise StoreError(taken) from error

    # Media

    async def put_media(self, record: MediaRecord, quota: MediaQuota | None = None) -> None:
        row = {
            "id": record.id,
            "board_id": record.board_id,
            "kind": record.kind,
            "content_type": record.content_type,
            "data": record.data,
            "actor": record.actor,
            "created_at": record.created_at,
            "size": len(record.data),
            "attached": False,
        }
        async with self._write() as conn:
            # The board row's lock (PostgreSQL; SQLite: BEGIN IMMEDIATE) serializes the board's
            # uploads from the count to COMMIT, on every process.
            query = sa.select(boards.c.id).where(boards.c.id == record.board_id).with_for_update()
            if (await conn.execute(query)).first() is None:
                raise StoreError(f"unknown board {record.board_id!r}")
            if quota is not None:
                mine = sa.case((media.c.actor == record.actor, 1), else_=0)
                mine_bytes = sa.case((media.c.actor == record.actor, media.c.size), else_=0)
                usage = sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(media.c.size), 0),
                    sa.func.coalesce(sa.func.sum(mine), 0),
                    sa.func.coalesce(sa.func.sum(mine_bytes), 0),
                ).where(media.c.board_id == record.board_id)
                count, held, my_count, my_held = (await conn.execute(usage)).one()
                check_media_quota(
                    quota,
                    (int(count), int(held)),
                    (int(my_count), int(my_held)),
                    len(record.data),
                )
            try:
                async with conn.begin_nested():
                    await conn.execute(media.insert(), row)
            except IntegrityError as error:
                raise StoreError(f"media {record.id!r} already exists") from error

    async def existing_media(self, board_id: str, media_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        wanted = list(dict.fromkeys(media_ids))
        async with self._read() as conn:
            for start in range(0, len(wanted), 500):  # bounded IN lists
                query = sa.select(media.c.id).where(
                    media.c.board_id == board_id, media.c.id.in_(wanted[start : start + 500])
                )
                found.update((await conn.execute(query)).scalars())
        return found

    async def unattached_media(self, before_ts: float, limit: int) -> list[tuple[str, str]]:
        query = (
            sa.select(media.c.board_id, media.c.id)
            .where(media.c.attached.is_(False), media.c.created_at < before_ts)
            .order_by(media.c.created_at)
            .limit(limit)
        )
        async with self._read() as conn:
            return [(b, i) for b, i in (await conn.execute(query)).all()]

    async def attach_media(self, board_id: str, media_ids: Sequence[str]) -> None:
        if not media_ids:
            return
        async with self._write() as conn:
            await conn.execute(
                media.update()
                .where(media.c.board_id == board_id, media.c.id.in_(list(media_ids)))
                .values(attached=True)
            )

    async def delete_unattached_media(self, board_id: str, media_ids: Sequence[str]) -> int:
        if not media_ids:
            return 0
        async with self._write() as conn:
            result = await conn.execute(
                media.delete().where(
                    media.c.board_id == board_id,
                    media.c.id.in_(list(media_ids)),
                    media.c.attached.is_(False),
                )
            )
        return int(result.rowcount)

    async def get_media(self, board_id: str, media_id: str) -> MediaRecord | None:
        query = media.select().where(media.c.board_id == board_id, media.c.id == media_id)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return MediaRecord(
            row.id,
            row.board_id,
            row.kind,
            row.content_type,
            bytes(row.data),
            row.actor,
            row.created_at,
        )

    async def delete_media_of_board(self, board_id: str) -> int:
        async with self._write() as conn:
            result = await conn.execute(media.delete().where(media.c.board_id == board_id))
        return int(result.rowcount)

    # Hidden notes (moderation)

    async def put_hidden_note(self, record: HiddenNoteRecord) -> None:
        row = {
            "board_id": record.board_id,
            "note_id": record.note_id,
            "author": record.author,
            "fields": json.dumps(record.fields),
            "reason": record.reason,
            "hidden_at": record.hidden_at,
        }
        await self._insert_on_board(hidden_notes, row, f"note {record.note_id!r} is already hidden")

    async def hidden_notes(self, board_id: str) -> list[HiddenNoteRecord]:
        query = (
            hidden_notes.select()
            .where(hidden_notes.c.board_id == board_id)
            .order_by(hidden_notes.c.hidden_at, hidden_notes.c.note_id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_hidden(row) for row in rows]

    async def take_hidden_note(self, board_id: str, note_id: str) -> HiddenNoteRecord | None:
        where = (hidden_notes.c.board_id == board_id, hidden_notes.c.note_id == note_id)
        async with self._write() as conn:
            row = (await conn.execute(hidden_notes.select().where(*where))).first()
            if row is None:
                return None
            await conn.execute(hidden_notes.delete().where(*where))
        return _hidden(row)

    # The glossary (issue #21)

    async def flag_term(
        self, board_id: str, term_id: str, flagger: str, max_flags: int
    ) -> tuple[int, bool]:
        async with self._write() as conn:
            # One board's flags at a time (PostgreSQL row lock; SQLite: BEGIN IMMEDIATE), so
            # the board's bound holds with several processes.
            query = sa.select(boards.c.id).where(boards.c.id == board_id).with_for_update()
            if (await conn.execute(query)).first() is None:
                raise StoreError(f"unknown board {board_id!r}")
            of_board = glossary_flags.c.board_id == board_id
            key = of_board & (glossary_flags.c.term_id == term_id)
            mine = key & (glossary_flags.c.flagger == flagger)
            added = False
            if (await conn.execute(sa.select(sa.literal(1)).where(mine))).first() is None:
                total = sa.select(sa.func.count()).select_from(glossary_flags).where(of_board)
                if (await conn.execute(total)).scalar_one() >= max_flags:
                    raise GlossaryFull(f"a board holds at most {max_flags} flags")
                row = {"board_id": board_id, "term_id": term_id, "flagger": flagger}
                await conn.execute(glossary_flags.insert(), row)
                added = True
            count = sa.select(sa.func.count()).select_from(glossary_flags).where(key)
            return int((await conn.execute(count)).scalar_one()), added

    async def term_flags(self, board_id: str) -> dict[str, int]:
        query = (
            sa.select(glossary_flags.c.term_id, sa.func.count())
            .where(glossary_flags.c.board_id == board_id)
            .group_by(glossary_flags.c.term_id)
        )
        async with self._read() as conn:
            return {term: int(n) for term, n in (await conn.execute(query)).all()}

    async def claim_explanation(self, board_id: str, term_id: str, lang: str, actor: str) -> str:
        row = {"board_id": board_id, "term_id": term_id, "lang": lang, "actor": actor}
        key = (
            (glossary_explainers.c.board_id == board_id)
            & (glossary_explainers.c.term_id == term_id)
            & (glossary_explainers.c.lang == lang)
        )
        async with self._write() as conn:
            await conn.execute(self._insert(glossary_explainers).on_conflict_do_nothing(), row)
            owner = await conn.execute(sa.select(glossary_explainers.c.actor).where(key))
            return str(owner.scalar_one())

    async def release_explanation(self, board_id: str, term_id: str, lang: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                glossary_explainers.delete().where(
                    glossary_explainers.c.board_id == board_id,
                    glossary_explainers.c.term_id == term_id,
                    glossary_explainers.c.lang == lang,
                )
            )


def _hidden(row: sa.Row[Any]) -> HiddenNoteRecord:
    fields = json.loads(row.fields)
    return HiddenNoteRecord(
        row.board_id,
        row.note_id,
        row.author,
        fields if isinstance(fields, dict) else {},
        row.reason,
        row.hidden_at,
    )
