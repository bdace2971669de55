"""One stdlib `sqlite3` connection on its own thread: what the SQLite fast paths share.

Through SQLAlchemy + aiosqlite one logical operation is many thread hand-offs, and under load each
waits for a turn of a busy event loop. A fast path instead runs the whole operation in ONE call on
a dedicated thread (`_call`), with a connection opened there with its own pragmas and used only
there. Each fast path has its own thread, so a replay read never waits behind a group commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


class SqliteThread:
    def __init__(self, path: str, name: str, pragmas: Sequence[str]) -> None:
        self._path = path
        self._pragmas = pragmas
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None  # created and used on the executor's thread
        self.round_trips = 0  # calls into the thread (tests check: one per operation)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        self.round_trips += 1
        return await loop.run_in_executor(self._executor, function, *args)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)  # we BEGIN ourselves
            for pragma in (f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}", *self._pragmas):
                conn.execute(pragma)
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
