"""Small helpers shared by bench/contention.py and bench/storm.py: a fresh `cobord serve` on a
free port, /proc CPU, /metrics, percentiles, the machine's load (it is shared: say so)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def start_server(
    db: str, env: dict[str, str], log: Path, source: Path = ROOT
) -> tuple[subprocess.Popen[bytes], int]:
    """`cobord serve` on a free port, from this checkout or `source` (e.g. a `git archive` of an
    older commit); returns once uvicorn says it runs."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--database-url", db],
        cwd=source,
        env={
            **os.environ,
            "SECRET_KEY": "bench",
            "COBORD_JOIN_PER_MINUTE": "0",
            "COBORD_CREATE_PER_MINUTE": "0",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        with log.open("ab") as out:
            for line in proc.stdout:
                out.write(line)
                if b"Uvicorn running on" in line:
                    ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(60) or proc.poll() is not None:
        raise RuntimeError(f"server did not start: see {log}")
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def pct(values: list[float], q: float) -> float:
    """Percentile in ms of values in seconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def board(port: int) -> dict[str, Any]:
    response = httpx.post(f"http://127.0.0.1:{port}/api/boards", json={"title": "bench"})
    response.raise_for_status()
    return dict(response.json())


def join(port: int, code: str, name: str) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/join", json={"code": code, "name": name}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["token"])


def ws_url(port: int, board_id: str, token: str) -> str:
    return f"ws://127.0.0.1:{port}/ws/{board_id}?token={token}"
