"""A served process leaves its start-up objects out of the garbage collector's full passes (#17).

A full pass walks every tracked object and stops the whole process meanwhile: with the ~100,000
objects start-up makes (modules, classes, functions, SQLAlchemy's tables) it took 50-60 ms during a
400-client workshop, every delivery in flight waiting. `cobord serve` freezes them before serving
(server/cli.py); /metrics says how many were frozen and how many passes each generation made.
"""

from __future__ import annotations

import gc
import weakref

import httpx

from server import cli
from tests.conftest import ServerProcess


def gauges(server: ServerProcess) -> dict[str, float]:
    text = httpx.get(f"{server.http}/metrics").text
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines())
        if name.startswith("cobord_gc_")
    }


def test_the_served_process_froze_what_start_up_made(server: ServerProcess) -> None:
    metrics = gauges(server)
    assert metrics["cobord_gc_frozen_objects"] > 20_000
    assert set(metrics) >= {
        'cobord_gc_collections_total{generation="0"}',
        'cobord_gc_collections_total{generation="2"}',
    }


def test_freezing_collects_garbage_first_and_leaves_later_objects_to_the_collector() -> None:
    """What is unreachable when the process freezes is collected, not kept forever; what is made
    afterwards is collected as before."""

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    def garbage() -> weakref.ref[Cycle]:
        return weakref.ref(Cycle())  # unreachable, kept alive by its own reference

    gc.disable()  # no pass of its own between the lines below
    try:
        before_freeze = garbage()
        assert before_freeze() is not None  # only a pass of the collector frees it
        cli.freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert before_freeze() is None  # collected, not frozen
        after_freeze = garbage()
        gc.collect()
        assert after_freeze() is None
    finally:
        gc.unfreeze()  # the test process keeps collecting everything
        gc.enable()
