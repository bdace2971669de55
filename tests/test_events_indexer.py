"""The "who did what" feed is decoded after each commit by a background task, never by a request."""

from __future__ import annotations

import dataclasses
import gc
import time
import weakref
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Map

from server.events import CLAIM_SECONDS, EventIndexer
from server.live.hub import Hub
from server.scale import claims as claims_module
from server.scale.claims import MemoryClaims
from server.settings import Settings
from server.store import make_store
from server.store.base import BoardRecord
from server.store.log import NewUpdate
from server.store.memory import MemoryStore
from tests.support import decoded_events, poll_until


async def test_events_are_stored_after_each_commit_and_decoded_once() -> None:
    store = MemoryStore()
    await store.open()
    await store.boards.create_board(BoardRecord("b1", "t", "CODE01", 0.0, {}))
    hub = Hub(store, Settings(secret_key="test", idle_unload_seconds=0))
    indexer = EventIndexer(store)
    hub.services = dataclasses.replace(hub.services, on_commit=indexer.notify)
    await hub.start()
    indexer.start()
    room = await hub.acquire("b1")
    try:
        for i in range(3):
            await room.apply_server_change(
                lambda board, i=i: board.notes_map.__setitem__(f"n{i}", Map({"text": f"{i}"}))
            )
            # No request asks for the feed: the commit alone gets the update decoded.
            await poll_until(lambda: _cursor_is(store, room.last_seq))
        found = await store.events.events_after("b1", 0, 100)
        # (a note the server itself puts on the board is one it puts back: "restored")
        assert [(e.kind, e.target, e.actor) for e in found] == [
            ("restored", "n0", "server"),
            ("restored", "n1", "server"),
            ("restored", "n2", "server"),
        ]
        # The decoder was kept between commits: each update was decoded exactly once.
        assert indexer.decoded == room.last_seq
    finally:
        hub.release(room)
        await hub.close()
        await indexer.close()


async def test_two_processes_indexing_by_turns_bring_their_decoders_forward() -> None:
    """With several processes each indexes after its own commits, so the stored cursor moves by
    turns: a process's decoder is then behind it, and is brought forward by the updates in
    between instead of being rebuilt from the keyframe (a whole board) at every step."""
    store = MemoryStore()
    await store.open()
    await store.boards.create_board(BoardRecord("b1", "t", "CODE01", 0.0, {}))
    first, second = EventIndexer(store), EventIndexer(store)
    doc: Doc[Any] = Doc()
    notes = doc.get("notes", type=Map)
    for i in range(6):
        before = doc.get_state()
        notes[f"n{i}"] = Map({"text": f"{i}", "x": 0.0, "y": 0.0})
        update = NewUpdate(time.time(), "facilitator", doc.get_update(before))
        await store.log.append_updates("b1", [update])
        assert await (first, second)[i % 2].step("b1") is False
    found = await store.events.events_after("b1", 0, 100)
    assert [(e.kind, e.target) for e in found] == [("note_added", f"n{i}") for i in range(6)]
    assert (first.rebuilt, second.rebuilt) == (1, 1)  # each built once, then brought forward
    assert (first.decoded, second.decoded) == (3, 3)  # each stored its own turns' events


