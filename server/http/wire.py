"""uvicorn's WebSocket protocol with a fast path for frames encoded once for every connection.

Through ASGI, every delivery to every connection is a `send` await in the connection's writer task
(a task wake-up), a websockets `Frame` built and serialized (the payload copied twice), and one
`transport.write`. A room sends the same bytes to all its connections, so it encodes the WebSocket
frame once (server/live/outbox.py `binary_frame`) and hands each connection the finished bytes:
`write_frame` writes them straight to the transport, or says it cannot, and the outbox queues the
message for the ordinary ASGI path. It cannot when the transport's buffer is over its high-water
mark (the writer must wait for the peer), when the connection is no longer open (a close was sent
or received), or when an extension (compression) would have to transform the frame.

The fast path is offered as the ASGI scope extension `cobord.wire` (a callable), so the app runs
unchanged on a server without it (in-process tests, another ASGI server).
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

EXTENSION = "cobord.wire"

_OPEN = State.OPEN


class WireWebSocketProtocol(WebSocketsSansIOProtocol):
    # Whether the transport is over its high-water mark (uvicorn keeps it in an asyncio.Event
    # for its own send; a plain attribute is cheaper to read on the hot path).
    paused = False

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        # The app's task is created but has not run yet: it finds the extension in its scope.
        if scope is not None and not self.conn.extensions:
            scope["extensions"][EXTENSION] = self.write_frame

    def pause_writing(self) -> None:
        self.paused = True
        super().pause_writing()

    def resume_writing(self) -> None:
        self.paused = False
        super().resume_writing()

    def write_frame(self, frame: bytes) -> bool:
        """Write one encoded frame (outbox.py `binary_frame`) now; False: not written, queue it.

        Called once per connection per broadcast: plain attributes first (`paused` instead of
        uvicorn's `writable` event)."""
        transport = self.transport
        if (
            self.close_sent
            or self.paused
            or self.disconnected
            or transport.is_closing()
            or self.conn.state is not _OPEN
        ):
            return False
        transport.write(frame)
        return True
