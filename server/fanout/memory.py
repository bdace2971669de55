"""In-process fan-out: the twin of RedisFanout. One broker per process by default (so a single
process pays nothing); several instances on one shared broker act like several processes."""

from __future__ import annotations

import secrets

from server.fanout.base import Deliver, FanoutMessage, Resync


class MemoryBroker:
    def __init__(self) -> None:
        self.subscribers: dict[str, set[MemoryFanout]] = {}


class MemoryFanout:
    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self.instance_id = secrets.token_hex(8)
        self.shared = broker is not None
        self.broker = broker or MemoryBroker()
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver = deliver

    async def close(self) -> None:
        for subscribers in self.broker.subscribers.values():
            subscribers.discard(self)

    async def subscribe(self, board_id: str) -> None:
        self.broker.subscribers.setdefault(board_id, set()).add(self)

    async def unsubscribe(self, board_id: str) -> None:
        subscribers = self.broker.subscribers.get(board_id)
        if subscribers is not None:
            subscribers.discard(self)
            if not subscribers:
                del self.broker.subscribers[board_id]

    async def publish(self, board_id: str, message: FanoutMessage) -> None:
        others = [s for s in self.broker.subscribers.get(board_id, ()) if s is not self]
        if not others or message.kind == "probe":
            return  # a single process: nothing to do, nothing to encode
        data = message.encode()  # same bytes as on Redis: the codec is part of the contract
        for subscriber in others:
            if subscriber._deliver is not None:
                subscriber._deliver(board_id, FanoutMessage.decode(data))
