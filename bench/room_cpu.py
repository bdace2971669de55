"""CPU per update of one room, in process: N connections, W writers moving their notes, each
update received, group-committed (MemoryStore) and broadcast to every connection's outbox.

No sockets and no writer tasks (outboxes only queue), so what is measured is the room itself —
decode, shadow, rules, commit, merged frame, fan-out loop — in process CPU time, which a busy
machine disturbs far less than wall-clock latency. To compare two versions in one sitting:

    .venv/bin/python bench/room_cpu.py --src /tmp/old-tree --src . --repeat 5

Each (src, repeat) runs in a fresh subprocess with that tree first on sys.path, alternating.
Prints µs of CPU per update (median and spread) per source, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import asyncio, json, sys, time
from pycrdt import Doc, Map
from crdt import protocol
from crdt.rules import Actor
from server.fanout import MemoryFanout
from server.hub import Hub
from server.outbox import Outbox
from server.rooms import Connection
from server.settings import Settings
from server.store import MemoryStore
from server.store.base import BoardRecord

CONNECTIONS, WRITERS, UPDATES = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

async def noop(message):
    pass

async def main():
    store = MemoryStore()
    await store.open()
    await store.create_board(BoardRecord("b", "bench", "CODE", time.time(), {}))
    settings = Settings(secret_key="x", batch_window_ms=0, rate_per_second=0)
    hub = Hub(store, settings, fanout=MemoryFanout())
    await hub.start()
    room = await hub.acquire("b")
    conns = []
    for i in range(CONNECTIONS):
        role = "participant" if i < WRITERS else "viewer"
        conn = Connection(Actor(role, f"p{i}" if i < WRITERS else "viewer", f"P{i}"),
                          Outbox(noop, 10**9, 10**12))
        room.join(conn)
        conns.append(conn)
    docs = [Doc() for _ in range(WRITERS)]
    for i, doc in enumerate(docs):
        with doc.transaction():
            doc.get("notes", type=Map)[f"n{i}"] = Map({"text": "idea", "x": 0.0, "y": 0.0})
        room.receive(conns[i], protocol.encode(protocol.Update(doc.get_update())))
    while room.core.pending if hasattr(room, "core") else room._pending:
        await asyncio.sleep(0)
    frames = []
    for k in range(UPDATES):
        i = k % WRITERS
        doc = docs[i]
        before = doc.get_state()
        with doc.transaction():
            doc.get("notes", type=Map)[f"n{i}"]["x"] = float(k)
        frames.append((i, protocol.encode(protocol.Update(doc.get_update(before)))))
    pending = (lambda: room.core.pending) if hasattr(room, "core") else (lambda: room._pending)
    started = time.process_time()
    for n, (i, frame) in enumerate(frames):
        room.receive(conns[i], frame)
        if n % WRITERS == WRITERS - 1:  # one round of writers, then let the committer run
            while pending():
                await asyncio.sleep(0)
    while pending():
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    cpu = time.process_time() - started
    assert room.metrics.updates_refused == 0
    print(json.dumps({"cpu_us_per_update": cpu / UPDATES * 1e6,
                      "commits": room.metrics.commits,
                      "accepted": room.metrics.updates_accepted}))
    for conn in conns:
        room.leave(conn)
    hub.release(room)

asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", action="append", required=True, help="source tree (repeatable)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--updates", type=int, default=4000)
    args = parser.parse_args()
    results: dict[str, list[float]] = {src: [] for src in args.src}
    print(f"load average before: {os.getloadavg()}")
    for _ in range(args.repeat):
        for src in args.src:
            env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(args.connections),
                    str(args.writers),
                    str(args.updates),
                ],
                env=env,
                cwd=os.path.abspath(src),
                capture_output=True,
                text=True,
                check=True,
            )
            results[src].append(
                json.loads(out.stdout.strip().splitlines()[-1])["cpu_us_per_update"]
            )
    print(f"load average after: {os.getloadavg()}")
    for src, values in results.items():
        print(
            f"{src}: median {statistics.median(values):.1f} µs CPU per update "
            f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)}; "
            f"{args.connections} connections, {args.writers} writers, {args.updates} updates)"
        )


if __name__ == "__main__":
    main()