async def test_with_several_processes_one_indexes_a_board(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both processes are told of every commit; the one that claimed the board decodes it, the
    other leaves it (before the claim each decoded every update: its own turns, and the other's
    to bring its decoder forward). When the owner stops stepping its claim lapses and the other
    takes over; a process waiting for the feed (an export) steps itself."""
    store = MemoryStore()
    await store.open()
    await store.boards.create_board(BoardRecord("b1", "t", "CODE01", 0.0, {}))
    shared = MemoryClaims(CLAIM_SECONDS)  # what Redis is to two processes
    first, second = EventIndexer(store, claims=shared), EventIndexer(store, claims=shared)
    doc: Doc[Any] = Doc()
    notes = doc.get("notes", type=Map)

    async def commit(i: int) -> None:
        before = doc.get_state()
        notes[f"n{i}"] = Map({"text": f"{i}", "x": 0.0, "y": 0.0})
        await store.log.append_updates("b1", [NewUpdate(time.time(), "p", doc.get_update(before))])

    for i in range(6):  # each commit is told to both; who steps first alternates
        await commit(i)
        for indexer in (first, second) if i % 2 == 0 else (second, first):
            assert await indexer.step("b1") is False
    # Without the claim: (3, 3, 0), and each brought its decoder forward over the other's three.
    assert (first.decoded, second.decoded, second.left) == (6, 0, 6)
    assert (first.rebuilt, second.rebuilt) == (1, 0)
    # The owner stops (its process went away): its claim lapses, the other indexes from there.
    now = claims_module.time.monotonic()
    monkeypatch.setattr(claims_module.time, "monotonic", lambda: now + CLAIM_SECONDS + 1)
    await commit(6)
    assert await second.step("b1") is False
    assert (second.decoded, await first.step("b1"), first.left) == (1, False, 1)
    # An export on the process that does not own the board waits for the feed: it steps itself.
    await commit(7)
    first.start()
    try:
        assert await first.settled("b1") is True
    finally:
        await first.close()
    found = await store.events.events_after("b1", 0, 100)
    assert [(e.kind, e.target) for e in found] == [("note_added", f"n{i}") for i in range(8)]


async def _cursor_is(store: MemoryStore, seq: int) -> bool:
    return await store.events.event_cursor("b1") >= seq


async def test_an_events_request_reads_only_what_is_decoded(make_server: Any) -> None:
    """A log the server never decoded (written while it was down): the events request answers at
    once with what is stored (nothing) and does not decode; the background task does."""
    server = make_server()
    board = server.create_board(title="Long")
    server.stop()
    store = make_store(server.database_url)
    await store.open()
    doc: Doc[Any] = Doc()
    notes = doc.get("notes", type=Map)
    updates = []
    for i in range(300):
        before = doc.get_state()
        notes[f"n{i}"] = Map({"text": f"idée {i}", "x": 0.0, "y": 0.0})
        updates.append(NewUpdate(time.time(), "facilitator", doc.get_update(before)))
    decoded_before = await store.events.event_cursor(board["id"])  # the board's creation, maybe
    seqs = await store.log.append_updates(board["id"], updates)
    await store.close()
    server.start()
    fac = {"Authorization": f"Bearer {board['facilitator_token']}"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get(f"/api/boards/{board['id']}/replay/events", headers=fac)
        assert r.status_code == 200
        first = r.json()
        assert first["upto"] == decoded_before < seqs[0]
        assert all(e["seq"] <= decoded_before for e in first["events"])
        assert not [e for e in first["events"] if e["kind"] == "note_added"]
        # The timeline notices the undecoded tail and hands it to the background task.
        page = await decoded_events(http, board["id"], board["facilitator_token"], limit=1000)
        added = [e["note_id"] for e in page["events"] if e["kind"] == "note_added"]
        assert added == [f"n{i}" for i in range(300)]


async def test_a_decoder_out_of_the_cache_is_freed() -> None:
    """A decoder's observers live in yrs and hold it: one evicted from the cache (or forgotten)
    is closed, or every board indexed once would stay in memory for good."""
    store = MemoryStore()
    await store.open()
    indexer = EventIndexer(store, cached_decoders=1)
    doc: Doc[Any] = Doc()
    notes = doc.get("notes", type=Map)
    for board_id in ("b1", "b2"):
        await store.boards.create_board(BoardRecord(board_id, "t", f"CODE{board_id}", 0.0, {}))
        before = doc.get_state()
        notes[board_id] = Map({"text": "x"})
        update = NewUpdate(time.time(), "p1", doc.get_update(before))
        await store.log.append_updates(board_id, [update])
    await indexer.step("b1")
    first = weakref.ref(indexer._decoders["b1"][1])
    await indexer.step("b2")  # evicts b1's
    gc.collect()
    assert first() is None
    second = weakref.ref(indexer._decoders["b2"][1])
    indexer.forget("b2")
    gc.collect()
    assert second() is None
