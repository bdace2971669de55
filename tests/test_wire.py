"""The fast path for broadcast frames (server/http/wire.py, server/live/outbox.py): a frame encoded
once goes straight to each socket while the socket takes it, through the queue when it does not,
and a client gets every frame exactly once and in order across the switch (real uvicorn with the
server's WebSocket protocol class, real sockets, a real websockets client). Frames relayed from
another process while a commit is in flight share the commit's write (server/live/room.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest
import uvicorn
import websockets
from pycrdt import Doc, Map
from websockets.frames import Frame, Opcode

from crdt import protocol
from crdt.rules import Actor
from server.fanout import MemoryBroker, MemoryFanout
from server.http.wire import EXTENSION, WireWebSocketProtocol
from server.live import room as room_module
from server.live.hub import Hub
from server.live.outbox import Outbox, binary_frame
from server.live.room import Connection, Room
from server.settings import Settings
from server.store.base import BoardRecord
from server.store.memory import MemoryStore
from tests.conftest import free_port

PAYLOAD = 10_000
FIRST = 2_000  # 20 MB: more than the loopback socket buffers hold, so the transport pauses
SECOND = 5  # 50 KB: under the transport's high-water mark (64 KiB) even if the kernel took none


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65_535, 65_536, 300_000])
def test_a_frame_encoded_once_is_what_websockets_sends(length: int) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    assert binary_frame(payload) == Frame(Opcode.BINARY, payload).serialize(mask=False)


class Fanout:
    """An ASGI app that puts numbered frames into one connection's outbox, as a room does."""

    def __init__(self) -> None:
        self.had_wire: bool | None = None
        self.written: list[int] = [0, 0]  # frames written straight / refused (queued), per phase
        self.phase_written: list[list[int]] = []
        self.read_first = asyncio.Event()  # the client has read the first phase
        self.done = asyncio.Event()

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: Any, send: Any
    ) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        wire = scope["extensions"].get(EXTENSION)
        self.had_wire = wire is not None
        counts = [0, 0]

        def counted(frame: bytes) -> bool:
            written = bool(wire(frame))
            counts[0 if written else 1] += 1
            return written

        outbox = Outbox(send, 10 * (FIRST + SECOND), 1 << 30, counted if wire else None)
        writer = asyncio.create_task(outbox.run())
        seq = 0
        for count in (FIRST, SECOND):
            for _ in range(count):
                payload = seq.to_bytes(4, "big") + b"x" * PAYLOAD
                outbox.put(payload, binary_frame(payload))
                seq += 1
            self.phase_written.append(list(counts))
            counts[:] = [0, 0]
            if count == FIRST:
                await self.read_first.wait()
        outbox.close(1000, "done")
        await writer
        await self.done.wait()


@pytest.fixture
async def serving() -> AsyncIterator[tuple[Fanout, str]]:
    app = Fanout()
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws=WireWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_max_size=1 << 24,
        lifespan="off",
        log_config=None,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup()  # returns once it listens
    try:
        yield app, f"ws://127.0.0.1:{port}/"
    finally:
        app.done.set()
        await server.shutdown()


async def test_frames_go_straight_to_the_socket_then_queue_in_order(
    serving: tuple[Fanout, str],
) -> None:
    app, url = serving
    received: list[int] = []
    async with websockets.connect(url, max_size=None, max_queue=1, compression=None) as client:
        async with asyncio.timeout(60):
            while len(received) < FIRST:
                frame = await client.recv()
                assert isinstance(frame, bytes) and len(frame) == 4 + PAYLOAD
                received.append(int.from_bytes(frame[:4], "big"))
            app.read_first.set()
            with pytest.raises(websockets.ConnectionClosedOK) as closed:
                while True:
                    frame = await client.recv()
                    assert isinstance(frame, bytes)
                    received.append(int.from_bytes(frame[:4], "big"))
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1000, "done")
    assert app.had_wire is True
    assert received == list(range(FIRST + SECOND))  # each once, in order
    (direct, queued), (direct_after, queued_after) = app.phase_written
    # The socket took frames until its buffers filled; the rest queued behind the writer (a
    # refused write is counted once, then every later frame queues without trying).
    assert direct > 0 and queued == 1
    # Once the writer had drained the queue, frames went straight to the socket again.
    assert (direct_after, queued_after) == (SECOND, 0)


