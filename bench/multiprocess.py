"""Load over one or several `cobord serve` processes (the Node harness takes one URL).

Starts its own servers (PostgreSQL or SQLite; with several processes a redis-server of its own on a
free port), one board, N light clients spread round-robin over the processes, each editing its own
note at R ops/s with a marker `mk:<client>:<seq>:<time>` in the text. Receivers find markers in
the frames they get (merged updates keep the text), so delivery and latency are measured from
sender to every other client, same process or across.

    .venv/bin/python bench/multiprocess.py --processes 2 --clients 200 --rate 1 --duration 20
    .venv/bin/python bench/multiprocess.py --processes 1 --store sqlite --synchronous NORMAL
    .venv/bin/python bench/multiprocess.py --processes 2 --outage 10   # time to converge

Prints one JSON line and a readable summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
import websockets
from pycrdt import Doc, Map

from crdt import protocol

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(rb"mk:(\d+):(\d+):(\d+\.\d+)")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_line(proc: subprocess.Popen[bytes], needle: bytes, log: Path) -> None:
    """Copy output to a log (so the pipe never fills) and return once `needle` was printed."""
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        with log.open("ab") as out:
            for line in proc.stdout:
                out.write(line)
                if needle in line:
                    ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(30) or proc.poll() is not None:
        raise RuntimeError(f"{proc.args} did not start: see {log}")


def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server") or "redis-server"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_line(proc, b"Ready to accept connections", folder / f"redis-{port}.log")
    return proc


def start_server(db: str, env: dict[str, str], folder: Path, i: int) -> tuple[Any, int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--database-url", db],
        cwd=ROOT,
        env={**os.environ, "SECRET_KEY": "bench", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_line(proc, b"Uvicorn running on", folder / f"server-{i}.log")
    return proc, port


# ------------------------------------------------------------------------------ clients (workers)


def worker(
    urls: list[str], ids: list[int], rate: float, duration: float, total: int, go: Any, out: Any
) -> None:
    out.put(asyncio.run(_worker(urls, ids, rate, duration, total, go)))


async def _worker(
    urls: list[str], ids: list[int], rate: float, duration: float, total: int, go: Any
) -> dict[str, Any]:
    n_servers = len(urls)
    same: list[float] = []
    cross: list[float] = []
    seen: dict[int, set[tuple[int, int]]] = {i: set() for i in ids}
    sent = [0]
    sockets = {}
    docs = {}
    for cid in ids:
        ws = await websockets.connect(urls[cid % n_servers], max_size=None, compression=None)
        sockets[cid] = ws
        doc: Doc[Any] = Doc()
        notes = doc.get("notes", type=Map)
        before = doc.get_state()
        notes[f"n{cid}"] = Map(
            {"text": "", "x": 0.0, "y": 0.0, "color": "yellow", "cluster": "", "lang": "en"}
            | {"createdAt": 0.0}
        )
        await ws.send(protocol.encode(protocol.Update(doc.get_update(before))))
        docs[cid] = doc

    async def read(cid: int, ws: Any) -> None:
        mine = seen[cid]
        server = cid % n_servers
        try:
            async for frame in ws:
                if not isinstance(frame, bytes):
                    continue
                now = time.time()
                for sender, seq, at in MARKER.findall(frame):
                    key = (int(sender), int(seq))
                    if key[0] != cid and key not in mine:
                        mine.add(key)
                        (same if key[0] % n_servers == server else cross).append(now - float(at))
        except websockets.ConnectionClosed:
            return

    readers = [asyncio.create_task(read(cid, ws)) for cid, ws in sockets.items()]
    await asyncio.get_running_loop().run_in_executor(None, go.wait)

    async def write(cid: int) -> None:
        doc, ws = docs[cid], sockets[cid]
        text = doc.get("notes", type=Map)[f"n{cid}"]
        interval = 1 / rate
        start = time.monotonic() + interval * (cid / total)  # spread the senders over a second
        seq = 0
        while True:
            at = start + seq * interval
            if at - start > duration:
                return
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            before = doc.get_state()
            text["text"] = f"mk:{cid}:{seq}:{time.time():.6f}"
            await ws.send(protocol.encode(protocol.Update(doc.get_update(before))))
            sent[0] += 1
            seq += 1

    await asyncio.gather(*(write(cid) for cid in ids))
    await asyncio.sleep(3.0)  # drain: deliveries still in flight count (bench, not a test)
    for ws in sockets.values():
        await ws.close()
    for task in readers:
        task.cancel()
    return {
        "sent": sent[0],
        "received": sum(len(s) for s in seen.values()),
        "same": same,
        "cross": cross,
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--store", choices=["pg", "sqlite"], default="pg")
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--outage", type=float, default=0.0, help="s of Redis outage instead")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cobord-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    pg_name = None
    try:
        if args.store == "pg":
            pg_name = f"cobord_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg(f'CREATE DATABASE "{pg_name}"'))
            db = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
        else:
            db = f"sqlite+aiosqlite:///{folder}/bench.db"
        env = {"COBORD_SQLITE_SYNCHRONOUS": args.synchronous}
        redis_port = None
        if args.processes > 1:
            redis_port = free_port()
            procs.append(start_redis(redis_port, folder))
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        servers = [start_server(db, env, folder, i) for i in range(args.processes)]
        procs += [p for p, _ in servers]
        first = f"http://127.0.0.1:{servers[0][1]}"
        board = httpx.post(f"{first}/api/boards", json={"title": "bench"}).json()
        urls = [
            f"ws://127.0.0.1:{port}/ws/{board['id']}?token={board['facilitator_token']}"
            for _, port in servers
        ]
        if args.outage:
            assert redis_port is not None
            result = outage(urls, procs, redis_port, folder, args.outage)
        else:
            result = load(args, urls, servers, redis_port, board["id"])
        result.update(
            processes=args.processes,
            store=args.store if args.store == "pg" else f"sqlite-{args.synchronous}",
            clients=args.clients,
            rate=args.rate,
            duration=args.duration,
        )
        print(json.dumps(result))
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=20)
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


def load(
    args: Any, urls: list[str], servers: list[Any], redis_port: int | None, board_id: str
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    ids = list(range(args.clients))
    workers = [
        ctx.Process(
            target=worker,
            args=(urls, ids[w :: args.workers], args.rate, args.duration, args.clients, go, out),
        )
        for w in range(args.workers)
    ]
    for w in workers:
        w.start()
    # Let every client connect and its note commit (the workers block on `go`).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        connected = sum(_metric(p, "cobord_connections") for _, p in servers)
        if connected >= args.clients:
            break
        time.sleep(0.2)
    red = redis.Redis(port=redis_port) if redis_port else None
    publish0 = _publishes(red)
    accepted0 = sum(_metric(p, "cobord_updates_accepted_total") for _, p in servers)
    commits0 = sum(_metric(p, "cobord_commits_total") for _, p in servers)
    writes0 = sum(_metric(p, "cobord_fanout_writes_total") for _, p in servers)
    frames0 = sum(_metric(p, "cobord_fanout_frames_total") for _, p in servers)
    cpu0 = [cpu_seconds(p.pid) for p, _ in servers]
    t0 = time.monotonic()
    go.set()
    results = [out.get(timeout=args.duration + 120) for _ in workers]
    elapsed = time.monotonic() - t0
    cpu = [(cpu_seconds(p.pid) - c) / elapsed for (p, _), c in zip(servers, cpu0, strict=True)]
    accepted = sum(_metric(p, "cobord_updates_accepted_total") for _, p in servers) - accepted0
    commits = sum(_metric(p, "cobord_commits_total") for _, p in servers) - commits0
    writes = sum(_metric(p, "cobord_fanout_writes_total") for _, p in servers) - writes0
    frames = sum(_metric(p, "cobord_fanout_frames_total") for _, p in servers) - frames0
    publishes = _publishes(red) - publish0
    for w in workers:
        w.join()
    sent = sum(r["sent"] for r in results)
    received = sum(r["received"] for r in results)
    same = [x for r in results for x in r["same"]]
    cross = [x for r in results for x in r["cross"]]
    everything = same + cross
    return {
        "sent": sent,
        "delivered": received / max(1, sent * (args.clients - 1)),
        "p50_ms": pct(everything, 0.5),
        "p99_ms": pct(everything, 0.99),
        "p99_same_ms": pct(same, 0.99),
        "p99_cross_ms": pct(cross, 0.99),
        "max_ms": pct(everything, 1.0),
        "cpu_cores": [round(c, 3) for c in cpu],
        # #17 target 4: the pair's CPU per delivery against one process's (all servers' CPU over
        # the run / updates received by any client)
        "cpu_us_per_delivery": round(sum(cpu) * elapsed / max(1, received) * 1e6, 2),
        "accepted": accepted,
        "updates_per_commit": round(accepted / max(1, commits), 2),
        # socket writes to clients per update received by a client (frames share writes)
        "writes_per_delivery": round(writes / max(1, received), 3),
        "frames_per_delivery": round(frames / max(1, received), 3),
        "redis_publishes_per_update": round(publishes / accepted, 3) if red else None,
    }


def outage(
    urls: list[str], procs: list[Any], port: int, folder: Path, seconds: float
) -> dict[str, Any]:
    """Clients on both processes edit through a Redis outage; time from restart to convergence."""
    return asyncio.run(_outage(urls, procs, port, folder, seconds))


async def _outage(
    urls: list[str], procs: list[Any], port: int, folder: Path, seconds: float
) -> dict[str, Any]:
    redis_proc = procs.pop(0)
    sys.path.insert(0, str(ROOT))
    from tests.yclient import YClient, add_note

    clients = [await YClient(urls[i % 2]).connect() for i in range(10)]
    redis_proc.kill()
    redis_proc.wait()
    written: set[str] = set()
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < seconds:
        for k, client in enumerate(clients):
            note = f"c{k}-{i}"
            await client.change(add_note(note, note))
            written.add(note)
        await asyncio.sleep(0.1)  # ~10 edits/s per client during the outage (load, not a test)
        i += 1
    procs.insert(0, start_redis(port, folder))
    restarted = time.monotonic()
    for client in clients:
        await client.wait_until(lambda c=client: set(c.notes()) >= written, timeout=60)
    converged = time.monotonic() - restarted
    for client in clients:
        await client.close()
    return {
        "outage_s": seconds,
        "outage_clients": len(clients),
        "notes": len(written),
        "converged_s": round(converged, 3),
    }


def _metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def _publishes(red: Any) -> int:
    if red is None:
        return 0
    stats = red.info("commandstats")
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
