"""CPU per update of one room, in process, before vs after a change, in ONE process.

One room, N connections, W writers moving their own notes: every update is received, group-
committed (MemoryStore, batch window 0) and broadcast to every connection's outbox. No sockets and
no writer tasks (outboxes only queue), so what is measured is the room itself — decode, shadow,
rules, commit, merged frame, the fan-out loop — in process CPU time.

On a shared, busy machine run-to-run noise is larger than the difference to measure, so both
versions run in the same process, interleaved (old, new, new, old, ...): the tree given with
`--before` is copied to a temporary folder with its packages renamed (`server` -> `server_before`,
`crdt` -> `crdt_before`), next to the current tree's.

    .venv/bin/python bench/room_cpu.py --before /tmp/tree-at-old-commit --repeat 12

(`git archive <commit> | tar -x -C /tmp/tree-at-old-commit` gives such a tree.) Without
`--before`, the current tree alone. Instructions per update (the machine's load does not change
them): the difference between two lengths, divided by the updates it adds (here 800):

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p .venv/bin/python \
        bench/room_cpu.py --writers 20|200 --repeat 1 --updates 400|1200
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map

ROOT = Path(__file__).resolve().parent.parent
RENAME = re.compile(r"\b(from|import) (server|crdt)\b")


def copy_renamed(tree: Path, into: Path) -> None:
    for package in ("server", "crdt"):
        target = into / f"{package}_before"
        shutil.copytree(tree / package, target)
        for path in target.rglob("*.py"):
            text = RENAME.sub(lambda m: f"{m.group(1)} {m.group(2)}_before", path.read_text())
            path.write_text(text)


def kit(server: str, crdt: str) -> dict[str, Any]:
    def module(name: str) -> Any:
        # The live modules moved under server/live/ (#16: hub, outbox, rooms -> room); a
        # --before tree may predate that.
        moved = {"hub": "live.hub", "outbox": "live.outbox", "rooms": "live.room"}
        short = name.removeprefix(f"{server}.")
        if short in moved:
            try:
                return importlib.import_module(f"{server}.{moved[short]}")
            except ModuleNotFoundError:
                pass
        return importlib.import_module(name)

    return {
        "protocol": module(f"{crdt}.protocol"),
        "Actor": module(f"{crdt}.rules").Actor,
        "MemoryFanout": module(f"{server}.fanout").MemoryFanout,
        "Hub": module(f"{server}.hub").Hub,
        "Outbox": module(f"{server}.outbox").Outbox,
        "Connection": module(f"{server}.rooms").Connection,
        "Settings": module(f"{server}.settings").Settings,
        "MemoryStore": module(f"{server}.store").MemoryStore,
        "BoardRecord": module(f"{server}.store.base").BoardRecord,
    }


Frames = tuple[list[bytes], list[tuple[int, bytes]]]


def _frames(
    protocol: Any,
    writers: int,
    updates: int,
    seed: Callable[[Map[Any], int], None],
    edit: Callable[[Map[Any], int, int], None],
) -> Frames:
    """Each writer's first write (`seed(notes, writer)`, one frame per writer), then `updates`
    writes (`edit(notes, writer, n)`), the writers in turn: (writer, frame). `protocol` is the
    codec of the tree measured (crdt.protocol)."""
    docs: list[Doc[Any]] = [Doc() for _ in range(writers)]
    seeds = []
    for i, doc in enumerate(docs):
        with doc.transaction():
            seed(doc.get("notes", type=Map), i)
        seeds.append(protocol.encode(protocol.Update(doc.get_update())))
    frames = []
    for n in range(updates):
        i = n % writers
        doc = docs[i]
        before = doc.get_state()
        with doc.transaction():
            edit(doc.get("notes", type=Map), i, n)
        frames.append((i, protocol.encode(protocol.Update(doc.get_update(before)))))
    return seeds, frames


def writer_frames(protocol: Any, writers: int, updates: int) -> Frames:
    """Each writer creates one note, then moves it."""

    def seed(notes: Map[Any], i: int) -> None:
        notes[f"n{i}"] = Map({"text": "idea", "x": 0.0, "y": 0.0})

    def move(notes: Map[Any], i: int, n: int) -> None:
        notes[f"n{i}"]["x"] = float(n)

    return _frames(protocol, writers, updates, seed, move)


def board_frames(protocol: Any, writers: int, updates: int) -> Frames:
    """The shared harness's workshop mix under `--schema board` (its lib/clients.mjs): each
    update creates a note {text, x, y} (70 %) or moves one of the writer's own notes, setting
    x, y and text (30 %); one note per writer first."""
    rng = random.Random(1)
    own: list[list[str]] = [[] for _ in range(writers)]

    def seed(notes: Map[Any], i: int) -> None:
        notes[f"n{i}.0"] = Map({"text": "idea", "x": 0, "y": 0})
        own[i].append(f"n{i}.0")

    def create_or_move(notes: Map[Any], i: int, n: int) -> None:
        x, y = rng.randrange(4000), rng.randrange(3000)
        if rng.random() < 0.7:
            notes[f"n{i}.{n}"] = Map({"text": f"idea {n} of {i}", "x": x, "y": y})
            own[i].append(f"n{i}.{n}")
        else:
            note = notes[rng.choice(own[i])]
            note["x"], note["y"], note["text"] = x, y, f"moved {n}"

    return _frames(protocol, writers, updates, seed, create_or_move)


async def noop(_message: Any) -> None:
    pass


async def drain(pending: Any) -> None:
    """Yield to the room's committer task until nothing is queued (no event to await there)."""
    while pending():  # noqa: ASYNC110 (the committer runs on this loop: yielding lets it)
        await asyncio.sleep(0)


