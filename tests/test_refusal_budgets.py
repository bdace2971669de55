"""One contract for every `SharedBudgets` (server/live/refusals.py): the in-memory twin and Redis
(127.0.0.1:6379, real; several `RedisBudgets` are several processes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from server.live import refusals
from server.live.refusals import MemoryBudgets, RedisBudgets, RefusalBudgets, SharedBudgets
from tests.test_fanout import redis_or_skip

OpenBudgets = Callable[[], Awaitable[SharedBudgets]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def open_budgets(
    request: pytest.FixtureRequest, redis_pools: Callable[[], Redis]
) -> AsyncIterator[OpenBudgets]:
    opened: list[SharedBudgets] = []
    memory = MemoryBudgets()
    if request.param == "redis":
        await redis_or_skip()

    async def open_one() -> SharedBudgets:
        budgets: SharedBudgets = (
            memory if request.param == "memory" else RedisBudgets(redis_pools())
        )
        opened.append(budgets)
        return budgets

    yield open_one
    for budgets in opened:
        await budgets.close()


def board() -> str:
    return f"budgets-{uuid.uuid4().hex[:12]}"


async def test_one_burst_per_actor_and_board_whichever_process_spends(
    open_budgets: OpenBudgets,
) -> None:
    a, b = await open_budgets(), await open_budgets()
    board_id = board()
    assert await a.spend(board_id, "p-eve", 12)
    assert await b.spend(board_id, "p-eve", 8)  # the burst (20) spent across both
    assert not await a.spend(board_id, "p-eve")
    assert not await b.spend(board_id, "p-eve")
    assert await b.spend(board_id, "p-ana", int(refusals.BURST))  # another person
    assert await a.spend(board(), "p-eve")  # another board


async def test_simultaneous_spends_never_pass_the_burst(open_budgets: OpenBudgets) -> None:
    handles = [await open_budgets() for _ in range(4)]
    board_id = board()
    started = time.monotonic()
    answers = await asyncio.gather(
        *(handles[i % 4].spend(board_id, "p-eve") for i in range(2 * int(refusals.BURST)))
    )
    refilled = (time.monotonic() - started) * refusals.PER_SECOND  # (a loaded machine)
    assert refusals.BURST <= answers.count(True) <= refusals.BURST + refilled


def test_a_processes_table_follows_the_actor_and_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = RefusalBudgets()
    assert table.allows("p-eve")
    for _ in range(int(refusals.BURST)):
        assert table.of("p-eve").spend()
    assert not table.of("p-eve").spend()
    assert not table.allows("p-eve")  # a new socket of hers is closed at once
    assert table.allows("p-ana")
    monkeypatch.setattr(refusals, "MAX_TRACKED", 3)
    for actor in ("a", "b", "c", "d"):
        table.of(actor)  # full budgets: dropped first when the table is full
    assert not table.allows("p-eve")
