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

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from server.store.base import SnapshotRecord, UpdateRecord

BUSY_TIMEOUT_MS = 5000


class SqliteReplayReader:
    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cobord-replay")
        self._conn: sqlite3.Connection | None = None  # created and used on the executor's thread
        self.round_trips = 0

    async def load_until_seq(
        self, board_id: str, seq: int
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        loop = asyncio.get_running_loop()
        self.round_trips += 1
        return await loop.run_in_executor(self._executor, self._load_until_seq, board_id, seq)

    async def load_until_ts(
        self, board_id: str, until_ts: float
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        loop = asyncio.get_running_loop()
        self.round_trips += 1
        return await loop.run_in_executor(self._executor, self._load_until_ts, board_id, until_ts)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)  # we BEGIN ourselves
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only=ON")
            self._conn = conn
        return self._conn

    def _load_until_seq(
        self, board_id: str, seq: int
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            row = conn.execute(
                "SELECT seq, ts, state FROM snapshots WHERE board_id = ? AND seq <= ?"
                " ORDER BY seq DESC LIMIT 1",
                (board_id, seq),
            ).fetchone()
            snapshot = None if row is None else SnapshotRecord(row[0], row[1], bytes(row[2]))
            rows = conn.execute(
                "SELECT seq, ts, actor, data FROM updates WHERE board_id = ? AND seq > ?"
                " AND seq <= ? ORDER BY seq",
                (board_id, snapshot.seq if snapshot else 0, seq),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return snapshot, [UpdateRecord(q, ts, actor, bytes(data)) for q, ts, actor, data in rows]

    def _load_until_ts(
        self, board_id: str, until_ts: float
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            row = conn.execute(
                "SELECT seq, ts, state FROM snapshots WHERE board_id = ? AND ts <= ?"
                " ORDER BY seq DESC LIMIT 1",
                (board_id, until_ts),
            ).fetchone()
            snapshot = None if row is None else SnapshotRecord(row[0], row[1], bytes(row[2]))
            rows = conn.execute(
                "SELECT seq, ts, actor, data FROM updates WHERE board_id = ? AND seq > ?"
                " AND ts <= ? ORDER BY seq",
                (board_id, snapshot.seq if snapshot else 0, until_ts),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return snapshot, [UpdateRecord(q, ts, actor, bytes(data)) for q, ts, actor, data in rows]

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
