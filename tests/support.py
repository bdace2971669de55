"""Small test helpers shared by several test modules."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc

EMPTY_UPDATE = b"\x00\x00"


def service_missing(reason: str) -> None:
    """Skip a test whose real service (PostgreSQL, Redis, Chromium, Node) is not available.

    Under CI=true a missing service is a failure, never a silent skip.
    """
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service missing under CI=true: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` across processes: the suite's parallel workers (xdist)
    that would install the same node_modules at once (`npm ci` deletes what another is writing)
    take turns, and the second finds the first's install done. The lock file is outside the
    folder (npm ci empties node_modules), one per folder path."""
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"cobord-tests-{digest}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


async def decoded_events(
    http: Any, board_id: str, token: str, timeout: float = 10.0, **params: Any
) -> Any:
    """A page of `replay/events` once the background decoder has reached the board's last logged
    update (events are decoded after each commit, not by the request): waits on the condition
    `upto >= last_seq`, polling, and fails after `timeout` seconds."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    while True:
        timeline = await http.get(f"/api/boards/{board_id}/replay", headers=headers)
        assert timeline.status_code == 200, timeline.text
        page = await http.get(
            f"/api/boards/{board_id}/replay/events", params=params, headers=headers
        )
        assert page.status_code == 200, page.text
        body = page.json()
        if body["upto"] >= timeline.json()["last_seq"]:
            return body
        assert time.monotonic() < deadline, f"events decoded up to {body['upto']} only"
        await asyncio.sleep(0.02)


async def poll_until(check: Any, timeout: float = 10.0) -> None:
    """Poll an async condition until it holds, failing after `timeout` seconds: for state with no
    event to await (another process's, a background task's, a store's)."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 (nothing to await: the state is elsewhere)
            await asyncio.sleep(0.02)


def own_update(doc: Doc[Any], edit: Callable[[Doc[Any]], Any], origin: str = "local") -> bytes:
    """Edit `doc` in one transaction and return that transaction's own update: what a
    y-websocket provider sends (`doc.get_update(state)` would carry the whole doc's delete
    set, which lists every delete the doc has seen)."""
    built: list[bytes] = []
    subscription = doc.observe(lambda event: built.append(event.update))
    try:
        with doc.transaction(origin=origin):
            edit(doc)
    finally:
        doc.unobserve(subscription)
    return built[0] if built else EMPTY_UPDATE


async def drop_pubsub(admin: Any, pid: int | None = None, timeout: float = 10.0) -> int:
    """Drop the pub/sub connections of one process (default: this one) on the test Redis, by id,
    once it has one (it may still be reconnecting from the last drop). `CLIENT KILL TYPE pubsub`
    would drop every process's, those of the tests running beside this one (another xdist worker,
    another checkout's suite) too. Returns how many were dropped."""
    from server.scale.redis import client_name

    name = client_name(pid)
    ids: list[str] = []

    async def listening() -> bool:
        clients = await admin.client_list(_type="pubsub")
        ids[:] = [c["id"] for c in clients if c.get("name") == name]
        return bool(ids)

    await poll_until(listening, timeout)
    for client_id in ids:
        await admin.client_kill_filter(_id=client_id)
    return len(ids)
