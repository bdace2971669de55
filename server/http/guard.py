"""uvicorn's HTTP protocol with two guards it lacks (read in uvicorn 0.54's httptools_impl):

- a header timeout: a connection that has not finished its request headers within
  `header_timeout` seconds (from connecting, or from the first byte of a keep-alive request)
  gets 408 and is closed — uvicorn alone keeps such a socket as long as the client wants, so
  ~1,100 slow sockets blocked every request;
- a header size limit: more than `max_header_bytes` before the end of the headers (a 60 KB
  request or upgrade line) gets 431 and is closed, instead of no answer at all.

Refused, a connection is closed the way a browser can read the answer (a "lingering close", as
Apache and nginx do): the answer, then our end of the stream (FIN), then what the client still
sends is read and dropped until it closes, for at most `LINGER_SECONDS` and `LINGER_BYTES`. Closing
at once with part of a 60 KB request unread makes the kernel answer with a reset, and a reset
throws the 431 away on the client's side before it is read (seen on a loaded machine).

`configure()` sets the class-wide limits before uvicorn starts (uvicorn creates the protocol).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0
MAX_HEADER_BYTES = 16 * 1024
LINGER_SECONDS = 2.0  # a refused connection is read (and dropped) at most this long...
LINGER_BYTES = 1024 * 1024  # ...and at most this much, then closed whatever remains


def configure(header_timeout: float, max_header_bytes: int) -> None:
    global HEADER_TIMEOUT, MAX_HEADER_BYTES
    HEADER_TIMEOUT, MAX_HEADER_BYTES = header_timeout, max_header_bytes


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._tail = b""  # the last bytes seen, to find a header end split across two reads
        self._in_headers = True  # from connecting until the first request's headers end
        # The connection's one deadline: the headers' (408), then, once refused, the linger's.
        self._deadline: asyncio.TimerHandle | None = None
        self._lingering: int | None = None  # refused: bytes dropped since the answer

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._lingering += len(data)
            if self._lingering > LINGER_BYTES:
                self.transport.close()
            return
        if self._in_headers:
            # Count only up to the end of the headers: a body that arrives in the same read
            # (a photo upload, a JSON body) is not header bytes.
            window = self._tail + data
            end = window.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._tail = window[-3:]
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse(431, "Request Header Fields Too Large")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_headers:  # a keep-alive request: headers again
            self._in_headers = True
            self._header_bytes = 0
            self._tail = b""
            self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._cancel_deadline()
        super().on_headers_complete()

    def _start_header_timer(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(HEADER_TIMEOUT, self._header_timeout)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _header_timeout(self) -> None:
        self._deadline = None
        if self._in_headers and not self.transport.is_closing():
            self._refuse(408, "Request Timeout")

    def _refuse(self, status: int, reason: str) -> None:
        self._cancel_deadline()
        body = f"{reason}\n".encode()
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self._lingering = 0
        self.transport.write_eof()  # the client reads the answer, then the end
        # Cancelled if the client closes first (connection_lost).
        self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def eof_received(self) -> None:
        if self._lingering is not None:
            self.transport.close()  # the client is done sending: nothing left to reset
            return
        super().eof_received()
