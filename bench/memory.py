"""Server memory with many boards: load 100 boards x 200 notes, let them unload, read RSS.

    .venv/bin/python bench/memory.py [--boards 100] [--notes 200] [--cycles 2]
                                     [--env MALLOC_ARENA_MAX=2 ...] [--src DIR] [--out FILE]

Starts `cobord serve` (from --src, default the repo root; SQLite in a temp dir) with
COBORD_IDLE_UNLOAD_SECONDS=1 and reads /proc/PID/status (VmRSS now, VmHWM = lifetime peak):
  start        after start-up;
  loaded       all boards live: one client per board connected, every note committed
               (cycle 1 writes the notes, one update each; later cycles re-load the boards from
               the database and check every note is there);
  unloaded     every client gone, `cobord_rooms_loaded 0` in /metrics (bounded poll), then RSS
               steady (the last keyframes are written after the gauge drops).
glibc and CPython's allocator keep freed memory for reuse instead of returning it to the OS, so
"unloaded" shows what the process still holds; a second cycle shows whether it is reused (flat)
or leaked (growing). --trim (an experiment, not what the server does): the server runs through
bench/trim_launch.py, which calls gc.collect() + glibc malloc_trim(0) on SIGUSR1, sent after each
unload. Prints a table and one JSON line (--out writes it too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import prom  # noqa: E402  (bench/prom.py)

from tests.yclient import YClient, add_note  # noqa: E402

START_TIMEOUT = 20.0
COMMIT_TIMEOUT = 120.0
UNLOAD_TIMEOUT = 60.0
POLL = 0.2
SETTLE_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS / VmHWM in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


async def poll_until(what: str, check: Any, timeout: float, every: float = POLL) -> Any:
    """Call `check()` (async) every `every` s until it returns something truthy; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout} s")
        await asyncio.sleep(every)


async def settle(pid: int) -> None:
    """`cobord_rooms_loaded` drops when an unload starts; the room's last commit and keyframe
    finish after it. Wait until VmRSS is unchanged over 3 readings 0.5 s apart (at most 15 s)."""
    readings: list[float] = []

    async def steady() -> bool:
        readings.append(proc_status(pid)["VmRSS"])
        return len(readings) >= 3 and len(set(readings[-3:])) == 1

    with contextlib.suppress(TimeoutError):
        await poll_until("RSS steady", steady, SETTLE_TIMEOUT, every=0.5)


