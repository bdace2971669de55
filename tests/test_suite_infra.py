"""The suite's machinery where parallel workers could trip over each other (tests/conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, ServerProcess, free_port, worker_ports


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


def test_a_grouped_test_carries_its_group_to_the_scheduler() -> None:
    """`--dist loadgroup` keeps a group in one worker only if the group reaches the scheduler in
    the test's node id (`id@group`); with pytest 9 and xdist 3.8 it did not (tests/conftest.py
    `_name_group_in_node_id`), and every grouped file was spread over the workers."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "1",
            "-v",
            "-p",
            "no:cacheprovider",
            "tests/test_client_types.py::test_every_client_module_says_ts_check",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASSED tests/test_client_types.py::test_every_client_module_says_ts_check@tsc" in (
        done.stdout
    ), done.stdout[-3000:]


def test_each_worker_has_its_own_ports_outside_the_kernels_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A killed Redis or server is started again on its port; until then no other worker, and no
    client socket (the kernel's ephemeral range), may be handed that port."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    blocks = []
    for worker in ("gw0", "gw1", "gw2", "gw3"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        blocks.append(set(worker_ports()))
        port = free_port()
        assert port in blocks[-1]
    assert all(a.isdisjoint(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
    assert max(max(b) for b in blocks) < low or min(min(b) for b in blocks) > high
