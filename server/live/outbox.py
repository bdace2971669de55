"""A connection's bounded outbound queue and the one task that writes it to the socket.

Why a queue and a writer task per connection (and not direct sends from the room): uvicorn's
`send` waits while the peer's transport is paused, so one phone on a bad network would stall the
whole room's fan-out. With a queue, the room only appends (no await, no task per message); the
writer drains. The bound is the overflow policy: a client that falls behind by more than
`max_messages` frames or `max_bytes` is closed with 4408 and resyncs when it reconnects.

The fast path (server/http/wire.py): when nothing is queued or being sent and the transport takes
more, `put` writes the frame's wire bytes (encoded once per broadcast by the room) straight to the
socket: no writer wake-up, no per-connection encoding. Order is kept: anything queued, or a frame
the writer has taken and not yet written, sends every later frame down the queue too.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from crdt.protocol import CloseCode

log = logging.getLogger("cobord.ws")

AsgiSend = Callable[[MutableMapping[str, Any]], Awaitable[None]]
# Writes one encoded WebSocket frame now, or returns False (then the frame goes through `send`).
WireWrite = Callable[[bytes], bool]


def binary_frame(payload: bytes) -> bytes:
    """One unmasked, final, binary WebSocket frame (RFC 6455 5.2), as a server sends it."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x82, length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x82, 126, length)
    else:
        head = struct.pack("!BBQ", 0x82, 127, length)
    return head + payload


class Outbox:
    __slots__ = (
        "_closing",
        "_frames",
        "_queued_bytes",
        "_send",
        "_sending",
        "_straight",
        "_waiter",
        "_wire",
        "close_code",
        "max_bytes",
        "max_messages",
    )

    def __init__(
        self, send: AsgiSend, max_messages: int, max_bytes: int, wire: WireWrite | None = None
    ) -> None:
        self._send = send
        self._wire = wire
        self._sending = False  # the writer holds a frame it has not written yet
        # `wire` while a frame may go straight to the socket (nothing queued or being sent, not
        # closing), else None: one slot read per frame on the fan-out's hot path.
        self._straight = wire
        self._frames: deque[bytes] = deque()
        self._queued_bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._closing: tuple[int, str] | None = None
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.close_code: int | None = None  # set once a close was requested

    @property
    def closed(self) -> bool:
        return self._closing is not None

    def put(self, frame: bytes, wire: bytes | None = None) -> None:
        """Send one frame now if the socket takes it, else queue it; never waits. `wire`: the
        frame already encoded (`binary_frame`). Overflow closes with 4408."""
        straight = self._straight
        if (
            straight is not None
            and wire is not None
            and len(frame) <= self.max_bytes  # else the queue's bound closes it, as before
            and straight(wire)
        ):
            return
        self._queue(frame)

    def put_many(self, frames: Sequence[bytes], wire: bytes) -> None:
        """Several frames at once, in order: `wire` is all of them encoded, one after the other,
        written in one go if the socket takes it; else each is queued."""
        straight = self._straight
        if straight is not None and len(wire) <= self.max_bytes and straight(wire):
            return
        for frame in frames:
            self._queue(frame)

    def _queue(self, frame: bytes) -> None:
        if self._closing is not None:
            return
        self._straight = None  # later frames queue behind this one
        self._frames.append(frame)
        self._queued_bytes += len(frame)
        if len(self._frames) > self.max_messages or self._queued_bytes > self.max_bytes:
            self._frames.clear()
            self._queued_bytes = 0
            self.close(CloseCode.TOO_SLOW, "client too slow: reconnect to resync")
            return
        self._wake()

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to send what is queued, then the close frame, and stop."""
        if self._closing is None:
            self._straight = None
            self._closing = (code, reason[:120])  # a close reason must fit in 123 bytes
            self.close_code = code
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self) -> None:
        """The writer: owned by the connection handler, which awaits or cancels it."""
        send = self._send
        message: dict[str, Any] = {"type": "websocket.send", "bytes": b""}
        frames = self._frames
        try:
            while True:
                while frames:
                    frame = frames.popleft()
                    self._queued_bytes -= len(frame)
                    message["bytes"] = frame
                    self._sending = True
                    await send(message)
                    self._sending = False
                if self._closing is not None:
                    code, reason = self._closing
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                self._straight = self._wire  # all written: frames may go straight again
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None
        except OSError:
            # The peer went away (uvicorn raises ClientDisconnected, an OSError): nothing to send.
            self._closing = self._closing or (CloseCode.GOING_AWAY, "")
            self._straight = None
            frames.clear()