class Server:
    def __init__(self, src: Path, env: dict[str, str], folder: Path, trim: bool = False) -> None:
        self.port = free_port()
        self.trim_ack = folder / "trim-ack"
        self.trims = 0
        if trim:  # the experiment: a launcher that trims on SIGUSR1 (bench/trim_launch.py)
            self.trim_ack.mkdir()
            env = {**env, "COBORD_TRIM_ACK": str(self.trim_ack)}
            entry = [str(Path(__file__).resolve().parent / "trim_launch.py")]
        else:
            entry = ["-m", "server.cli"]
        self.http = f"http://127.0.0.1:{self.port}"
        self.log = (folder / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *entry,
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                f"sqlite+aiosqlite:///{folder}/cobord.db",
                "--log-level",
                "warning",
            ],
            cwd=src,
            env={**os.environ, "SECRET_KEY": "bench-secret", **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, client: httpx.AsyncClient) -> None:
        async def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                return (await client.get(f"{self.http}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await poll_until("server start", ready, START_TIMEOUT)

    async def trim(self) -> None:
        """--trim: gc.collect() + malloc_trim(0) in the server; wait for its acknowledgement."""
        self.trims += 1
        self.proc.send_signal(signal.SIGUSR1)
        ack = self.trim_ack / str(self.trims)

        async def done() -> bool:
            return ack.exists()

        await poll_until("malloc_trim acknowledged", done, START_TIMEOUT)

    async def metrics(self, client: httpx.AsyncClient) -> dict[str, Any]:
        return prom.summary((await client.get(f"{self.http}/metrics")).text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    env = dict(kv.split("=", 1) for kv in args.env)
    env.setdefault("COBORD_IDLE_UNLOAD_SECONDS", "1")
    with tempfile.TemporaryDirectory(prefix="cobord-memory-") as tmp:
        server = Server(Path(args.src), env, Path(tmp), trim=args.trim)
        pid = server.proc.pid
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                await server.wait_ready(http)
                samples: list[dict[str, Any]] = [{"at": "start", **proc_status(pid)}]
                boards = []
                for _ in range(args.boards):
                    response = await http.post(f"{server.http}/api/boards", json={"title": "m"})
                    response.raise_for_status()
                    boards.append(response.json())

                async def unloaded() -> bool:
                    return (await server.metrics(http))["rooms_loaded"] == 0

                await poll_until("boards created unloaded", unloaded, UNLOAD_TIMEOUT)
                await settle(pid)
                samples.append({"at": "boards created, unloaded", **proc_status(pid)})
                gate = asyncio.Semaphore(args.concurrency)
                for cycle in range(1, args.cycles + 1):
                    base = (await server.metrics(http))["updates_accepted_total"]
                    clients = await asyncio.gather(
                        *(
                            open_board(server, b, gate, args.notes if cycle == 1 else 0)
                            for b in boards
                        )
                    )
                    expected = base + (args.boards * args.notes if cycle == 1 else 0)

                    async def committed(expected: int = expected) -> bool:
                        return bool(
                            (await server.metrics(http))["updates_accepted_total"] >= expected
                        )

                    await poll_until("all notes committed", committed, COMMIT_TIMEOUT)
                    counts = {len(c.notes()) for c in clients}
                    if counts != {args.notes}:
                        raise AssertionError(f"cycle {cycle}: notes per board {sorted(counts)}")
                    m = await server.metrics(http)
                    samples.append(
                        {
                            "at": f"cycle {cycle}: {args.boards} boards loaded",
                            "rooms_loaded": m["rooms_loaded"],
                            **proc_status(pid),
                        }
                    )
                    await asyncio.gather(*(c.close() for c in clients))
                    del clients
                    t0 = time.monotonic()
                    releases = (await server.metrics(http))["memory_releases_total"]

                    async def released(releases: int = releases) -> bool:
                        # The server hands freed memory back to the OS once unloads settle.
                        m = await server.metrics(http)
                        return m["rooms_loaded"] == 0 and m["memory_releases_total"] > releases

                    await poll_until("rooms unloaded", unloaded, UNLOAD_TIMEOUT)
                    if not args.trim:
                        with contextlib.suppress(TimeoutError):  # older servers never release
                            await poll_until("memory released", released, UNLOAD_TIMEOUT)
                    await settle(pid)
                    if args.trim:
                        await server.trim()
                    samples.append(
                        {
                            "at": f"cycle {cycle}: all unloaded",
                            "unload_wait_s": round(time.monotonic() - t0, 1),
                            **proc_status(pid),
                        }
                    )
                final = await server.metrics(http)
        finally:
            server.stop()
    start = samples[0]["VmRSS"]
    loaded = [s for s in samples if "loaded" in s["at"] and "unloaded" not in s["at"]]
    after = [s for s in samples if s["at"].endswith("all unloaded")]
    return {
        "kind": "memory",
        "label": args.label,
        "env": env,
        "trim_after_unload": args.trim,
        "boards": args.boards,
        "notes_per_board": args.notes,
        "cycles": args.cycles,
        "rss_start_mib": start,
        "rss_loaded_mib": loaded[0]["VmRSS"],
        "peak_rss_mib": max(s["VmHWM"] for s in samples),
        "rss_after_unload_mib": after[0]["VmRSS"],
        "rss_after_last_unload_mib": after[-1]["VmRSS"],
        "returned_fraction": round(
            (loaded[0]["VmRSS"] - after[0]["VmRSS"]) / max(0.1, loaded[0]["VmRSS"] - start), 2
        ),
        "updates_accepted_total": final["updates_accepted_total"],
        "updates_refused_total": final["updates_refused_total"],
        "samples": samples,
    }


async def open_board(
    server: Server, board: dict[str, Any], gate: asyncio.Semaphore, notes: int
) -> YClient:
    async with gate:
        url = f"ws://127.0.0.1:{server.port}/ws/{board['id']}?token={board['facilitator_token']}"
        client = await YClient(url).connect()
        for i in range(notes):
            await client.change(add_note(f"n{i}", f"note {i}: an idea about the workshop topic"))
        return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--env", action="append", default=[], help="K=V for the server")
    parser.add_argument("--src", default=str(ROOT), help="directory with the server code")
    parser.add_argument("--label", default="default")
    parser.add_argument(
        "--trim",
        action="store_true",
        help="experiment: run the server through bench/trim_launch.py and call gc.collect() + "
        "malloc_trim(0) in it after each unload, before reading RSS",
    )
    parser.add_argument("--out")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    trim = "; gc.collect + malloc_trim(0) after each unload" if args.trim else ""
    print(
        f"memory ({args.label}; env {result['env']}{trim}): "
        f"{args.boards} boards x {args.notes} notes"
    )
    print("| moment | VmRSS MiB | VmHWM MiB |")
    print("|---|---|---|")
    for s in result["samples"]:
        print(f"| {s['at']} | {s['VmRSS']} | {s['VmHWM']} |")
    print(
        f"before {result['rss_start_mib']} MiB, peak {result['peak_rss_mib']} MiB, "
        f"after unload {result['rss_after_unload_mib']} MiB "
        f"({int(100 * result['returned_fraction'])} % of the growth returned); "
        f"after the last cycle {result['rss_after_last_unload_mib']} MiB"
    )
    line = json.dumps(result)
    print(line)
    if args.out:
        Path(args.out).write_text(line + "\n")


if __name__ == "__main__":
    main()
