"""An owned task that fails is said in the log, once, by name: its owner only awaits it on close
(server/live/tasks.py), and `join`/`close` do not raise what it raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.live.tasks import TaskSet


async def test_a_failed_task_is_logged_once_by_name_and_close_still_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = TaskSet()
    started = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("store gone")

    async def waits() -> None:
        started.set()
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="cobord.tasks"):
        failed = tasks.start(fails(), "unload:b1")
        tasks.start(waits(), "catch-up:b2")
        await started.wait()
        with pytest.raises(RuntimeError):
            await failed
        await tasks.close()  # cancels the waiting one: a cancellation is not a failure
    records = [r for r in caplog.records if r.name == "cobord.tasks"]
    assert [r.getMessage() for r in records] == ["task unload:b1 failed"]
    assert records[0].exc_info is not None and str(records[0].exc_info[1]) == "store gone"
    assert len(tasks) == 0
