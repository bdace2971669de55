"""The hub in-process (memory store): single-flight loading, and unloaded boards are freed."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from pycrdt import Map

from server.hub import Hub
from server.settings import Settings
from server.store.base import BoardRecord
from server.store.memory import MemoryStore


async def make_hub(boards: int) -> tuple[Hub, MemoryStore]:
    store = MemoryStore()
    await store.open()
    for i in range(boards):
        await store.create_board(BoardRecord(f"b{i}", "t", f"CODE{i:02d}", 0.0, {}))
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
        refs += [weakref.ref(room), weakref.ref(room.doc), weakref.ref(room.shadow)]
        hub.release(room)
        del room
    await hub.unload_idle_now()
    gc.collect()
    assert not hub.rooms
    assert [ref for ref in refs if ref() is not None] == []
    await hub.close()
