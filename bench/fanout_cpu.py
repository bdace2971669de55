"""CPU per delivery of the socket fan-out: the straight write against the ASGI writer path.

One process serves N real WebSocket connections through uvicorn with the server's WebSocket
protocol (server/http/wire.py); readers in another process read and drop every frame. The server
broadcasts numbered frames to every connection's Outbox (server/live/outbox.py) as a room does
after a commit, `--rate` broadcasts a second, alternating blocks of `--block` broadcasts between
the straight write (the frame encoded once, `put(frame, wire)`) and the queue (`put(frame)`: the
writer task and uvicorn's send, the path before). Both modes run in the same process on the same
sockets, interleaved, so a busy machine slows both alike. Printed: the server process's CPU per
delivery (process_time over the block / frames x connections), median and min per mode, and the
kernel's share of it (system time: the write system calls themselves). `--mode shared`: two
frames per broadcast (a relayed frame and a commit's), as two writes or as one (`put_many`).

    .venv/bin/python bench/fanout_cpu.py --connections 200 --blocks 10

Instructions (user space; the machine's load does not change them), one mode per run, the
difference between two lengths divided by the deliveries it adds (here 40 x 50):

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p .venv/bin/python \
        bench/fanout_cpu.py --connections 50 --mode straight|queue --blocks 1 --block 20|60
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
import uvloop  # noqa: E402
import websockets  # noqa: E402

from server.http.wire import EXTENSION, WireWebSocketProtocol  # noqa: E402
from server.live.outbox import Outbox, binary_frame  # noqa: E402


def readers(url: str, count: int, ready: Any) -> None:
    async def main() -> None:
        sockets = [
            await websockets.connect(url, max_size=None, compression=None) for _ in range(count)
        ]
        ready.set()

        async def drain(ws: Any) -> None:
            try:
                async for _ in ws:
                    pass
            except websockets.ConnectionClosed:
                return

        await asyncio.gather(*(drain(ws) for ws in sockets))

    asyncio.run(main())


class App:
    def __init__(self) -> None:
        self.outboxes: list[tuple[Outbox, Outbox]] = []  # (straight, queue-only) per socket
        self.writers: list[asyncio.Task[None]] = []
        self.done = asyncio.Event()
        self.all_in = asyncio.Event()
        self.expected = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        wire = scope["extensions"][EXTENSION]
        # Two outboxes over one socket: only one is used at a time (a mode per block).
        pair = (Outbox(send, 10_000, 1 << 30, wire), Outbox(send, 10_000, 1 << 30))
        self.outboxes.append(pair)
        self.writers += [asyncio.create_task(o.run()) for o in pair]
        if len(self.outboxes) == self.expected:
            self.all_in.set()
        await self.done.wait()


async def serve(args: argparse.Namespace) -> dict[str, list[float]]:
    app = App()
    app.expected = args.connections
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, ws=WireWebSocketProtocol, lifespan="off", log_config=None
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    port = server.servers[0].sockets[0].getsockname()[1]
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=readers, args=(f"ws://127.0.0.1:{port}/", args.connections, ready))
    proc.start()
    await asyncio.get_running_loop().run_in_executor(None, ready.wait)
    await app.all_in.wait()
    payload = b"\x00\x02" + bytes(args.bytes - 2)  # the size of a merged Yjs update frame
    # shared: two frames per broadcast, as two straight writes or as one
    names = ("separate", "shared") if args.mode == "shared" else ("straight", "queue")
    alternate = args.mode in ("both", "shared")
    results: dict[str, list[float]] = {name: [] for name in names}
    system: dict[str, list[float]] = {name: [] for name in names}
    interval = 1 / args.rate
    for block in range(args.blocks * (2 if alternate else 1)):
        first = block % 4 in (0, 3) if alternate else args.mode == names[0]
        name = names[0] if first else names[1]
        began, began_sys = time.process_time(), os.times().system
        for _ in range(args.block):
            if args.mode == "shared":
                wire = binary_frame(payload)
                for pair in app.outboxes:
                    if first:
                        pair[0].put(payload, wire)
                        pair[0].put(payload, wire)
                    else:
                        pair[0].put_many((payload, payload), wire + wire)
            else:
                wire = binary_frame(payload) if first else None
                for pair in app.outboxes:
                    pair[0 if first else 1].put(payload, wire)
            await asyncio.sleep(interval)
        spent, spent_sys = time.process_time() - began, os.times().system - began_sys
        deliveries = args.block * args.connections * (2 if args.mode == "shared" else 1)
        results[name].append(spent / deliveries * 1e6)
        system[name].append(spent_sys / deliveries * 1e6)
    app.done.set()
    for pair in app.outboxes:
        for outbox in pair:
            outbox.close(1000, "")
    await asyncio.gather(*app.writers, return_exceptions=True)
    await server.shutdown()
    proc.join(30)
    return {**results, **{f"{name} (system)": values for name, values in system.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=10, help="blocks per mode")
    parser.add_argument("--block", type=int, default=200, help="broadcasts per block")
    parser.add_argument("--rate", type=float, default=100.0, help="broadcasts a second")
    parser.add_argument("--bytes", type=int, default=120)
    parser.add_argument(
        "--mode",
        choices=["both", "straight", "queue", "shared"],
        default="both",
        help="shared: two frames per broadcast, two writes against one (put_many)",
    )
    args = parser.parse_args()
    results = uvloop.run(serve(args))  # the loop uvicorn picks when serving
    for mode, values in results.items():
        if not values:
            continue
        print(
            f"{mode:18s} µs CPU per delivery: median {statistics.median(values):.2f} "
            f"min {min(values):.2f} ({len(values)} blocks of {args.block} x {args.connections})"
        )
    if args.mode in ("both", "shared"):
        first, second = list(results)[:2]
        ratio = statistics.median(results[first]) / statistics.median(results[second])
        print(f"{first} / {second}: {ratio:.2f}")


if __name__ == "__main__":
    main()
