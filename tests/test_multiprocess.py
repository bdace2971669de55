"""Several `cobord serve` processes as one service: two processes on PostgreSQL and a redis-server
this test starts on a free port (so it can kill it), real WebSockets, real signals."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import ROOT, ServerProcess, free_port
from tests.support import poll_until, service_missing
from tests.yclient import YClient, add_note

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

CONVERGE_SECONDS = 2.0
# Well past the fan-out's reconnect backoff cap (0.5 s: several failed attempts) and its publish
# timeout (2 s); a longer outage proves nothing more and costs its length in every run.
OUTAGE_SECONDS = 3.0


class RedisServer:
    """A redis-server of our own (no persistence), which a test may kill and start again."""

    def __init__(self, folder: Path, *options: str) -> None:
        self.port = free_port()
        self.folder = folder
        self.options = options  # more redis-server options (`--requirepass`, `--unixsocket`)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server is not installed")
        self.proc = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--save", "", "--appendonly", "no"),
                *("--daemonize", "no", "--dir", str(self.folder), *self.options),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # wait for its own readiness line, not a sleep
            if b"Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server did not start")
        self.proc.stdout.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pair(make_server: Any, pg_url: str, redis_server: RedisServer) -> tuple[Any, Any]:
    env = {"REDIS_URL": redis_server.url, "COBORD_PRESENCE_TTL_SECONDS": "3"}
    return make_server(database_url=pg_url, **env), make_server(database_url=pg_url, **env)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}



# ---------------------------------------------------------------------------- configuration


def test_redis_url_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "server.cli", "serve", "--port", str(free_port())),
            *("--database-url", f"sqlite+aiosqlite:///{tmp_path}/x.db"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert b"REDIS_URL is set but SECRET_KEY is not" in done.stderr
    assert not (tmp_path / "x.secret").exists()  # no per-process key was made


# ---------------------------------------------------------------------------- shared state


async def test_who_is_online_is_shared_and_a_dead_process_drops_out(pair: Any) -> None:
    first, second = pair
    board = first.create_board()
    ana = first.join(board["join_code"], name="Ana")
    client = await YClient(second.url(board["id"], ana["token"])).connect()

    async def online_on_first() -> bool:
        async with httpx.AsyncClient() as http:
            r = await http.get(
                f"{first.http}/api/boards/{board['id']}/participants",
                headers=auth(board["facilitator_token"]),
            )
        assert r.status_code == 200
        return bool(r.json()[0]["online"])

    await poll_until(online_on_first)  # Ana is on the second process; the first sees her
    second.kill()  # SIGKILL: nothing cleans up; her entry must expire (TTL 3 s here)
    await poll_until(lambda: _not(online_on_first()), timeout=10)
    await client.close()


async def _not(value: Any) -> bool:
    return not await value


async def test_two_settings_changes_on_two_processes_both_survive(pair: Any) -> None:
    first, second = pair
    board = first.create_board()
    url = f"/api/boards/{board['id']}/settings"
    headers = auth(board["facilitator_token"])
    async with httpx.AsyncClient(timeout=30) as http:
        for budget in range(1, 11):
            a, b = await asyncio.gather(
                http.patch(first.http + url, json={"vote_budget": budget}, headers=headers),
                http.patch(
                    second.http + url, json={"max_note_length": 100 + budget}, headers=headers
                ),
            )
            assert (a.status_code, b.status_code) == (200, 200)
            settings = await _settings(board["id"], first)
            assert (settings["vote_budget"], settings["max_note_length"]) == (budget, 100 + budget)


async def _settings(board_id: str, proc: ServerProcess) -> dict[str, Any]:
    url = proc.database_url
    conn = await asyncpg.connect(url)
    try:
        raw = await conn.fetchval("SELECT settings FROM boards WHERE id = $1", board_id)
    finally:
        await conn.close()
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


# ---------------------------------------------------------------------------- faults


async def test_redis_outage_each_process_serves_its_clients_then_all_converge(
    pair: Any, redis_server: RedisServer
) -> None:
    first, second = pair
    board = first.create_board()
    token = board["facilitator_token"]
    clients: list[YClient] = []
    try:
        for server in (first, first, second, second):
            clients.append(await YClient(server.url(board["id"], token)).connect())
        a1, a2, b1, b2 = clients
        await a1.change(add_note("before", "before the outage"))
        await b1.wait_until(lambda: "before" in b1.notes())

        redis_server.kill()
        outage_started = time.monotonic()
        written: set[str] = {"before"}
        i = 0
        # Edit on both processes for the whole outage; each process serves its own clients.
        while time.monotonic() - outage_started < OUTAGE_SECONDS:
            for writer, peer, tag in ((a1, a2, "p1"), (b1, b2, "p2")):
                note = f"{tag}-{i}"
                await writer.change(add_note(note, note))
                await peer.wait_until(lambda n=note, p=peer: n in p.notes(), timeout=5)  # type: ignore[misc]
                written.add(note)
            i += 1
        # Nothing crossed at the end of the outage: the last notes of each process are missing on
        # the other. (Earlier ones may have: a catch-up from the log that a fan-out gap started
        # before the outage can read what was committed in its first moments; the log is the truth.)
        last = i - 1
        assert f"p2-{last}" not in a2.notes() and f"p1-{last}" not in b2.notes()

        redis_server.start()  # same port
        restarted = time.monotonic()
        for client in clients:
            await client.wait_until(lambda c=client: set(c.notes()) >= written, timeout=10)  # type: ignore[misc]
        converged = time.monotonic() - restarted
        print(f"\nconverged {converged:.2f} s after Redis came back ({len(written)} notes)")
        assert converged < CONVERGE_SECONDS
    finally:
        for client in clients:
            await client.close()


async def test_a_killed_process_loses_nothing_acknowledged(pair: Any) -> None:
    first, second = pair
    board = first.create_board()
    token = board["facilitator_token"]
    on_second = await YClient(second.url(board["id"], token)).connect()
    witness = await YClient(second.url(board["id"], board["viewer_token"])).connect()
    for i in range(20):
        await on_second.change(add_note(f"n{i}", f"idea {i}"))
    # Acknowledged: the server relays an update only once it is committed.
    await witness.wait_until(lambda: len(witness.notes()) == 20)
    second.kill()
    assert await on_second.wait_closed() is not None
    with pytest.raises(OSError):
        await YClient(second.url(board["id"], token)).connect()  # the dead URL refuses
    again = await YClient(first.url(board["id"], token)).connect()
    assert set(again.notes()) == {f"n{i}" for i in range(20)}
    await again.close()


async def test_sigterm_closes_clients_with_1012_commits_and_exits_within_grace(
    make_server: Any, pg_url: str, redis_server: RedisServer
) -> None:
    env = {"REDIS_URL": redis_server.url, "COBORD_SHUTDOWN_GRACE_SECONDS": "3"}
    first = make_server(database_url=pg_url, **env)
    second = make_server(database_url=pg_url, **env)
    board = first.create_board()
    client = await YClient(first.url(board["id"], board["facilitator_token"])).connect()
    await client.change(add_note("kept", "written just before SIGTERM"))
    assert first.proc is not None
    started = time.monotonic()
    first.proc.send_signal(signal.SIGTERM)
    assert await client.wait_closed() == 1012  # service restart: the client reconnects
    first.proc.wait(timeout=10)
    took = time.monotonic() - started
    # uvicorn re-raises SIGTERM once its shutdown is complete (so the exit status says why).
    assert first.proc.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in first.log_path.read_text()
    assert took < 3 + 2, took  # the grace period, plus interpreter exit
    # Committed and keyframed before exit.
    conn = await asyncpg.connect(pg_url)
    try:
        snapshots = await conn.fetchval(
            "SELECT count(*) FROM snapshots WHERE board_id = $1", board["id"]
        )
    finally:
        await conn.close()
    assert snapshots == 1
    other = await YClient(second.url(board["id"], board["facilitator_token"])).connect()
    assert "kept" in other.notes()
    await other.close()


async def test_readyz_names_redis_while_it_is_down(pair: Any, redis_server: RedisServer) -> None:
    first, _ = pair
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(f"{first.http}/readyz")).json() == {"status": "ready"}
        redis_server.kill()
        r = await http.get(f"{first.http}/readyz")
        assert r.status_code == 503
        assert r.json()["status"] == "unavailable"
        assert list(r.json()["failing"]) == ["redis"]
        redis_server.start()
        r = await http.get(f"{first.http}/readyz")
        assert (r.status_code, r.json()) == (200, {"status": "ready"})


async def test_readyz_names_the_database_while_it_refuses(
    make_server: Any, redis_server: RedisServer
) -> None:
    name = f"cobord_ready_{os.getpid()}_{free_port()}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        proc = make_server(
            database_url=f"postgresql://postgres@127.0.0.1:5432/{name}", REDIS_URL=redis_server.url
        )
        board = proc.create_board()
        headers = auth(board["facilitator_token"])
        client = await YClient(proc.url(board["id"], board["facilitator_token"])).connect()
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{proc.http}/readyz")).status_code == 200
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            r = await http.get(f"{proc.http}/readyz")
            assert r.status_code == 503
            assert list(r.json()["failing"]) == ["database"]
            # An edit cannot be committed: its client is told (1011), never left waiting.
            await client.change(add_note("n", "not stored"))
            assert await client.wait_closed() == 1011
            assert client.close_reason == "storage error: please reconnect"
            # A request on the failed board gets a 503, and does not hang (the client's timeout).
            r = await http.patch(
                f"{proc.http}/api/boards/{board['id']}/settings",
                json={"locked": True},
                headers=headers,
            )
            assert (r.status_code, r.json()["error"]) == (503, "storage_unavailable")
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            r = await http.get(f"{proc.http}/readyz")
            assert r.status_code == 200
        proc.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_publishing_to_a_stalled_redis_gives_up_in_bounded_time(
    redis_server: RedisServer,
) -> None:
    """SIGSTOP: connections stay open but Redis answers nothing (a stall, not a disconnect)."""
    from server.fanout import FanoutMessage, RedisFanout
    from server.fanout.redis import PUBLISH_TIMEOUT_SECONDS
    from server.scale.redis import connect

    redis = connect(redis_server.url)
    fanout = RedisFanout(redis)
    received: list[FanoutMessage] = []
    await fanout.start(lambda _b, m: received.append(m), lambda _b: None)
    await fanout.wait_connected()
    assert redis_server.proc is not None
    redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        update = FanoutMessage(fanout.instance_id, "update", b"\x00\x02\x02\x00\x00")
        await fanout.publish("b", update)
        took = time.monotonic() - started
        assert PUBLISH_TIMEOUT_SECONDS <= took < PUBLISH_TIMEOUT_SECONDS + 1.0
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
        await fanout.close()
        await redis.aclose()
