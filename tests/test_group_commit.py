"""Natural group commit, the default (#17): when a room commits, and what shares a client's write.

One room in process (MemoryStore, one MemoryFanout), a viewer whose socket takes every frame
straight (`writes`: one entry per socket write) and participants sending updates. A commit can
be made to hang (`gate`) to hold it in flight. Counted in commits and writes, never timed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import protocol
from crdt.awareness import encode as encode_awareness
from crdt.rules import Actor
from server.fanout import MemoryFanout
from server.live.hub import Hub
from server.live.outbox import Outbox
from server.live.room import Connection, Room
from server.settings import Settings
from server.store import MemoryStore
from server.store.base import BoardRecord
from tests.support import own_update
from tests.test_wire import frames_of


async def _unused(message: Any) -> None:
    raise AssertionError(f"went through the queue: {message}")


class Board:
    """A room, a viewer that records its writes, and writers with a doc each."""

    def __init__(self, hub: Hub, room: Room, viewer: Connection, writes: list[bytes]) -> None:
        self.hub, self.room, self.viewer, self.writes = hub, room, viewer, writes
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()
        self.writers: list[tuple[Connection, Doc[Any]]] = []
        self.on_write: list[Any] = []  # called (once each) at the viewer's next write

    @classmethod
    async def start(cls, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Board:
        store = MemoryStore()
        await store.open()
        await store.boards.create_board(BoardRecord("b0", "t", "CODE00", 0.0, {}))
        hub = Hub(
            store,
            Settings(secret_key="test", idle_unload_seconds=0, **settings),
            fanout=MemoryFanout(),
        )
        await hub.start()
        room = await hub.acquire("b0")
        writes: list[bytes] = []

        def wire(frame: bytes) -> bool:
            writes.append(frame)
            while board.on_write:
                board.on_write.pop()()
            return True

        viewer = Connection(Actor("viewer", "v"), Outbox(_unused, 100, 1 << 20, wire))
        board = cls(hub, room, viewer, writes)
        append = store.log.append_updates

        async def gated(board_id: str, updates: Any) -> list[int]:
            board.entered.set()
            await board.gate.wait()
            return await append(board_id, updates)

        monkeypatch.setattr(store.log, "append_updates", gated)
        room.join(viewer)
        for i in range(3):
            conn = Connection(
                Actor("participant", f"p{i}", f"P{i}"), Outbox(_unused, 100, 1 << 20, _none)
            )
            room.join(conn)
            board.writers.append((conn, Doc()))
        writes.clear()  # the viewer's first sync
        return board

    def update(self, i: int, text: str) -> bytes:
        doc = self.writers[i][1]
        data = own_update(
            doc, lambda d: d.get("notes", type=Map).__setitem__(f"n-{text}", Map({"text": text}))
        )
        return protocol.encode(protocol.Update(data))

    def send(self, i: int, text: str) -> None:
        self.room.receive(self.writers[i][0], self.update(i, text))

    async def settled(self) -> None:
        """Until nothing is queued nor being committed (the committer runs on this loop)."""
        room = self.room
        while room.core.queued():  # noqa: ASYNC110 (nothing to await but the committer's turns)
            await asyncio.sleep(0)

    async def close(self) -> None:
        self.room.leave(self.viewer)
        for conn, _ in self.writers:
            self.room.leave(conn)
        self.hub.release(self.room)
        await self.hub.close()


def _none(_frame: bytes) -> bool:
    return True


def texts(writes: list[bytes]) -> list[list[str]]:
    """The notes' texts each write brought, in order (a doc fed every frame)."""
    doc: Doc[Any] = Doc()
    seen = []
    for write in writes:
        for frame in frames_of(write):
            message = protocol.decode(frame)
            if isinstance(message, protocol.Update):
                doc.apply_update(message.update)
        notes = doc.get("notes", type=Map).to_py() or {}
        seen.append(sorted(note["text"] for note in notes.values()))
    return seen


