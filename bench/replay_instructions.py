"""Instructions per replay seek, independent of the machine's load: run under callgrind.

    .venv/bin/python bench/replay.py --backends sqlite --sqlite-file DB   (fills DB, kept)
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/replay_instructions.py DB --form parts --seeks 0|20

The difference between the runs with 20 and 0 seeks, divided by 20, is the cost of one seek
(`load_until_seq` + `state_parts`/`encode_parts`, or `state_at` with `--form update`), without the
interpreter's start-up and imports. The seqs are the same random ones as bench/replay.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crdt import replay  # noqa: E402
from server.store.sql import SqlStore  # noqa: E402

BOARD = "bench-board"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", help="SQLite file holding the bench board")
    parser.add_argument("--form", choices=["parts", "update"], default="parts")
    parser.add_argument("--seeks", type=int, default=20)
    args = parser.parse_args()
    store = SqlStore(f"sqlite+aiosqlite:///{args.db}")
    await store.open()
    try:
        summary = await store.log.log_summary(BOARD)
        rng = random.Random(11)
        seqs = [rng.randint(summary.first_seq, summary.last_seq) for _ in range(args.seeks)]
        await store.log.load_until_seq(BOARD, summary.first_seq)  # warm: connection, thread
        for seq in seqs:
            keyframe, tail = await store.log.load_until_seq(BOARD, seq)
            state = keyframe.state if keyframe else None
            if args.form == "parts":
                replay.encode_parts(replay.state_parts(state, (u.data for u in tail)))
            else:
                replay.state_at(state, (u.data for u in tail))
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
