"""A small y-websocket client for tests and benchmarks: the `websockets` library + a pycrdt Doc.

Its protocol handling uses our codec; everything it waits for, it waits for on events with a
timeout (`wait_until`), never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import websockets
from pycrdt import Doc, Map
from websockets.asyncio.client import ClientConnection

from crdt import protocol

# A bound on a wait for an event, never a pause: generous, as the suite's parallel workers share
# two cores (and the machine may be shared too).
TIMEOUT = 20.0


class YClient:
    def __init__(self, url: str, doc: Doc | None = None) -> None:
        self.url = url
        self.doc = doc or Doc()
        self.ws: ClientConnection | None = None
        self.synced = False
        self.denied: list[str] = []
        self.awareness: dict[int, tuple[int, Any]] = {}
        self.received: list[bytes] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, wait_synced: bool = True, **kwargs: Any) -> YClient:
        kwargs.setdefault("max_size", None)  # merged frames can be large; browsers have no limit
        self.ws = await websockets.connect(self.url, compression=None, **kwargs)
        self._reader = asyncio.create_task(self._read())
        with contextlib.suppress(websockets.ConnectionClosed):  # e.g. closed for a bad token
            await self.send(protocol.SyncStep1(self.doc.get_state()))
        if wait_synced:
            await self.wait_until(lambda: self.synced or self.close_code is not None)
        return self

    async def send(self, message: protocol.Message) -> None:
        await self.send_raw(protocol.encode(message))

    async def send_raw(self, frame: bytes | str) -> None:
        assert self.ws is not None
        await self.ws.send(frame)

    async def change(self, edit: Callable[[Doc], None]) -> bytes:
        """Edit the local doc in one transaction and send the resulting update."""
        before = self.doc.get_state()
        with self.doc.transaction(origin="local"):
            edit(self.doc)
        update = self.doc.get_update(before)
        await self.send(protocol.Update(update))
        return update

    def notes(self) -> dict[str, Any]:
        return dict(self.doc.get("notes", type=Map).to_py() or {})

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_closed(self, timeout: float = TIMEOUT) -> int | None:
        await self.wait_until(lambda: self.close_code is not None, timeout)
        return self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                assert isinstance(frame, bytes)
                self.received.append(frame)
                await self._handle(protocol.decode(frame))
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            # websockets reports the peer's close frame, or 1006 if the connection just dropped.
            self.close_code = self.ws.close_code if self.ws.close_code is not None else 1006
            self.close_reason = self.ws.close_reason or ""
            async with self._changed:
                self._changed.notify_all()

    async def _handle(self, message: protocol.Message) -> None:
        match message:
            case protocol.SyncStep1(state_vector=sv):
                await self.send(protocol.SyncStep2(self.doc.get_update(sv)))
            case protocol.SyncStep2(update=update):
                with self.doc.transaction(origin="remote"):
                    self.doc.apply_update(update)
                self.synced = True
            case protocol.Update(update=update):
                with self.doc.transaction(origin="remote"):
                    self.doc.apply_update(update)
            case protocol.Awareness(payload=payload):
                for entry in protocol.decode_awareness(payload):
                    if entry.state is None:
                        self.awareness.pop(entry.client_id, None)
                    else:
                        self.awareness[entry.client_id] = (entry.clock, entry.state)
            case protocol.Auth(reason=reason):
                self.denied.append(reason)
            case protocol.QueryAwareness():
                pass


def add_note(note_id: str, text: str, **fields: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc.get("notes", type=Map)[note_id] = Map(
            {
                "text": text,
                "x": 0.0,
                "y": 0.0,
                "color": "yellow",
                "cluster": "",
                "lang": "en",
                "createdAt": 0.0,
                **fields,
            }
        )

    return edit