def test_natural_group_commit_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COBORD_BATCH_WINDOW_MS", raising=False)
    monkeypatch.delenv("COBORD_RELAY_WINDOW_MS", raising=False)
    settings = Settings.from_env(secret_key="x")
    assert (settings.batch_window_ms, settings.relay_window_ms) == (0, 25)


async def test_what_arrives_during_a_commit_is_the_next_batch_one_write_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first update goes at once (no window to wait for); the three sent while its commit is
    in flight are ONE commit and ONE write to the viewer."""
    board = await Board.start(monkeypatch)
    board.gate.clear()
    board.send(0, "a")
    await board.entered.wait()  # committing "a" alone
    board.send(0, "b")
    board.send(1, "c")
    board.send(2, "d")
    board.gate.set()
    await board.settled()
    assert list(board.room.metrics.commit_sizes) == [1, 3]
    assert texts(board.writes) == [["a"], ["a", "b", "c", "d"]]
    await board.close()


async def test_after_a_quiet_spell_an_update_is_committed_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No timer and no extra turns when the board was idle: the committer starts the commit in
    the loop turn after the update came (the turns that gather a batch are for a busy board)."""
    board = await Board.start(monkeypatch)
    for text in ("a", "b"):  # the second comes after the first's commit, the board idle again
        board.entered.clear()
        board.send(0, text)
        await asyncio.sleep(0)
        assert board.entered.is_set()
        await board.settled()
    assert list(board.room.metrics.commit_sizes) == [1, 1]
    await board.close()


async def test_updates_read_during_a_commits_broadcast_join_the_next_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An update that reaches its socket while the room writes a commit's frame is read within
    two turns of the loop (the socket's callback, then its reader task: two hops here). The
    committer lets the loop have those turns before it takes the next batch, so that update
    joins the one already waiting: commits [1, 2], not [1, 1, 1] (what the room did before)."""
    board = await Board.start(monkeypatch)
    loop = asyncio.get_running_loop()
    board.gate.clear()
    board.send(0, "a")
    await board.entered.wait()
    board.send(1, "b")  # waits for "a"'s commit
    late = board.update(2, "c")
    board.on_write.append(
        lambda: loop.call_soon(loop.call_soon, board.room.receive, board.writers[2][0], late)
    )
    board.gate.set()
    await board.settled()
    assert list(board.room.metrics.commit_sizes) == [1, 2]
    assert texts(board.writes) == [["a"], ["a", "b", "c"]]
    await board.close()


async def test_presence_waits_for_the_next_commit_and_shares_its_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within the relay window of the last frames out, a presence frame is held and goes out
    with the next commit's frame, in one write; after a quiet spell it goes at once."""
    board = await Board.start(monkeypatch, relay_window_ms=60_000)
    room, writes = board.room, board.writes
    conn = board.writers[1][0]
    room.receive(conn, _presence(7, 1, "x"))  # the first frame out: at once
    assert len(writes) == 1
    room.receive(conn, _presence(7, 2, "y"))  # within the window: held
    assert len(writes) == 1
    board.send(0, "a")
    await board.settled()
    assert len(writes) == 2
    kinds = [type(protocol.decode(f)).__name__ for f in frames_of(writes[1])]
    assert kinds == ["Awareness", "Update"]
    await board.close()


async def test_held_presence_goes_out_at_the_windows_end_without_a_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No commit comes: the held frames go out at the end of the relay window, together."""
    board = await Board.start(monkeypatch, relay_window_ms=200)
    room, writes = board.room, board.writes
    conn = board.writers[1][0]
    second = asyncio.Event()
    room.receive(conn, _presence(7, 1, "x"))
    assert len(writes) == 1
    board.on_write.append(second.set)
    room.receive(conn, _presence(7, 2, "y"))
    room.receive(conn, _presence(7, 3, "z"))
    assert len(writes) == 1
    async with asyncio.timeout(30):
        await second.wait()
    assert len(writes) == 2 and len(frames_of(writes[1])) == 2
    await board.close()


def _presence(client_id: int, clock: int, where: str) -> bytes:
    return encode_awareness([protocol.AwarenessState(client_id, clock, {"cursor": where})])
