"""CPU per fan-out message over Redis for a pair of processes, in one process (#17 target 4).

Two RedisFanout instances (two processes' worth: each its own pool and subscription) on one
board's channel; A sends `--messages` update messages at about `--rate` a second, as commits
come; B receives them. The process CPU covers all the Redis path costs a pair pays per message:
A's PUBLISH, A hearing its own message back (pub/sub does not filter by sender), B receiving and
decoding it. Starts a redis-server of its own on a free port (a shared one may have its pub/sub
clients killed by tests), or uses `--url`.

    .venv/bin/python bench/redis_path.py --messages 3000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from server.fanout.base import FanoutMessage  # noqa: E402
from server.fanout.redis import RedisFanout  # noqa: E402
from server.scale.redis import connect  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from multiprocess import free_port, start_redis  # noqa: E402


async def run(url: str, count: int, rate: float) -> float:
    pools = [connect(url), connect(url)]
    sender, receiver = RedisFanout(pools[0]), RedisFanout(pools[1])
    received = [0]
    done = asyncio.Event()

    def deliver(_board: str, _message: FanoutMessage) -> None:
        received[0] += 1
        if received[0] == count:
            done.set()

    await sender.start(lambda *_: None, lambda *_: None)
    await receiver.start(deliver, lambda *_: None)
    board = f"bench-{uuid.uuid4().hex}"
    await sender.subscribe(board)
    await receiver.subscribe(board)
    frame = b"\x00\x02" + bytes(150)  # a merged update of one note's move
    started = time.process_time()
    for i in range(count):
        sender.send(board, FanoutMessage(sender.instance_id, "update", frame, i + 1, ()))
        await asyncio.sleep(1 / rate)  # pacing, as commits come
    async with asyncio.timeout(60):
        await done.wait()
    cpu = time.process_time() - started
    for fanout in (sender, receiver):
        await fanout.close()
    for pool in pools:
        await pool.aclose()
    return cpu / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--url", default="", help="an existing Redis (default: start one)")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    redis = None
    url = args.url
    if not url:
        port = free_port()
        redis = start_redis(port, Path(tempfile.mkdtemp(prefix="cobord-redis-")))
        url = f"redis://127.0.0.1:{port}/0"
    try:
        cost = uvloop.run(run(url, args.messages, args.rate))
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=20)
    print(
        f"{cost:.0f} µs CPU per message for the pair (load average {os.getloadavg()[0]:.1f}; "
        f"{args.messages} messages at {args.rate:g}/s)"
    )


if __name__ == "__main__":
    main()
