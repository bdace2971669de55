"""The SQLite fast path for replay seeks: the keyframe and its tail in one thread hand-off.

Through SQLAlchemy + aiosqlite `load_until_seq` is about eight hand-offs (checkout, BEGIN, two
executes and fetches, rollback); on a loaded machine each waits for a turn of the thread and of the
event loop, and that (not SQLite reading a 2 MB keyframe) was the seek's tail: p95 101 ms of
reading at load average 5-7 (bench/replay.py). Here both reads run in one call on a dedicated
thread with its own stdlib `sqlite3` connection, inside one read transaction (one WAL snapshot),
so the keyframe and the tail are the same database state. Its own thread: a seek never waits
behind a group commit (`sqlite_log.py`), and the reverse.
"""

from __future__ import annotations

from typing import Literal

from server.store.log import SnapshotRecord, UpdateRecord
from server.store.sqlite_thread import SqliteThread

Loaded = tuple[SnapshotRecord | None, list[UpdateRecord]]


class SqliteReplayReader(SqliteThread):
    def __init__(self, path: str) -> None:
        super().__init__(path, "cobord-replay", ("PRAGMA query_only=ON",))

    async def load_until_seq(self, board_id: str, seq: int) -> Loaded:
        return await self._call(self._load_until, board_id, "seq", seq)

    async def load_until_ts(self, board_id: str, until_ts: float) -> Loaded:
        return await self._call(self._load_until, board_id, "ts", until_ts)

    def _load_until(self, board_id: str, column: Literal["seq", "ts"], bound: float) -> Loaded:
        """The latest keyframe with `column` <= bound and the updates after it up to the bound,
        in one read transaction (one WAL snapshot). `column` is one of two literals, never
        input."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            row = conn.execute(
                f"SELECT seq, ts, state FROM snapshots WHERE board_id = ? AND {column} <= ?"
                " ORDER BY seq DESC LIMIT 1",
                (board_id, bound),
            ).fetchone()
            snapshot = None if row is None else SnapshotRecord(row[0], row[1], bytes(row[2]))
            rows = conn.execute(
                "SELECT seq, ts, actor, data FROM updates WHERE board_id = ? AND seq > ?"
                f" AND {column} <= ? ORDER BY seq",
                (board_id, snapshot.seq if snapshot else 0, bound),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return snapshot, [UpdateRecord(q, ts, actor, bytes(data)) for q, ts, actor, data in rows]
