"""The hub in-process (memory store): single-flight loading, and unloaded boards are freed."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from pycrdt import Map

from server.fanout import MemoryBroker, MemoryFanout
from server.live.hub import Hub
from server.settings import Settings
from server.store.base import BoardRecord
from server.store.memory import MemoryStore


async def make_hub(boards: int) -> tuple[Hub, MemoryStore]:
    store = MemoryStore()
    await store.open()
    for i in range(boards):
        await store.boards.create_board(BoardRecord(f"b{i}", "t", f"CODE{i:02d}", 0.0, {}))
    hub = Hub(store, Settings(secret_key="test", idle_unload_seconds=0))
    await hub.start()
    return hub, store


async def test_joiners_of_a_loading_board_share_one_load() -> None:
    hub, _ = await make_hub(1)
    rooms = await asyncio.gather(*(hub.acquire("b0") for _ in range(20)))
    assert len({id(room) for room in rooms}) == 1
    for room in rooms:
        hub.release(room)
    await hub.close()


async def test_unloaded_rooms_and_their_docs_are_freed() -> None:
    """yrs observers hold their Python callbacks: a room must drop them or it is never freed."""
    hub, _ = await make_hub(10)
    refs: list[weakref.ref[Any]] = []
    for i in range(10):
        room = await hub.acquire(f"b{i}")
        await room.apply_server_change(
            lambda board: [
                board.notes_map.__setitem__(f"n{k}", Map({"text": "x"})) for k in range(20)
            ]
        )
        refs += [weakref.ref(room), weakref.ref(room.doc), weakref.ref(room.core.shadow_doc())]
        hub.release(room)
        del room
    await hub.unload_idle_now()
    gc.collect()
    assert not hub.rooms
    assert [ref for ref in refs if ref() is not None] == []
    await hub.close()


async def test_a_gap_is_repaired_even_when_own_commits_moved_last_seq_past_it() -> None:
    """Two hubs (two processes) on one store and one broker. A's messages are lost while both
    commit, interleaved: B's own commits move its last_seq past A's. The next message from A
    shows the gap; B's catch-up must read every seq it has not applied, not only after last_seq."""
    store = MemoryStore()
    await store.open()
    await store.boards.create_board(BoardRecord("b0", "t", "CODE00", 0.0, {}))
    broker = MemoryBroker()
    fan_a, fan_b = MemoryFanout(broker), MemoryFanout(broker)
    settings = Settings(secret_key="test", idle_unload_seconds=0)
    hub_a, hub_b = Hub(store, settings, fanout=fan_a), Hub(store, settings, fanout=fan_b)
    await hub_a.start()
    await hub_b.start()
    room_a, room_b = await hub_a.acquire("b0"), await hub_b.acquire("b0")

    def note(note_id: str) -> Any:
        return lambda board: board.notes_map.__setitem__(note_id, Map({"text": note_id}))

    fan_a.drop_next = 5
    for i in range(5):
        await room_a.apply_server_change(note(f"a{i}"))
        await room_b.apply_server_change(note(f"b{i}"))
    log_seqs = [r.seq for r in await store.log.updates_after("b0", 0)]
    assert room_b.last_seq == log_seqs[-1]  # B's own last commit: past all of A's
    assert not room_b.has_note("a0")  # really lost
    await room_a.apply_server_change(note("a-last"))  # number 6 arrives: 1..5 are missing
    assert hub_b.gaps == 1
    for task in list(hub_b._catch_ups.values()):
        await task
    assert all(room_b.has_note(f"a{i}") for i in range(5))
    for hub, room in ((hub_a, room_a), (hub_b, room_b)):
        hub.release(room)
        await hub.close()