def frames_of(data: bytes) -> list[bytes]:
    """The payloads of unmasked binary frames written one after the other."""
    frames = []
    while data:
        assert data[0] == 0x82
        length, start = data[1], 2
        if length == 126:
            length, start = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(data[2:10], "big"), 10
        frames.append(data[start : start + length])
        data = data[start + length :]
    return frames


class GatedPair:
    """Two processes of board b0 (two hubs on one in-process broker) and a viewer on B whose
    socket takes every frame straight (`writes`); B's next append can be made to hang until
    `gate` is set (B's commit in flight)."""

    def __init__(
        self, hubs: list[Hub], rooms: list[Room], conn: Connection, writes: list[bytes]
    ) -> None:
        self.hubs, self.conn, self.writes = hubs, conn, writes
        self.room_a, self.room_b = rooms
        self.gate, self._entered, self._armed = asyncio.Event(), asyncio.Event(), False

    @classmethod
    async def start(cls, monkeypatch: pytest.MonkeyPatch) -> GatedPair:
        store = MemoryStore()
        await store.open()
        await store.boards.create_board(BoardRecord("b0", "t", "CODE00", 0.0, {}))
        broker = MemoryBroker()
        settings = Settings(
            secret_key="test", idle_unload_seconds=0, batch_window_ms=0, relay_window_ms=0
        )
        hubs = [Hub(store, settings, fanout=MemoryFanout(broker)) for _ in range(2)]
        for hub in hubs:
            await hub.start()
        rooms = [await hub.acquire("b0") for hub in hubs]

        async def refused(message: Any) -> None:
            raise AssertionError(f"went through the queue: {message}")

        writes: list[bytes] = []

        def wire(frame: bytes) -> bool:
            writes.append(frame)
            return True

        conn = Connection(Actor("viewer", "v"), Outbox(refused, 100, 1 << 20, wire))
        pair = cls(hubs, rooms, conn, writes)
        append = store.log.append_updates

        async def gated(board_id: str, updates: Any) -> list[int]:
            if pair._armed:
                pair._armed = False
                pair._entered.set()
                await pair.gate.wait()
            return await append(board_id, updates)

        monkeypatch.setattr(store.log, "append_updates", gated)
        pair.room_b.join(pair.conn)
        pair.writes.clear()  # the joiner's first sync
        return pair

    async def commit_on_b_hangs(self) -> asyncio.Task[None]:
        """B commits a note of its own; returns once that commit hangs on `gate`."""
        self._armed = True
        own = asyncio.create_task(self.room_b.apply_server_change(note("b")))
        await self._entered.wait()
        return own

    async def close(self) -> None:
        self.room_b.leave(self.conn)
        for hub, room in zip(self.hubs, (self.room_a, self.room_b), strict=True):
            hub.release(room)
            await hub.close()


def note(note_id: str) -> Any:
    return lambda board: board.notes_map.__setitem__(note_id, Map({"text": note_id}))


