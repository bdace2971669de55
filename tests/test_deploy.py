"""The sample deploy: deploy/nginx.conf in front of two `cobord serve` on PostgreSQL + Redis.
Round robin, no sticky sessions: two clients land on different processes and see each other."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, ServerProcess, free_port
from tests.support import service_missing
from tests.yclient import YClient, add_note

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Any]:
    if NGINX is None:
        service_missing("nginx is not installed (apt-get install nginx-light)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(upstreams: list[ServerProcess]) -> str:
        port = free_port()
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        conf = conf.replace("cobord1:8000", f"127.0.0.1:{upstreams[0].port}")
        conf = conf.replace("cobord2:8000", f"127.0.0.1:{upstreams[1].port}")
        conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
        conf = conf.replace("/dev/stdout", str(tmp_path / "access.log"))
        head = f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        temp = "".join(
            f"    {name}_temp_path {tmp_path}/{name};\n"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = head + conf.replace("http {\n", "http {\n" + temp, 1)
        path = tmp_path / "nginx.conf"
        path.write_text(conf)
        check = subprocess.run(
            [NGINX, "-t", "-c", str(path), "-p", str(tmp_path)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        procs.append(
            subprocess.Popen([NGINX, "-c", str(path), "-p", str(tmp_path), "-g", "daemon off;"])
        )
        deadline = time.monotonic() + 10
        while True:  # nginx prints nothing when ready: wait until its socket accepts
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or procs[-1].poll() is not None:
                    raise
        return f"127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


async def test_two_processes_behind_the_sample_nginx(
    make_server: Any, pg_url: str, nginx: Any
) -> None:
    env = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SECRET_KEY": "deploy-test-secret",
        "COBORD_TRUSTED_PROXIES": "127.0.0.1",
    }
    first, second = make_server(pg_url, **env), make_server(pg_url, **env)
    front = nginx([first, second])
    async with httpx.AsyncClient(base_url=f"http://{front}") as http:
        r = await http.post("/api/boards", json={"title": "Derrière nginx"})
        assert r.status_code == 201, r.text
        board = r.json()
        page = await http.get("/")
        assert page.status_code == 200 and "content-security-policy" in page.headers
    url = f"ws://{front}/ws/{board['id']}?token={board['facilitator_token']}"
    clients = [await YClient(url).connect() for _ in range(4)]  # round robin: both processes
    await clients[0].change(add_note("n1", "via nginx"))
    for client in clients:
        await client.wait_until(lambda c=client: "n1" in c.notes())
    for client in clients:
        await client.close()
    logs = first.log_path.read_text() + second.log_path.read_text()
    assert logs.count("[accepted]") >= 4
    assert first.log_path.read_text().count("[accepted]") >= 1
    assert second.log_path.read_text().count("[accepted]") >= 1  # no stickiness


async def test_a_killed_process_s_clients_reconnect_through_nginx_and_lose_nothing(
    make_server: Any, pg_url: str, nginx: Any
) -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "SECRET_KEY": "deploy-test-secret"}
    first, second = make_server(pg_url, **env), make_server(pg_url, **env)
    front = nginx([first, second])
    async with httpx.AsyncClient(base_url=f"http://{front}") as http:
        board = (await http.post("/api/boards", json={"title": "Panne"})).json()
    url = f"ws://{front}/ws/{board['id']}?token={board['facilitator_token']}"
    clients = [await YClient(url).connect() for _ in range(4)]  # round robin: both processes
    for i, client in enumerate(clients):
        await client.change(add_note(f"n{i}", f"avant la panne {i}"))
    expected = {f"n{i}" for i in range(4)}
    for client in clients:  # acknowledged: every note reached every client, on both processes
        await client.wait_until(lambda c=client: expected <= set(c.notes()))
    first.kill()
    with pytest.raises(OSError):  # the dead process itself refuses connections...
        socket.create_connection(("127.0.0.1", first.port), timeout=2).close()
    # ... and nginx skips it: every reconnect through the front lands on the survivor.
    again = [await YClient(url).connect() for _ in range(4)]
    for client in again:
        await client.wait_until(lambda c=client: expected <= set(c.notes()))
    await again[0].change(add_note("after", "après la panne"))
    for client in again:
        await client.wait_until(lambda c=client: "after" in c.notes())
    for client in [*clients, *again]:
        await client.close()
