"""The SQLite fast path for the hottest write: appending a batch of updates.

Through SQLAlchemy + aiosqlite a group commit is a dozen thread hand-offs (BEGIN, INSERT, fetch,
COMMIT, ...), and under load each hand-off waits for a turn of a busy event loop: that, not SQLite,
was the commit latency tail. Here the whole transaction runs in one call on a dedicated thread with
its own stdlib `sqlite3` connection: one hand-off per batch. Same file, same WAL; writers in this
process are serialized by the store's write lock, other processes by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from server.store.base import NewUpdate

BUSY_TIMEOUT_MS = 5000


class SqliteLogAppender:
    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        self._path = path
        self.synchronous = synchronous  # FULL: every group commit is fsynced before it returns
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cobord-sqlite-log")
        self._conn: sqlite3.Connection | None = None  # created and used on the executor's thread
        self.round_trips = 0  # calls into the thread (tests check: one per batch)
        self.commits = 0

    async def append(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        loop = asyncio.get_running_loop()
        self.round_trips += 1
        return await loop.run_in_executor(self._executor, self._append, board_id, updates)

    async def pragma(self, name: str) -> Any:
        """The value of a PRAGMA on the appender's own connection (tests, diagnostics)."""
        if not name.isidentifier():
            raise ValueError(name)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, lambda: self._connection().execute(f"PRAGMA {name}").fetchone()[0]
        )

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)  # we BEGIN ourselves
            for pragma in (
                "PRAGMA journal_mode=WAL",
                f"PRAGMA synchronous={self.synchronous}",
                f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
                "PRAGMA foreign_keys=ON",
            ):
                conn.execute(pragma)
            self._conn = conn
        return self._conn

    def _append(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        conn = self._connection()
        # The batch's first creator of a note wins, as ON CONFLICT DO NOTHING does across batches.
        authors = {n: u.actor for u in reversed(updates) for n in u.created_notes}
        conn.execute("BEGIN IMMEDIATE")
        try:
            seqs = []
            for update in updates:
                cursor = conn.execute(
                    "INSERT INTO updates (board_id, ts, actor, data) VALUES (?, ?, ?, ?)",
                    (board_id, update.ts, update.actor, update.data),
                )
                seqs.append(int(cursor.lastrowid or 0))
            if authors:
                conn.executemany(
                    "INSERT INTO note_authors (board_id, note_id, actor) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(board_id, note_id, actor) for note_id, actor in authors.items()],
                )
            conn.execute("COMMIT")
            self.commits += 1
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return seqs

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