async def test_relayed_frames_wait_for_the_commit_in_flight_and_share_its_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two processes (two hubs on one broker, in process). While B commits, the updates A
    commits reach B: B's clients get them with B's own commit, all in ONE write, in order. With
    nothing in flight (and no window) a relayed update is written at once."""
    pair = await GatedPair.start(monkeypatch)
    room_a, room_b, writes = pair.room_a, pair.room_b, pair.writes
    own = await pair.commit_on_b_hangs()
    for i in range(3):
        await room_a.apply_server_change(note(f"a{i}"))
        assert room_b.has_note(f"a{i}")  # in B's doc already, not yet sent
    assert writes == []
    metrics = pair.hubs[1].metrics
    counted = (metrics.fanout_writes, metrics.fanout_frames)
    pair.gate.set()
    await own
    assert len(writes) == 1
    assert (metrics.fanout_writes, metrics.fanout_frames) == (counted[0] + 1, counted[1] + 4)
    doc: Doc[Any] = Doc()
    seen = []
    for frame in frames_of(writes[0]):
        message = protocol.decode(frame)
        assert isinstance(message, protocol.Update)
        doc.apply_update(message.update)
        seen.append(sorted(doc.get("notes", type=Map).keys()))
    assert seen == [["a0"], ["a0", "a1"], ["a0", "a1", "a2"], ["a0", "a1", "a2", "b"]]

    await room_a.apply_server_change(note("a3"))
    assert len(writes) == 2 and len(frames_of(writes[1])) == 1
    await pair.close()


async def test_held_relays_are_bounded_while_a_commit_takes_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While B's commit hangs, relayed frames are held for its write only up to MAX_HELD_FRAMES
    (2 here): the second goes out at once with the first, in one write; the third waits for B's
    commit. Without the bound all three would wait (writes == [] until the commit)."""
    monkeypatch.setattr(room_module, "MAX_HELD_FRAMES", 2)
    pair = await GatedPair.start(monkeypatch)
    room_a, writes = pair.room_a, pair.writes
    own = await pair.commit_on_b_hangs()
    await room_a.apply_server_change(note("a0"))
    assert writes == []
    await room_a.apply_server_change(note("a1"))
    assert [len(frames_of(w)) for w in writes] == [2]
    await room_a.apply_server_change(note("a2"))
    assert len(writes) == 1
    pair.gate.set()
    await own
    assert [len(frames_of(w)) for w in writes] == [2, 2]  # a2 with B's own commit
    await pair.close()


async def test_within_the_window_relayed_frames_share_one_write_at_its_end() -> None:
    """B's batching window (1 s here): the first update relayed after a quiet spell is written at
    once; the next ones within the window wait for its end and go out together, in order."""
    store = MemoryStore()
    await store.open()
    await store.boards.create_board(BoardRecord("b0", "t", "CODE00", 0.0, {}))
    broker = MemoryBroker()
    hubs = [
        Hub(
            store,
            Settings(secret_key="test", idle_unload_seconds=0, batch_window_ms=window),
            fanout=MemoryFanout(broker),
        )
        for window in (0, 1000)
    ]
    for hub in hubs:
        await hub.start()
    room_a, room_b = [await hub.acquire("b0") for hub in hubs]
    writes: list[bytes] = []
    second = asyncio.Event()

    def wire(frame: bytes) -> bool:
        writes.append(frame)
        if len(writes) == 2:
            second.set()
        return True

    conn = Connection(Actor("viewer", "v"), Outbox(_unused, 100, 1 << 20, wire))
    room_b.join(conn)
    writes.clear()
    for i in range(3):
        await room_a.apply_server_change(
            lambda board, i=i: board.notes_map.__setitem__(f"a{i}", Map({"text": "x"}))
        )
        assert room_b.has_note(f"a{i}")
    assert len(writes) == 1 and len(frames_of(writes[0])) == 1  # at once: a quiet spell before
    async with asyncio.timeout(30):
        await second.wait()  # the window's end
    doc: Doc[Any] = Doc()
    for frame in frames_of(writes[0]) + frames_of(writes[1]):
        message = protocol.decode(frame)
        assert isinstance(message, protocol.Update)
        doc.apply_update(message.update)
    assert len(frames_of(writes[1])) == 2
    assert sorted(doc.get("notes", type=Map).keys()) == ["a0", "a1", "a2"]
    room_b.leave(conn)
    for hub, room in zip(hubs, (room_a, room_b), strict=True):
        hub.release(room)
        await hub.close()


async def _unused(message: Any) -> None:
    raise AssertionError(f"went through the queue: {message}")
