"""One stdlib `sqlite3` connection on its own thread: what the SQLite fast paths share.

Through SQLAlchemy + aiosqlite one logical operation is many thread hand-offs, and under load each
waits for a turn of a busy event loop. A fast path instead runs the whole operation in ONE call on
a dedicated thread (`_call`), with a connection opened there with its own pragmas and used only
there. Each fast path has its own thread, so a replay read never waits behind a group commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")
Job = tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # its caller was cancelled meanwhile: nobody waits for this
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SqliteThread:
    def __init__(self, path: str, name: str, pragmas: Sequence[str]) -> None:
        self._path = path
        self._pragmas = pragmas
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._conn: sqlite3.Connection | None = None  # created and used on the thread
        self.round_trips = 0  # calls into the thread (tests check: one per operation)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.round_trips += 1
        if not self._thread.is_alive():
            self._thread.start()  # first call: the loop the results go to is running now
        self._jobs.put((future, function, args))
        return await future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, function, args = job
            result, error = None, None
            try:
                result = function(*args)
            except BaseException as exc:  # handed to the caller, as an executor does
                error = exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to tell
                future.get_loop().call_soon_threadsafe(_settle, future, result, error)

    async def close(self) -> None:
        if self._thread.is_alive():
            await self._call(self._close)
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)

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
