"""A connection's bounded outbound queue and the one task that writes it to the socket.

Why a queue and a writer task per connection (and not direct sends from the room): uvicorn's
`send` waits while the peer's transport is paused, so one phone on a bad network would stall the
whole room's fan-out. With a queue, the room only appends (no await, no task per message); the
writer drains. The bound is the overflow policy: a client that falls behind by more than
`max_messages` frames or `max_bytes` is closed with 4408 and resyncs when it reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from crdt.protocol import CloseCode

log = logging.getLogger("cobord.ws")

AsgiSend = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Outbox:
    __slots__ = (
        "_closing",
        "_frames",
        "_queued_bytes",
        "_send",
        "_waiter",
        "close_code",
        "max_bytes",
        "max_messages",
    )

    def __init__(self, send: AsgiSend, max_messages: int, max_bytes: int) -> None:
        self._send = send
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

    def put(self, frame: bytes) -> None:
        """Queue one frame; never waits. Overflow closes the connection with 4408."""
        if self._closing is not None:
            return
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
                    await send(message)
                if self._closing is not None:
                    code, reason = self._closing
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None
        except OSError:
            # The peer went away (uvicorn raises ClientDisconnected, an OSError): nothing to send.
            self._closing = self._closing or (CloseCode.GOING_AWAY, "")
            frames.clear()
