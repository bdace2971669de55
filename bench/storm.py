"""A refusal storm on a 10,000-note board (issue 7): one participant sends 1000 forbidden edits;
what do the other clients' deliveries cost, with and without the storm? Same sitting, a fresh
server per case.

The facilitator posts 10,000 notes. `--receivers` participants each rewrite their own note's
text at 1 op/s with a marker `mk:<client>:<seq>:<time>` (latency = sender to every other
receiver). After `--storm-at` seconds the attacker (a participant) sends `--count` forbidden edits
as fast as the server reads them, of one kind:

  text     rewrites the facilitator's notes (refused, undone by a server compensation)
  delete   deletes the facilitator's notes as a stock client may, the Y.Map entry itself
           (refused, undone by re-creating each note)
  pending  updates that depend on changes the server does not have (refused outright)

To make the server judge all of them, one allowed edit (a move of the attacker's own note) goes
after every 9 forbidden ones, so "10 refused in a row" never triggers; then the cases `cutoff-*`
send forbidden edits only, and report how the attacker is cut off (close code and reason).

    .venv/bin/python bench/storm.py --receivers 50 --duration 20 --count 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def connect(url: str, doc: Doc[Any] | None = None) -> Any:
    """Connect; with `doc`, wait for the first sync and apply it."""
    ws = await websockets.connect(url, max_size=None, compression=None)
    if doc is not None:
        await ws.send(protocol.encode(protocol.SyncStep1(doc.get_state())))
        async for frame in ws:
            message = protocol.decode(frame) if isinstance(frame, bytes) else None
            if isinstance(message, protocol.SyncStep2):
                doc.apply_update(message.update)
                break
    return ws


async def prefill(url: str, notes: int) -> None:
    doc: Doc[Any] = Doc()
    ws = await connect(url, doc)
    for start in range(0, notes, 500):
        before = doc.get_state()
        with doc.transaction():
            root = doc.get("notes", type=Map)
            for i in range(start, min(notes, start + 500)):
                root[f"f{i}"] = Map(
                    {"text": f"idea {i}", "x": float(i % 100) * 220, "y": float(i // 100) * 160}
                )
        await ws.send(protocol.encode(protocol.Update(doc.get_update(before))))
    # The answer to this SyncStep1 comes after every update above was handled.
    await ws.send(protocol.encode(protocol.SyncStep1(doc.get_state())))
    async for frame in ws:
        if isinstance(frame, bytes) and frame[:2] == b"\x00\x01":
            break
    await ws.close()


def own_update(doc: Doc[Any], change: Any) -> bytes:
    """The transaction's own update, as a y-websocket provider sends it (`get_update(state)`
    would carry the doc's whole delete set: every earlier forbidden delete again)."""
    built: list[bytes] = []
    subscription = doc.observe(lambda event: built.append(event.update))
    with doc.transaction():
        change(doc.get("notes", type=Map))
    doc.unobserve(subscription)
    return built[0]


def forbidden(kind: str, attacker: Doc[Any], ghost: Doc[Any], i: int, notes: int) -> bytes:
    if kind == "delete":
        return own_update(attacker, lambda root: root.pop(f"f{(i * 7919) % (notes - 100)}"))
    if kind == "text":
        before = attacker.get_state()
        attacker.get("notes", type=Map)[f"f{(i * 7919) % (notes - 100)}"]["text"] = f"hijacked {i}"
        return attacker.get_update(before)
    # pending: a note the server never gets, then an edit of it (sent alone: it depends on it)
    root = ghost.get("notes", type=Map)
    root[f"ghost{i}"] = Map({"text": "never sent"})
    before = ghost.get_state()
    root[f"ghost{i}"]["text"] = f"depends on the unsent note {i}"
    return ghost.get_update(before)


