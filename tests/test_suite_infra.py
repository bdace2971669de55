"""The suite's machinery where parallel workers could trip over each other (tests/conftest.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.conftest import ServerProcess


def test_a_server_whose_port_was_taken_starts_on_another(tmp_path: Path) -> None:
    """Between `free_port()` and the server's bind, a test running beside it may take the port (a
    client socket's ephemeral port): the server fails to bind, and its first start tries again on
    a new port instead of failing the test."""
    log = tmp_path / "server.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        proc = ServerProcess(f"sqlite+aiosqlite:///{tmp_path}/cobord.db", {}, log)
        proc.port = port
        try:
            proc.start()
            assert proc.port != port
            assert b"address already in use" in log.read_bytes()  # the failure did happen
            assert httpx.get(f"{proc.http}/healthz").status_code == 200
        finally:
            proc.stop()
