"""CPU of one hand-off to a SQLite fast path's thread (server/store/sqlite_thread.py), both threads.

A call that does nothing on the thread, 5 x 5,000 times under uvloop; the best run, in µs of
process CPU per call. Give another tree to measure it instead (a `git archive` of an older commit):

    .venv/bin/python bench/sqlite_handoff.py [TREE]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1]))

import uvloop

from server.store.sqlite_thread import SqliteThread


class Nothing(SqliteThread):
    async def ping(self) -> int:
        return await self._call(int)


async def main() -> None:
    folder = tempfile.mkdtemp()
    thread = Nothing(os.path.join(folder, "handoff.db"), "handoff", ())
    for _ in range(200):
        await thread.ping()
    best = float("inf")
    for _ in range(5):
        began = time.process_time()
        for _ in range(5000):
            await thread.ping()
        best = min(best, (time.process_time() - began) / 5000 * 1e6)
    print(f"{best:.1f} µs of CPU per hand-off (both threads)")
    await thread.close()


if __name__ == "__main__":
    uvloop.run(main())
