"""The room's CPU per update on one process against two (#17 target 4), in ONE process.

Two processes serving one board are two hubs on one in-process broker (server/fanout/memory.py:
the same message codec as Redis, no Redis). N connections and W writers moving their own notes
are split over the processes; every update is received, judged, group-committed (MemoryStore) and
broadcast by its own process, and relayed to, applied and broadcast by the other. Outboxes only
queue (no sockets). What is measured is what scaling out costs the rooms themselves (relay
apply, claims, numbering), in process CPU per update, both set-ups interleaved (1, 2, 2, 1, ...).
Not in it: Redis (bench/redis_path.py), the database, the socket writes (bench/fanout_cpu.py).

    .venv/bin/python bench/pair_cpu.py --repeat 6
    .venv/bin/python bench/pair_cpu.py --profile 2     # cProfile (process time) of one pair run

Instructions (the machine's load does not change them), one set-up per run:

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p .venv/bin/python \
        bench/pair_cpu.py --only 1|2 --repeat 1 --updates 400|1200
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from room_cpu import writer_frames  # noqa: E402  (bench/, the script's own directory)

from crdt import protocol  # noqa: E402
from crdt.rules import Actor  # noqa: E402
from server.fanout import MemoryFanout  # noqa: E402
from server.fanout.memory import MemoryBroker  # noqa: E402
from server.live.hub import Hub  # noqa: E402
from server.live.outbox import Outbox  # noqa: E402
from server.live.room import Connection, Room  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import MemoryStore  # noqa: E402
from server.store.base import BoardRecord  # noqa: E402


async def noop(_message: Any) -> None:
    pass


async def drain(rooms: list[Room]) -> None:
    """Yield to the committers until nothing is queued (no event to await there)."""
    while any(room.core.queued() for room in rooms):  # noqa: ASYNC110
        await asyncio.sleep(0)


async def one_run(processes: int, connections: int, writers: int, updates: int) -> float:
    store = MemoryStore()
    await store.open()
    await store.boards.create_board(BoardRecord("b", "bench", "CODE", time.time(), {}))
    settings = Settings(secret_key="x", rate_per_second=0, idle_unload_seconds=0)
    broker = MemoryBroker() if processes > 1 else None
    hubs = [Hub(store, settings, fanout=MemoryFanout(broker)) for _ in range(processes)]
    for hub in hubs:
        await hub.start()
    rooms = [await hub.acquire("b") for hub in hubs]
    conns: list[tuple[Room, Connection]] = []
    for i in range(connections):
        role, actor = ("participant", f"p{i}") if i < writers else ("viewer", "viewer")
        conn = Connection(Actor(role, actor, f"P{i}"), Outbox(noop, 10**9, 10**12))
        room = rooms[i % processes]
        room.join(conn)
        conns.append((room, conn))
    seeds, frames = writer_frames(protocol, writers, updates)
    for i, seed in enumerate(seeds):
        room, conn = conns[i]
        room.receive(conn, seed)
    await drain(rooms)
    gc.collect()
    started = time.process_time()
    for n, (i, frame) in enumerate(frames):
        room, conn = conns[i]
        room.receive(conn, frame)
        if n % processes == processes - 1:  # one update per process, then the committers run
            await drain(rooms)
    await drain(rooms)
    cpu = time.process_time() - started
    for room in rooms:
        assert room.metrics.updates_refused == 0
        assert room.has_note(f"n{writers - 1}")
    for room, conn in conns:
        room.leave(conn)
    for hub, room in zip(hubs, rooms, strict=True):
        hub.release(room)
        await hub.close()
    return cpu / updates * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--writers", type=int, default=200)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--only", type=int, choices=[1, 2], help="one set-up only")
    parser.add_argument("--profile", type=int, choices=[1, 2], help="cProfile one run")
    args = parser.parse_args()
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.runcall(
            asyncio.run, one_run(args.profile, args.connections, args.writers, args.updates)
        )
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        return
    setups = [args.only] if args.only else [1, 2]
    results: dict[int, list[float]] = {n: [] for n in setups}
    for r in range(args.repeat):
        for n in setups if r % 2 == 0 else setups[::-1]:
            results[n].append(
                asyncio.run(one_run(n, args.connections, args.writers, args.updates))
            )
    for n, values in results.items():
        print(
            f"{n} process(es): median {statistics.median(values):.1f} µs CPU per update (min "
            f"{min(values):.1f}, n={len(values)}; {args.connections} connections, "
            f"{args.writers} writers, {args.updates} updates)"
        )
    if len(results) == 2:
        print(f"pair / one: {statistics.median(results[2]) / statistics.median(results[1]):.2f}")


if __name__ == "__main__":
    main()
