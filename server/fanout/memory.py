"""In-process fan-out: the twin of RedisFanout. One broker per process by default (so a single
process pays nothing); several instances on one shared broker act like several processes."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

from server.fanout.base import Deliver, FanoutMessage, Numbering, Resync


class MemoryBroker:
    def __init__(self) -> None:
        self.subscribers: dict[str, set[MemoryFanout]] = {}


class MemoryFanout:
    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self.instance_id = secrets.token_hex(8)
        self.shared = broker is not None
        self.broker = broker or MemoryBroker()
        self.numbering = Numbering()
        self.drop_next = 0  # tests: this many of the next sends are lost, as on a failed publish
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver, self._resync = deliver, resync

    async def close(self) -> None:
        for subscribers in self.broker.subscribers.values():
            subscribers.discard(self)

    async def subscribe(self, board_id: str) -> None:
        self.numbering.forget(board_id)
        self.broker.subscribers.setdefault(board_id, set()).add(self)

    async def unsubscribe(self, board_id: str) -> None:
        subscribers = self.broker.subscribers.get(board_id)
        if subscribers is not None:
            subscribers.discard(self)
            if not subscribers:
                del self.broker.subscribers[board_id]

    async def publish(self, board_id: str, message: FanoutMessage) -> None:
        self.send(board_id, message)

    def send(self, board_id: str, message: FanoutMessage) -> None:
        others = [s for s in self.broker.subscribers.get(board_id, ()) if s is not self]
        if not others or message.kind == "probe":
            return  # a single process: nothing to do, nothing to encode
        message = self.numbering.stamp(board_id, message)
        if self.drop_next > 0:
            self.drop_next -= 1
            return
        data = message.encode()  # same bytes as on Redis: the codec is part of the contract
        for subscriber in others:
            subscriber._receive(board_id, FanoutMessage.decode(data))

    def _receive(self, board_id: str, message: FanoutMessage) -> None:
        gap = self.numbering.check(board_id, message)
        if self._deliver is not None and message.kind in ("update", "awareness", "control"):
            self._deliver(board_id, message)
        if gap and self._resync is not None:
            self._resync(board_id)

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        """Across processes: nothing to do in one process (callers hold their own asyncio lock)."""
        yield

    async def ping(self) -> None:
        return None
