"""Real servers for the tests: `cobord serve` in a subprocess on a free port, real SQLite files."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from server.scale.redis import connect
from tests.support import service_missing
from tests.zygote import Forked, Zygote

ROOT = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
T = TypeVar("T")
START_TIMEOUT = 60.0  # generous: on a shared, loaded machine uvicorn took over 20 s to start
BIND_TRIES = 3
REQUEST_TIMEOUT = 30.0  # a bound, not a pause (httpx's default 5 s failed under parallel load)


# The suite runs in parallel processes (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml):
# its tests mostly wait on sockets, subprocesses and Chromium, so more workers than the machine's 2
# cores pay. Each worker has its session servers (`server`, `two`, the browser tests' server and
# Chromium); a file with module fixtures stays in one worker (pytest_collection_modifyitems).
# Nothing here is shared between workers: every server has its own port, SQLite file or
# PostgreSQL database; Redis keys carry board ids; pub/sub connections are dropped by process.
WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: WORKERS for the suite or several files, none (this process) for one file; a
    number in PYTEST_XDIST_AUTO_NUM_WORKERS wins (`-n 0` on the command line too)."""
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if chosen:
        return int(chosen)
    files = {arg.split("::", 1)[0] for arg in config.args}
    if len(files) == 1 and Path(next(iter(files))).is_file():
        return 0  # starting workers costs more than it saves here
    return WORKERS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup`: tests are handed to the workers one at a time (the long ones cannot
    pile up behind one worker), except a file whose tests share a module- or class-scoped fixture
    (a server, a page): its tests form one group, run by one worker, so the fixture starts once."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group") is not None:
            continue
        scopes = {d.scope for defs in info.name2fixturedefs.values() for d in defs}
        if scopes & {"module", "class"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    if getattr(config.option, "loadgroup", False):  # in a worker of `--dist loadgroup`
        for item in items:
            _name_group_in_node_id(item)


def _name_group_in_node_id(item: pytest.Item) -> None:
    """Write a grouped test's group into its node id (`id@group`, what xdist's `loadgroup`
    scheduler reads), as pytest-xdist does. xdist 3.8 writes `item._nodeid`, which pytest 9 no
    longer reads (a node's id is `item._id`): with pytest 9 no group reached the scheduler, so a
    file's module fixture (a server, Caddy, a browser) started again in each worker that got one
    of its tests, and the tests sharing a cache (test_client_types) each filled their own. With
    pytest 8 (no `_id`) xdist does it after this hook."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    if names and hasattr(item, "_id") and "@" not in item.nodeid:
        from _pytest.nodeid import coerce_node_id

        item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(sorted(names))}")


def pytest_configure(config: pytest.Config) -> None:
    """Compile the project's modules once, before the workers start (the controller does it):
    with PYTHONDONTWRITEBYTECODE set, every server process and worker would compile server/ and
    crdt/ from source again (about 0.1 s CPU of each of the suite's ~100 server starts).

    Each process also keeps pytest's assertion-rewritten test modules (tests/__pycache__/
    *-pytest-*.pyc): pytest writes them only when bytecode may be written, so with
    PYTHONDONTWRITEBYTECODE set every worker rewrote all the test modules at every run (collection
    took 6.4 s CPU per worker instead of 2.9 s). The servers (own processes) are not affected."""
    sys.dont_write_bytecode = False
    if hasattr(config, "workerinput"):
        return
    import compileall
    import re

    for package in ("server", "crdt", "tests"):
        compileall.compile_dir(ROOT / package, quiet=1, rx=re.compile(r"node_modules"))


_zygotes: list[Zygote] = []  # this worker's, started on first use


def _zygote() -> Zygote | None:
    """This worker's zygote (tests/zygote.py), or None: COBORD_TEST_ZYGOTE=0 starts every server
    as a fresh `python -m server.cli serve` instead."""
    if os.environ.get("COBORD_TEST_ZYGOTE", "1") == "0":
        return None
    if not _zygotes or not _zygotes[-1].alive:
        _zygotes.append(Zygote(str(ROOT)))
    return _zygotes[-1]


def pytest_unconfigure(config: pytest.Config) -> None:
    for zygote in _zygotes:  # after every fixture, so after every server it started stopped
        zygote.close()


PORTS_PER_WORKER = 2_000
_port_turn = itertools.count(random.randrange(PORTS_PER_WORKER))


def worker_ports() -> range:
    """This worker's own block of ports, below the kernel's ephemeral range (32768 on). A test
    that kills a process and starts it again on the same port (a Redis outage, a server crash)
    leaves that port free meanwhile: asked with port 0, the kernel handed it to another worker's
    new process, and the restarted servers then spoke to the other test's Redis."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    start = 10_000 + (index % 10) * PORTS_PER_WORKER
    return range(start, start + PORTS_PER_WORKER)


def free_port() -> int:
    """The next free port of this worker's block (in turn, so a freed port is not reused soon)."""
    ports = worker_ports()
    for _ in ports:
        port = ports.start + next(_port_turn) % len(ports)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports}")


class ServerProcess:
    """One `cobord serve` process. `kill()` is SIGKILL (a crash); `start()` runs it again."""

    def __init__(self, database_url: str, env: dict[str, str], log_path: Path) -> None:
        self.database_url = database_url
        self.env = env
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | Forked | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        """Start the process and wait until it listens. On its first start, a port that
        something else took between `free_port()` and the bind (a client socket of a test
        running beside this one) is given up for another, a bounded number of times; a restart
        keeps its port (its clients reconnect there)."""
        tries = 1 if self.proc is not None else BIND_TRIES
        for _ in range(tries):
            if self._start_once():
                return
            self.port = free_port()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def _start_once(self) -> bool:
        """True once the process listens; False if its port was taken; raises otherwise."""
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0
        # The suite creates hundreds of boards from 127.0.0.1: per-IP HTTP rate limits are off
        # unless a test sets them (tests/test_limits.py).
        unlimited = {f"COBORD_{action}_PER_MINUTE": "0" for action in ("CREATE", "JOIN", "LOOKUP")}
        env = {**os.environ, "SECRET_KEY": "test-secret", **unlimited, **self.env}
        args = ["serve", "--port", str(self.port), "--database-url", self.database_url]
        args += ["--log-level", "info"]
        zygote = _zygote()
        if zygote is not None:  # `cobord serve`, forked from a process that imported it once
            self.proc = zygote.spawn(args, env, str(ROOT))
        else:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        ready, listening = threading.Event(), threading.Event()
        # A thread copies the server's output to its log file (so the pipe never fills) and
        # signals readiness when uvicorn reports it: we wait on that event, not on a sleep.
        self._pump_thread = threading.Thread(
            target=self._pump, args=(self.proc, ready, listening), daemon=True
        )
        self._pump_thread.start()
        ready.wait(START_TIMEOUT)
        if listening.is_set():
            return True
        if ready.is_set():  # its output ended: it exited, or is exiting
            self.proc.wait(timeout=10)
            self._pump_thread.join(timeout=10)
            with self.log_path.open("rb") as log:
                log.seek(logged)
                if b"address already in use" in log.read():
                    return False
        else:  # never listened in START_TIMEOUT: not left running behind the failed test
            self.proc.kill()
            self.proc.wait(timeout=10)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def _pump(
        self,
        proc: subprocess.Popen[bytes] | Forked,
        ready: threading.Event,
        listening: threading.Event,
    ) -> None:
        assert proc.stdout is not None
        with self.log_path.open("ab") as log:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if b"Uvicorn running on" in line:
                    listening.set()
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
        response = httpx.post(
            f"{self.http}/api/boards", json={"title": "Test", **body}, timeout=REQUEST_TIMEOUT
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def join(self, code: str, name: str = "Ana", **body: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.http}/api/join",
            json={"code": code, "name": name, **body},
            timeout=REQUEST_TIMEOUT,
        )
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


def run_aside(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from a session fixture, on a thread of its own: the first test
    to ask for the fixture may be a browser test, while Playwright's sync API has an event loop
    running on this thread (asyncio.run() refuses to start there)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


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
        run_aside(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        service_missing(f"PostgreSQL at {PG_HOST}:{PG_PORT} is not usable: {error!r}")
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    # FORCE: a test that failed half-way may have left a connection behind.
    run_aside(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def two(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two `cobord serve` processes of the same boards, sharing PostgreSQL and Redis (and the
    suite's SECRET_KEY, so each takes the other's tokens), started once for the session: every
    test makes its own boards. A test that kills, restarts or configures a process starts its
    own pair with `make_server`."""
    from tests.test_fanout import REDIS_URL, redis_or_skip

    run_aside(redis_or_skip())
    folder = tmp_path_factory.mktemp("two")
    pair = tuple(
        ServerProcess(pg_url, {"REDIS_URL": REDIS_URL}, folder / f"server-{i}.log") for i in (1, 2)
    )
    try:
        for proc in pair:
            proc.start()
        yield pair[0], pair[1]
    finally:
        for proc in pair:
            proc.stop()


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
