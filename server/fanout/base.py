"""The fan-out seam: how server processes that serve the same board tell each other what happened.

Each process that owns a client's connection validates and commits that client's update, then
publishes the same y-websocket frame here, tagged with its instance id; the other processes apply
it and send it to their own clients, without storing or republishing it. Awareness travels the
same way. Two implementations: `MemoryFanout` (in-process twin; several instances on one
`MemoryBroker` behave like several processes) and `RedisFanout` (`REDIS_URL`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from crdt.protocol import ProtocolError, Reader, write_var_bytes

# "probe": a message to ourselves that proves a subscription is live; never delivered.
Kind = Literal["update", "awareness", "probe"]


@dataclass(frozen=True, slots=True)
class FanoutMessage:
    origin: str  # instance id of the publishing process
    kind: Kind
    frame: bytes  # the y-websocket frame, exactly as sent to clients
    last_seq: int = 0  # for updates: the highest log seq the frame contains
    created: tuple[tuple[str, str], ...] = ()  # (note id, creator) pairs the update creates

    def encode(self) -> bytes:
        header = json.dumps(
            {"o": self.origin, "k": self.kind, "s": self.last_seq, "c": self.created},
            separators=(",", ":"),
        ).encode()
        out = bytearray()
        write_var_bytes(out, header)
        out += self.frame
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> FanoutMessage:
        """Raises ProtocolError on anything that is not a message of ours."""
        reader = Reader(data)
        try:
            header = json.loads(reader.var_bytes())
            kind = header["k"]
            if kind not in ("update", "awareness", "probe"):
                raise ProtocolError(f"unknown fan-out kind {kind!r}")
            created = tuple((str(note), str(actor)) for note, actor in header["c"])
            return cls(str(header["o"]), kind, data[reader.pos :], int(header["s"]), created)
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"bad fan-out message: {exc}") from exc


# Called for every message from ANOTHER instance, with the board id.
Deliver = Callable[[str, FanoutMessage], None]
# Called after a gap (reconnect): the subscriber must catch up from the store.
Resync = Callable[[], None]


class Fanout(Protocol):
    instance_id: str
    # False when no other process can serve the same boards: then a room's live doc is exactly
    # its committed log, and keyframes can be taken from it.
    shared: bool

    async def start(self, deliver: Deliver, resync: Resync) -> None: ...

    async def close(self) -> None: ...

    async def subscribe(self, board_id: str) -> None:
        """Returns once messages published on the board from now on will be delivered."""

    async def unsubscribe(self, board_id: str) -> None: ...

    async def publish(self, board_id: str, message: FanoutMessage) -> None: ...