async def case(args: Any, port: int, board: dict[str, Any], kind: str | None, cut: bool) -> Any:
    tokens = [loadlib.join(port, board["join_code"], f"R{i}") for i in range(args.receivers)]
    receivers = [await connect(loadlib.ws_url(port, board["id"], t)) for t in tokens]
    latencies: list[tuple[float, float]] = []  # (sent at, latency)
    seen: list[set[tuple[int, int]]] = [set() for _ in receivers]

    async def read(cid: int, ws: Any) -> None:
        try:
            async for frame in ws:
                if not isinstance(frame, bytes):
                    continue
                now = time.time()
                for sender, seq, at in MARKER.findall(frame):
                    key = (int(sender), int(seq))
                    if key[0] != cid and key not in seen[cid]:
                        seen[cid].add(key)
                        latencies.append((float(at), now - float(at)))
        except websockets.ConnectionClosed:
            return

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(receivers)]
    docs: list[Doc[Any]] = []
    for cid, ws in enumerate(receivers):
        doc: Doc[Any] = Doc()
        doc.get("notes", type=Map)[f"r{cid}"] = Map({"text": "", "x": 0.0, "y": 0.0})
        await ws.send(protocol.encode(protocol.Update(doc.get_update())))
        docs.append(doc)
    attacker_doc: Doc[Any] = Doc()
    ghost: Doc[Any] = Doc()
    attacker = await connect(
        loadlib.ws_url(port, board["id"], loadlib.join(port, board["join_code"], "Mallory")),
        attacker_doc,
    )
    before = attacker_doc.get_state()
    attacker_doc.get("notes", type=Map)["mine"] = Map({"text": "mine", "x": 0.0, "y": 0.0})
    await attacker.send(protocol.encode(protocol.Update(attacker_doc.get_update(before))))
    denied = [0]
    storm: dict[str, Any] = {}
    answered = asyncio.Event()  # every forbidden edit sent was answered (or the socket closed)

    async def attacker_reads() -> None:
        try:
            async for frame in attacker:
                if isinstance(frame, bytes) and frame[0] == 2:
                    denied[0] += 1
                    if denied[0] >= storm.get("sent", args.count + 1):
                        answered.set()
        except websockets.ConnectionClosed as closed:
            storm["close_code"] = closed.rcvd.code if closed.rcvd else None
            storm["close_reason"] = closed.rcvd.reason if closed.rcvd else None
        answered.set()

    attacker_reader = asyncio.create_task(attacker_reads())

    async def write(cid: int) -> None:
        text = docs[cid].get("notes", type=Map)[f"r{cid}"]
        seq = 0
        while seq <= args.duration:
            at = start + seq + cid / len(receivers)
            await asyncio.sleep(max(0.0, at - time.time()))
            before = docs[cid].get_state()
            text["text"] = f"mk:{cid}:{seq}:{time.time():.6f}"
            try:
                await receivers[cid].send(
                    protocol.encode(protocol.Update(docs[cid].get_update(before)))
                )
            except websockets.ConnectionClosed:
                return
            seq += 1

    # Built before the clock starts: building 1000 updates on a 10,000-note doc in this process
    # would stall the receivers' loop and be measured as the server's latency.
    frames: list[tuple[bool, bytes]] = []
    for i in range(args.count if kind is not None else 0):
        update = forbidden(kind or "text", attacker_doc, ghost, i, args.notes)
        frames.append((True, protocol.encode(protocol.Update(update))))
        if not cut and i % 9 == 8:
            x = float(i)
            move = own_update(attacker_doc, lambda root, x=x: root["mine"].__setitem__("x", x))
            frames.append((False, protocol.encode(protocol.Update(move))))

    start = time.time() + 1.0

    async def attack() -> None:
        await asyncio.sleep(max(0.0, start + args.storm_at - time.time()))
        storm["from"] = time.time()
        sent = 0
        try:
            for is_forbidden, frame in frames:
                await attacker.send(frame)
                sent += is_forbidden
        except websockets.ConnectionClosed:
            pass
        storm["sent"] = sent
        # The storm lasts until the server has answered the last forbidden edit (or closed).
        if denied[0] >= sent:
            answered.set()
        await answered.wait()
        storm["to"] = time.time()

    tasks = [write(cid) for cid in range(len(receivers))]
    if kind is not None:
        tasks.append(attack())
    await asyncio.gather(*tasks)
    await asyncio.sleep(2.0)  # drain
    for ws in (*receivers, attacker):
        await ws.close()
    for task in (*readers, attacker_reader):
        task.cancel()
    window = [
        lat
        for at, lat in latencies
        if kind is not None and storm["from"] - 0.5 <= at <= storm["to"] + 0.5
    ]
    return latencies, window, storm, denied[0]