async def one_run(
    k: dict[str, Any], connections: int, writers: int, updates: int, mix: str = "moves"
) -> float:
    store = k["MemoryStore"]()
    await store.open()
    # (Stores before the split into repositories had `create_board` on the store itself.)
    boards = getattr(store, "boards", store)
    await boards.create_board(k["BoardRecord"]("b", "bench", "CODE", time.time(), {}))
    settings = k["Settings"](secret_key="x", batch_window_ms=0, rate_per_second=0)
    hub = k["Hub"](store, settings, fanout=k["MemoryFanout"]())
    await hub.start()
    room = await hub.acquire("b")
    protocol = k["protocol"]
    conns = []
    for i in range(connections):
        role, actor = ("participant", f"p{i}") if i < writers else ("viewer", "viewer")
        conn = k["Connection"](k["Actor"](role, actor, f"P{i}"), k["Outbox"](noop, 10**9, 10**12))
        room.join(conn)
        conns.append(conn)

    def pending() -> int:
        return room.core.pending_count() if hasattr(room, "core") else len(room._pending)  # type: ignore[no-any-return]

    make = board_frames if mix == "board" else writer_frames
    seeds, frames = make(protocol, writers, updates)
    for i, seed in enumerate(seeds):
        room.receive(conns[i], seed)
    await drain(pending)
    gc.collect()
    started = time.process_time()
    for n, (i, frame) in enumerate(frames):
        room.receive(conns[i], frame)
        if n % writers == writers - 1:  # a round of writers, then the committer runs
            await drain(pending)
    await drain(pending)
    cpu = time.process_time() - started
    assert room.metrics.updates_refused == 0
    for conn in conns:
        room.leave(conn)
    hub.release(room)
    await hub.close()
    return cpu / updates * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="source tree to compare with (default: none)")
    parser.add_argument("--repeat", type=int, default=12)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument(
        "--mix",
        choices=("moves", "board"),
        default="moves",
        help="moves: each writer moves its one note; board: the harness's creations and moves",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, str(ROOT))
        kits = {"after": kit("server", "crdt")}
        if args.before is not None:
            copy_renamed(args.before.resolve(), Path(folder))
            sys.path[:0] = [folder]
            kits = {"before": kit("server_before", "crdt_before"), **kits}
        print(f"load average before: {os.getloadavg()}")
        results: dict[str, list[float]] = {name: [] for name in kits}
        for r in range(args.repeat):
            order = list(kits) if r % 2 == 0 else list(kits)[::-1]
            for name in order:
                cost = asyncio.run(
                    one_run(kits[name], args.connections, args.writers, args.updates, args.mix)
                )
                results[name].append(cost)
        print(f"load average after: {os.getloadavg()}")
    for name, values in results.items():
        print(
            f"{name}: median {statistics.median(values):.1f} µs CPU per update (min "
            f"{min(values):.1f}, max {max(values):.1f}, n={len(values)}; {args.connections} "
            f"connections, {args.writers} writers, {args.updates} updates, mix {args.mix})"
        )


if __name__ == "__main__":
    main()
