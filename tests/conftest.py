"""Real servers for the tests: `cobord serve` in a subprocess on a free port, real SQLite files."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from server.scale.redis import connect
from tests.support import service_missing

ROOT = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
START_TIMEOUT = 60.0  # generous: on a shared, loaded machine uvicorn took over 20 s to start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One `cobord serve` process. `kill()` is SIGKILL (a crash); `start()` runs it again."""

    def __init__(self, database_url: str, env: dict[str, str], log_path: Path) -> None:
        self.database_url = database_url
        self.env = env
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        # The suite creates hundreds of boards from 127.0.0.1: per-IP HTTP rate limits are off
        # unless a test sets them (tests/test_limits.py).
        unlimited = {
            f"COBORD_{action}_PER_MINUTE": "0" for action in ("CREATE", "JOIN", "LOOKUP")
        }
        env = {**os.environ, "SECRET_KEY": "test-secret", **unlimited, **self.env}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                self.database_url,
                "--log-level",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        ready = threading.Event()
        # A thread copies the server's output to its log file (so the pipe never fills) and
        # signals readiness when uvicorn reports it: we wait on that event, not on a sleep.
        self._pump_thread = threading.Thread(
            target=self._pump, args=(self.proc, ready), daemon=True
        )
        self._pump_thread.start()
        if not ready.wait(START_TIMEOUT) or self.proc.poll() is not None:
            raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def _pump(self, proc: subprocess.Popen[bytes], ready: threading.Event) -> None:
        assert proc.stdout is not None
        with self.log_path.open("ab") as log:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if b"Uvicorn running on" in line:
                    ready.set()
        proc.stdout.close()
        ready.set()  # exited: let start() see it

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._pump_thread.join(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self._pump_thread.join(timeout=10)

    def create_board(self, **body: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.http}/api/boards", json={"title": "Test", **body})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def join(self, code: str, name: str = "Ana", **body: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.http}/api/join", json={"code": code, "name": name, **body})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def url(self, board_id: str, token: str) -> str:
        return f"{self.ws}/{board_id}?token={token}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A shared server for tests that do not restart or reconfigure it."""
    folder = tmp_path_factory.mktemp("server")
    proc = ServerProcess(f"sqlite+aiosqlite:///{folder}/cobord.db", {}, folder / "server.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    """Start a dedicated server with extra environment (limits), stopped after the test."""
    started: list[ServerProcess] = []

    def make(database_url: str | None = None, **env: str) -> ServerProcess:
        url = database_url or f"sqlite+aiosqlite:///{tmp_path}/cobord-{len(started)}.db"
        proc = ServerProcess(url, env, tmp_path / f"server-{len(started)}.log")
        proc.start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database for this session (never the shared `test` one), dropped at the end."""
    name = f"cobord_contract_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        service_missing(f"PostgreSQL at {PG_HOST}:{PG_PORT} is not usable: {error!r}")
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    # FORCE: a test that failed half-way may have left a connection behind.
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def two(make_server: Any, pg_url: str) -> tuple[ServerProcess, ServerProcess]:
    """Two `cobord serve` processes of the same boards, sharing PostgreSQL and Redis."""
    from tests.test_fanout import REDIS_URL, redis_or_skip

    await redis_or_skip()
    env = {"REDIS_URL": REDIS_URL}
    return make_server(database_url=pg_url, **env), make_server(database_url=pg_url, **env)


@pytest.fixture
async def redis_pools() -> AsyncIterator[Callable[[], Redis]]:
    """`redis_pools()` opens one more process's Redis pool (server/scale/redis.py) on the test
    Redis, 127.0.0.1:6379; all are closed after the test, after what used them."""
    opened: list[Redis] = []

    def open_one() -> Redis:
        opened.append(connect("redis://127.0.0.1:6379/0"))
        return opened[-1]

    yield open_one
    for redis in opened:
        await redis.aclose()