def run(args: Any, kind: str | None, cut: bool, folder: Path) -> dict[str, Any]:
    name = "baseline" if kind is None else f"{'cutoff' if cut else 'storm'}-{kind}"
    proc, port = loadlib.start_server(
        f"sqlite+aiosqlite:///{folder}/{name}.db", {}, folder / f"{name}.log", args.source
    )
    try:
        board = loadlib.board(port)
        # The board holds exactly `--notes` notes once the receivers and the attacker posted theirs.
        facilitator = loadlib.ws_url(port, board["id"], board["facilitator_token"])
        asyncio.run(prefill(facilitator, args.notes - args.receivers - 1))
        load_before = loadlib.uptime()
        cpu0, t0 = loadlib.cpu_seconds(proc.pid), time.monotonic()
        latencies, window, storm, denied = asyncio.run(case(args, port, board, kind, cut))
        cpu = (loadlib.cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
        all_lat = [lat for _, lat in latencies]
        expected = len(range(int(args.duration) + 1)) * args.receivers * (args.receivers - 1)
        row: dict[str, Any] = {
            "case": name,
            "notes": args.notes,
            "receivers": args.receivers,
            "delivered": round(len(all_lat) / expected, 4),
            "p50_ms": loadlib.pct(all_lat, 0.5),
            "p99_ms": loadlib.pct(all_lat, 0.99),
            "max_ms": loadlib.pct(all_lat, 1.0),
            "server_cpu_cores": round(cpu, 3),
            "uptime_before": load_before,
            "source": str(args.source),
        }
        if kind is not None:
            row.update(
                forbidden_sent=storm.get("sent"),
                refused=denied,
                storm_seconds=round(storm["to"] - storm["from"], 3),
                storm_window_p99_ms=loadlib.pct(window, 0.99),
                storm_window_max_ms=loadlib.pct(window, 1.0),
                storm_window_deliveries=len(window),
                attacker_close_code=storm.get("close_code"),
                attacker_close_reason=storm.get("close_reason"),
            )
        return row
    finally:
        loadlib.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--storm-at", type=float, default=5.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--kinds", default="text,pending")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--source", type=Path, default=loadlib.ROOT, help="the code to serve (a checkout)"
    )
    parser.add_argument("--baseline", type=int, default=1, help="0: no run without a storm")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cobord-storm-"))
    kinds = [k for k in args.kinds.split(",") if k]
    cases: list[tuple[str | None, bool]] = [(None, False)] if args.baseline else []
    cases += [(k, False) for k in kinds] + [(k, True) for k in kinds]
    rows = []
    for kind, cut in cases:
        row = run(args, kind, cut, folder)
        rows.append(row)
        print(json.dumps(row), flush=True)
        extra = ""
        if kind is not None:
            extra = (
                f"; {row['refused']} refused of {row['forbidden_sent']} sent in "
                f"{row['storm_seconds']} s, storm-window p99 {row['storm_window_p99_ms']} ms "
                f"(max {row['storm_window_max_ms']}), attacker closed "
                f"{row['attacker_close_code']} {row['attacker_close_reason']!r}"
            )
        sys.stderr.write(
            f"{row['case']}: delivered {row['delivered']:.2%}, p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms, CPU {row['server_cpu_cores']} core{extra}\n"
            f"  {row['uptime_before']}\n"
        )
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
