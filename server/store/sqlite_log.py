"""The SQLite fast path for the hottest write: appending a batch of updates.

Through SQLAlchemy + aiosqlite a group commit is a dozen thread hand-offs (BEGIN, INSERT, fetch,
COMMIT, ...), and under load each hand-off waits for a turn of a busy event loop: that, not SQLite,
was the commit latency tail. Here the whole transaction runs in one call on a dedicated thread with
its own stdlib `sqlite3` connection: one hand-off per batch. Same file, same WAL; writers in this
process are serialized by the store's write lock, other processes by BEGIN IMMEDIATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.store.log import NewUpdate
from server.store.sqlite_thread import SqliteThread


class SqliteLogAppender(SqliteThread):
    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        # synchronous FULL: every group commit is fsynced before it returns
        pragmas = ("PRAGMA journal_mode=WAL", f"PRAGMA synchronous={synchronous}")
        super().__init__(path, "cobord-sqlite-log", (*pragmas, "PRAGMA foreign_keys=ON"))
        self.synchronous = synchronous
        self.commits = 0

    async def append(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        return await self._call(self._append, board_id, updates)

    async def pragma(self, name: str) -> Any:
        """The value of a PRAGMA on the appender's own connection (tests, diagnostics)."""
        if not name.isidentifier():
            raise ValueError(name)
        return await self._call(lambda: self._connection().execute(f"PRAGMA {name}").fetchone()[0])

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
