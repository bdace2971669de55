"""One contract for every `Slots` (server/scale/slots.py): the in-memory twin and Redis
(127.0.0.1:6379, real; several `RedisSlots` are several processes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from server.scale.slots import Caps, MemorySlots, RedisSlots, Slots, slot_for
from tests.support import poll_until
from tests.test_fanout import redis_or_skip

OpenSlots = Callable[[], Awaitable[Slots]]
CAPS = Caps(per_token=4, per_address=10, per_board=12)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def open_slots(
    request: pytest.FixtureRequest, redis_pools: Callable[[], Redis]
) -> AsyncIterator[OpenSlots]:
    opened: list[Slots] = []
    memory = MemorySlots()
    if request.param == "redis":
        await redis_or_skip()

    async def open_one() -> Slots:
        slots: Slots = memory if request.param == "memory" else RedisSlots(redis_pools(), ttl=30)
        await slots.start()
        opened.append(slots)
        return slots

    yield open_one
    for slots in opened:
        await slots.close()


def board() -> str:
    return f"slots-{uuid.uuid4().hex[:12]}"


def sid() -> str:
    return uuid.uuid4().hex


async def test_a_token_gets_four_sockets_whichever_process_and_no_fifth(
    open_slots: OpenSlots,
) -> None:
    a, b = await open_slots(), await open_slots()
    board_id = board()
    eve = [slot_for(board_id, sid(), "participant", "p-eve", "10.0.0.9", CAPS) for _ in range(6)]
    assert [await (a if i % 2 else b).take(s, CAPS) for i, s in enumerate(eve[:4])] == [None] * 4
    assert await a.take(eve[4], CAPS) == "token"
    assert await b.take(eve[5], CAPS) == "token"
    ana = slot_for(board_id, sid(), "participant", "p-ana", "10.0.0.9", CAPS)
    assert await b.take(ana, CAPS) is None  # another person, same address: in
    await a.give_back(eve[1])  # one of Eve's sockets closes: a slot for her again
    assert await b.take(eve[4], CAPS) is None
    assert await a.take(eve[5], CAPS) == "token"


async def test_an_address_and_a_board_are_capped_and_the_facilitator_always_gets_in(
    open_slots: OpenSlots,
) -> None:
    a, b = await open_slots(), await open_slots()
    board_id = board()
    for i in range(10):  # ten people behind one NAT
        person = slot_for(board_id, sid(), "participant", f"p-{i}", "192.0.2.1", CAPS)
        assert await (a, b)[i % 2].take(person, CAPS) is None
    eleventh = slot_for(board_id, sid(), "participant", "p-10", "192.0.2.1", CAPS)
    assert await a.take(eleventh, CAPS) == "address"
    viewer = slot_for(board_id, sid(), "viewer", "viewer", "192.0.2.1", CAPS)
    assert await b.take(viewer, CAPS) == "address"  # viewers count per address too
    for i in range(2):
        other = slot_for(board_id, sid(), "participant", f"q-{i}", f"198.51.100.{i}", CAPS)
        assert await b.take(other, CAPS) is None
    late = slot_for(board_id, sid(), "participant", "q-9", "198.51.100.9", CAPS)
    assert await a.take(late, CAPS) == "board"
    for _ in range(CAPS.per_board):  # not counted against the board or the address
        facilitator = slot_for(board_id, sid(), "facilitator", "facilitator", "192.0.2.1", CAPS)
        assert await (a, b)[_ % 2].take(facilitator, CAPS) is None
    one_more = slot_for(board_id, sid(), "facilitator", "facilitator", "192.0.2.1", CAPS)
    assert await a.take(one_more, CAPS) == "token"
    elsewhere = slot_for(board(), sid(), "participant", "p-0", "192.0.2.1", CAPS)
    assert await a.take(elsewhere, CAPS) is None  # another board: its own counts


async def test_simultaneous_takes_never_pass_a_cap(open_slots: OpenSlots) -> None:
    handles = [await open_slots() for _ in range(4)]
    board_id = board()
    slots = [slot_for(board_id, sid(), "participant", "p-eve", "10.0.0.1", CAPS) for _ in range(40)]
    answers = await asyncio.gather(
        *(handles[i % 4].take(slot, CAPS) for i, slot in enumerate(slots))
    )
    assert answers.count(None) == CAPS.per_token
    assert set(answers) == {None, "token"}


@pytest.mark.redis
async def test_the_slots_of_a_process_that_died_free_themselves(
    redis_pools: Callable[[], Redis],
) -> None:
    await redis_or_skip()
    dying, alive = RedisSlots(redis_pools(), ttl=1.0), RedisSlots(redis_pools(), ttl=1.0)
    await alive.start()
    await dying.start()
    board_id = board()
    held = [slot_for(board_id, sid(), "participant", "p-eve", "10.0.0.1", CAPS) for _ in range(4)]
    for slot in held:
        assert await dying.take(slot, CAPS) is None
    live = slot_for(board_id, sid(), "participant", "p-eve", "10.0.0.1", CAPS)
    assert await alive.take(live, CAPS) == "token"
    # SIGKILL: no give_back, no close; its refresh stops.
    assert dying._task is not None
    dying._task.cancel()

    taken: list[object] = []

    async def four_free() -> bool:
        slot = slot_for(board_id, sid(), "participant", "p-eve", "10.0.0.1", CAPS)
        if await alive.take(slot, CAPS) is None:
            taken.append(slot)
        return len(taken) == CAPS.per_token

    await poll_until(four_free, timeout=10.0)  # within the ttl (1 s) and a refresh
    assert await alive.take(live, CAPS) == "token"
    await alive.close()  # the dying one's pool is closed by the fixture, as at a process's death
