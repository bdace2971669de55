"""200 participants x 1 op/s, with 10 % of the operations concurrent moves of the same 20 notes
(issue 7's figure), against the plain 200-client workload, in one sitting, each on a fresh server.

Every client is a participant (its own join token). 90 % of its operations rewrite its own note's
text with a marker `mk:<client>:<seq>:<time>`; receivers find markers in the frames they get, so
delivery and latency are measured from sender to every other client. With `--contention 0.1`,
one operation in ten is instead a move (x, y) of one of 20 shared notes, and the movers of a tick
fire at the same instant, four per note, so their updates cross on the wire (each built before
the others' arrived): the losing writes are the server's "unseen" path. Refusals are counted by
the server (/metrics) and by the clients (permission-denied frames); they must be 0. Five clients
apply every frame to a doc and, after the run, must equal a fresh joiner on the shared notes.

    .venv/bin/python bench/contention.py --clients 200 --duration 20      # plain, then 10 %
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets
from pycrdt import Doc, Map

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadlib

from crdt import protocol

MARKER = re.compile(rb"mk:(\d+):(\d+):(\d+\.\d+)")
SHARED = 20
FULL = 5


def worker(spec: dict[str, Any], go: Any, start: Any, out: Any) -> None:
    out.put(asyncio.run(_worker(spec, go, start)))


async def _worker(spec: dict[str, Any], go: Any, start_at: Any) -> dict[str, Any]:
    ids: list[int] = spec["ids"]
    total, rate, duration = spec["total"], spec["rate"], spec["duration"]
    contention: float = spec["contention"]
    latencies: list[float] = []
    seen: dict[int, set[tuple[int, int]]] = {i: set() for i in ids}
    denied = [0]
    sent = {"text": 0, "move": 0}
    sockets: dict[int, Any] = {}
    docs: dict[int, Doc[Any]] = {}
    synced: dict[int, asyncio.Event] = {}

    async def read(cid: int, ws: Any) -> None:
        mine, full = seen[cid], cid < FULL
        try:
            async for frame in ws:
                if not isinstance(frame, bytes):
                    continue
                now = time.time()
                if frame[0] == 2:  # auth: permission denied
                    denied[0] += 1
                    continue
                for sender, seq, at in MARKER.findall(frame):
                    key = (int(sender), int(seq))
                    if key[0] != cid and key not in mine:
                        mine.add(key)
                        latencies.append(now - float(at))
                if frame[0] == 0 and (full or not synced[cid].is_set()):
                    message = protocol.decode(frame)
                    if isinstance(message, protocol.SyncStep2 | protocol.Update):
                        docs[cid].apply_update(message.update)
                        if isinstance(message, protocol.SyncStep2):
                            synced[cid].set()
                    elif isinstance(message, protocol.SyncStep1):
                        reply = docs[cid].get_update(message.state_vector)
                        await ws.send(protocol.encode(protocol.SyncStep2(reply)))
        except websockets.ConnectionClosed:
            return

    readers = []
    for cid in ids:
        ws = await websockets.connect(spec["urls"][cid], max_size=None, compression=None)
        sockets[cid], docs[cid], synced[cid] = ws, Doc(), asyncio.Event()
        readers.append(asyncio.create_task(read(cid, ws)))
        await ws.send(protocol.encode(protocol.SyncStep1(docs[cid].get_state())))
        await asyncio.wait_for(synced[cid].wait(), 60)
        doc = docs[cid]
        before = doc.get_state()
        doc.get("notes", type=Map)[f"n{cid}"] = Map(
            {"text": "", "x": 0.0, "y": 0.0, "color": "yellow", "cluster": "", "lang": "en"}
        )
        await ws.send(protocol.encode(protocol.Update(doc.get_update(before))))
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    movers_per_tick = round(total * contention)

    async def write(cid: int) -> None:
        doc, ws = docs[cid], sockets[cid]
        notes = doc.get("notes", type=Map)
        interval = 1 / rate
        start = start_at.value  # the same wall-clock second in every worker
        rng = random.Random(cid)
        seq = 0
        while seq * interval <= duration:
            # Movers of this tick: `movers_per_tick` clients, four per shared note, all at once.
            slot = (cid + seq * movers_per_tick) % total if movers_per_tick else total
            if slot < movers_per_tick:
                at = start + seq * interval + interval / 2
                await asyncio.sleep(max(0.0, at - time.time()))
                target = notes[f"s{(slot // 4 + seq * (movers_per_tick // 4)) % SHARED}"]
                before = doc.get_state()
                with doc.transaction():
                    target["x"] = rng.uniform(0, 2000)
                    target["y"] = rng.uniform(0, 2000)
                sent["move"] += 1
            else:
                at = start + seq * interval + interval * (cid / total)
                await asyncio.sleep(max(0.0, at - time.time()))
                before = doc.get_state()
                notes[f"n{cid}"]["text"] = f"mk:{cid}:{seq}:{time.time():.6f}"
                sent["text"] += 1
            await ws.send(protocol.encode(protocol.Update(doc.get_update(before))))
            seq += 1

    await asyncio.gather(*(write(cid) for cid in ids))
    await asyncio.sleep(3.0)  # drain (a bench, not a test)
    shared = {
        cid: {f"s{i}": _xy(docs[cid].get("notes", type=Map).get(f"s{i}")) for i in range(SHARED)}
        for cid in ids
        if cid < FULL
    }
    for ws in sockets.values():
        await ws.close()
    for task in readers:
        task.cancel()
    return {
        "sent": sent,
        "received": sum(len(s) for s in seen.values()),
        "latencies": latencies,
        "denied": denied[0],
        "shared": shared,
    }


def _xy(note: Any) -> tuple[float, float] | None:
    return (note["x"], note["y"]) if isinstance(note, Map) else None


async def fresh_shared(url: str) -> dict[str, Any]:
    doc: Doc[Any] = Doc()
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.send(protocol.encode(protocol.SyncStep1(doc.get_state())))
        async for frame in ws:
            message = protocol.decode(frame) if isinstance(frame, bytes) else None
            if isinstance(message, protocol.SyncStep2):
                doc.apply_update(message.update)
                break
    notes = doc.get("notes", type=Map)
    return {f"s{i}": _xy(notes.get(f"s{i}")) for i in range(SHARED)}


async def seed(url: str) -> None:
    """The facilitator posts the 20 shared notes."""
    doc: Doc[Any] = Doc()
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        with doc.transaction():
            notes = doc.get("notes", type=Map)
            for i in range(SHARED):
                notes[f"s{i}"] = Map({"text": f"shared {i}", "x": 0.0, "y": float(i * 200)})
        await ws.send(protocol.encode(protocol.Update(doc.get_update())))
        await ws.send(protocol.encode(protocol.SyncStep1(doc.get_state())))
        async for frame in ws:  # the server's answer comes after our update was handled
            if isinstance(frame, bytes) and frame[:2] == b"\x00\x01":
                break


def run(args: Any, contention: float, folder: Path) -> dict[str, Any]:
    name = f"contention-{contention:g}"
    proc, port = loadlib.start_server(
        f"sqlite+aiosqlite:///{folder}/{name}.db", {}, folder / f"{name}.log", args.source
    )
    try:
        b = loadlib.board(port)
        fac = loadlib.ws_url(port, b["id"], b["facilitator_token"])
        asyncio.run(seed(fac))
        urls = [
            loadlib.ws_url(port, b["id"], loadlib.join(port, b["join_code"], f"P{i}"))
            for i in range(args.clients)
        ]
        ctx = mp.get_context("spawn")
        go, out = ctx.Event(), ctx.Queue()
        start = ctx.Value("d", 0.0)
        ids = list(range(args.clients))
        specs = [
            {
                "ids": ids[w :: args.workers],
                "urls": urls,
                "total": args.clients,
                "rate": args.rate,
                "duration": args.duration,
                "contention": contention,
            }
            for w in range(args.workers)
        ]
        workers = [ctx.Process(target=worker, args=(spec, go, start, out)) for spec in specs]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if loadlib.metric(port, "cobord_connections") >= args.clients:
                break
            time.sleep(0.2)
        refused0 = loadlib.metric(port, "cobord_updates_refused_total")
        cpu0, t0 = loadlib.cpu_seconds(proc.pid), time.monotonic()
        load_before = loadlib.uptime()
        start.value = time.time() + 0.5
        go.set()
        results = [out.get(timeout=args.duration + 240) for _ in workers]
        elapsed = time.monotonic() - t0
        cpu = (loadlib.cpu_seconds(proc.pid) - cpu0) / elapsed
        refused = loadlib.metric(port, "cobord_updates_refused_total") - refused0
        for w in workers:
            w.join()
        fresh = asyncio.run(fresh_shared(fac))
        latencies = [x for r in results for x in r["latencies"]]
        texts = sum(r["sent"]["text"] for r in results)
        full = {cid: s for r in results for cid, s in r["shared"].items()}
        return {
            "case": name,
            "clients": args.clients,
            "rate": args.rate,
            "duration": args.duration,
            "contention": contention,
            "texts_sent": texts,
            "moves_sent": sum(r["sent"]["move"] for r in results),
            "delivered": round(
                sum(r["received"] for r in results) / max(1, texts * (args.clients - 1)), 4
            ),
            "p50_ms": loadlib.pct(latencies, 0.5),
            "p99_ms": loadlib.pct(latencies, 0.99),
            "max_ms": loadlib.pct(latencies, 1.0),
            "server_cpu_cores": round(cpu, 3),
            "refused_server": refused,
            "denied_clients": sum(r["denied"] for r in results),
            "full_clients_equal_fresh_joiner": all(s == fresh for s in full.values()),
            "uptime_before": load_before,
            "uptime_after": loadlib.uptime(),
        }
    finally:
        loadlib.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--contention", type=float, default=0.1)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--source", type=Path, default=loadlib.ROOT, help="the code to serve (a checkout)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cobord-contention-"))
    rows = [run(args, c, folder) for c in (0.0, args.contention)]
    for row in rows:
        print(json.dumps(row))
        sys.stderr.write(
            f"{row['case']}: delivered {row['delivered']:.2%}, p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms, max {row['max_ms']} ms, CPU {row['server_cpu_cores']} "
            f"core, refused {row['refused_server']:g} (clients saw {row['denied_clients']}), "
            f"moves {row['moves_sent']}, converged {row['full_clients_equal_fresh_joiner']}\n"
            f"  {row['uptime_before']}\n"
        )
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
