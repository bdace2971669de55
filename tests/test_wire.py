"""The fast path for broadcast frames (server/http/wire.py, server/live/outbox.py): a frame encoded
once goes straight to each socket while the socket takes it, through the queue when it does not,
and a client gets every frame exactly once and in order across the switch. Real uvicorn with the
server's WebSocket protocol class, real sockets, a real websockets client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest
import uvicorn
import websockets
from websockets.frames import Frame, Opcode

from server.http.wire import EXTENSION, WireWebSocketProtocol
from server.live.outbox import Outbox, binary_frame
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
