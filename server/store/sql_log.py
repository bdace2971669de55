"""`SqlUpdateLog`: a board's update log and keyframes over SQL (server/store/log.py).

Appends on PostgreSQL take a per-board advisory transaction lock before inserting. Sequence values
are handed out at INSERT time but become visible at COMMIT, so two processes appending to one board
could commit seq 11 before seq 10, and a reader catching up with `updates_after(10)` would never see
10. Under the lock, per-board seq order is commit order. SQLite files append through the
one-hop appender (sqlite_log.py) and seek replays through sqlite_replay.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.log import KeyframeBuilder, LogSummary, NewUpdate, SnapshotRecord, UpdateRecord
from server.store.sql_database import SqlDatabase
from server.store.tables import (
    note_authors,
    snapshots,
    update_log,
)


class SqlUpdateLog:
    """A board's update log and keyframes (server/store/log.py)."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def append_updates(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        if not updates:
            return []
        rows = [
            {"board_id": board_id, "ts": u.ts, "actor": u.actor, "data": u.data} for u in updates
        ]
        # Reversed: the batch's first creator of a note wins, as ON CONFLICT DO NOTHING does across
        # batches.
        if self._db.appender is not None:
            async with self._db.write_lock or contextlib.nullcontext():
                return await self._db.appender.append(board_id, updates)
        authors = {n: u.actor for u in reversed(updates) for n in u.created_notes}
        async with self._db.write() as conn:
            seqs = await self._insert_updates(conn, board_id, rows)
            if authors:
                await conn.execute(
                    self._db.insert(note_authors).on_conflict_do_nothing(),
                    [
                        {"board_id": board_id, "note_id": note_id, "actor": actor}
                        for note_id, actor in authors.items()
                    ],
                )
        return seqs

    async def _insert_updates(
        self, conn: AsyncConnection, board_id: str, rows: list[dict[str, Any]]
    ) -> list[int]:
        if self._db.dialect == "postgresql":
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
        if until_ts is not None and self._db.replay is not None:
            return await self._db.replay.load_until_ts(board_id, until_ts)
        latest = snapshots.select().where(snapshots.c.board_id == board_id)
        if until_ts is not None:
            latest = latest.where(snapshots.c.ts <= until_ts)
        latest = latest.order_by(snapshots.c.seq.desc()).limit(1)
        # One read transaction: on SQLite both queries see the same database state.
        async with self._db.read() as conn:
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
        async with self._db.write() as conn:
            if self._db.dialect == "postgresql":
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
                self._db.insert(snapshots).on_conflict_do_nothing(),
                {**row, "state": keyframe.state},
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
        async with self._db.write() as conn:
            await conn.execute(self._db.insert(snapshots).on_conflict_do_nothing(), row)

    async def note_authors(self, board_id: str) -> dict[str, str]:
        query = sa.select(note_authors.c.note_id, note_authors.c.actor).where(
            note_authors.c.board_id == board_id
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return {row.note_id: row.actor for row in rows}

    async def updates_after(
        self, board_id: str, after_seq: int, limit: int | None = None
    ) -> list[UpdateRecord]:
        async with self._db.read() as conn:
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

    async def load_until_seq(
        self, board_id: str, seq: int
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        if self._db.replay is not None:
            return await self._db.replay.load_until_seq(board_id, seq)
        latest = (
            snapshots.select()
            .where(snapshots.c.board_id == board_id, snapshots.c.seq <= seq)
            .order_by(snapshots.c.seq.desc())
            .limit(1)
        )
        async with self._db.read() as conn:
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
        async with self._db.read() as conn:
            total = int((await conn.execute(count)).scalar_one())
            head = (await conn.execute(first.order_by(update_log.c.seq).limit(1))).first()
            tail = (await conn.execute(first.order_by(update_log.c.seq.desc()).limit(1))).first()
        if head is None or tail is None:
            return LogSummary(0, 0, None, 0, None)
        return LogSummary(total, int(head.seq), head.ts, int(tail.seq), tail.ts)
