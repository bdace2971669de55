"""The sample deploy: Debian's caddy running deploy/Caddyfile (https, `tls internal`) in front of
two `cobord serve` on PostgreSQL + Redis. Round robin, no sticky sessions: two clients land on
different processes and see each other; certificates are checked for real (the test trusts
Caddy's own CA)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.caddy import Caddy, start_caddy
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note


@pytest.fixture
def caddy(tmp_path: Path) -> Iterator[Any]:
    started: list[Caddy] = []

    def start(upstreams: list[ServerProcess]) -> Caddy:
        started.append(start_caddy(tmp_path, upstreams))
        return started[-1]

    yield start
    for proxy in started:
        proxy.stop()


async def test_two_processes_behind_the_sample_caddy(
    make_server: Any, pg_url: str, caddy: Any
) -> None:
    env = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SECRET_KEY": "deploy-test-secret",
        "COBORD_TRUSTED_PROXIES": "127.0.0.1",
    }
    first, second = make_server(pg_url, **env), make_server(pg_url, **env)
    front = caddy([first, second])
    tls = front.ssl_context()
    async with httpx.AsyncClient(base_url=front.origin, verify=tls) as http:
        r = await http.post("/api/boards", json={"title": "Derrière Caddy"})
        assert r.status_code == 201, r.text
        board = r.json()
        page = await http.get("/")
        assert page.status_code == 200 and "content-security-policy" in page.headers
    url = f"wss://localhost:{front.port}/ws/{board['id']}?token={board['facilitator_token']}"
    clients = [await YClient(url).connect(ssl=tls) for _ in range(4)]  # round robin: both
    await clients[0].change(add_note("n1", "via Caddy"))
    for client in clients:
        await client.wait_until(lambda c=client: "n1" in c.notes())
    for client in clients:
        await client.close()
    logs = first.log_path.read_text() + second.log_path.read_text()
    assert logs.count("[accepted]") >= 4
    assert first.log_path.read_text().count("[accepted]") >= 1
    assert second.log_path.read_text().count("[accepted]") >= 1  # no stickiness


async def test_a_killed_process_s_clients_reconnect_through_caddy_and_lose_nothing(
    make_server: Any, pg_url: str, caddy: Any
) -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "SECRET_KEY": "deploy-test-secret"}
    first, second = make_server(pg_url, **env), make_server(pg_url, **env)
    front = caddy([first, second])
    tls = front.ssl_context()
    async with httpx.AsyncClient(base_url=front.origin, verify=tls) as http:
        board = (await http.post("/api/boards", json={"title": "Panne"})).json()
    url = f"wss://localhost:{front.port}/ws/{board['id']}?token={board['facilitator_token']}"
    clients = [await YClient(url).connect(ssl=tls) for _ in range(4)]  # round robin: both
    for i, client in enumerate(clients):
        await client.change(add_note(f"n{i}", f"avant la panne {i}"))
    expected = {f"n{i}" for i in range(4)}
    for client in clients:  # acknowledged: every note reached every client, on both processes
        await client.wait_until(lambda c=client: expected <= set(c.notes()))
    first.kill()
    with pytest.raises(OSError):  # the dead process itself refuses connections...
        socket.create_connection(("127.0.0.1", first.port), timeout=2).close()
    # ... and Caddy skips it: every reconnect through the front lands on the survivor.
    again = [await YClient(url).connect(ssl=tls) for _ in range(4)]
    for client in again:
        await client.wait_until(lambda c=client: expected <= set(c.notes()))
    await again[0].change(add_note("after", "après la panne"))
    for client in again:
        await client.wait_until(lambda c=client: "after" in c.notes())
    for client in [*clients, *again]:
        await client.close()
