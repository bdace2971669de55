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
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from crdt.protocol import ProtocolError, Reader, write_var_uint

# "probe": a message an earlier version sent to itself to prove a subscription live (now Redis'
# SUBSCRIBE confirmation does); still decoded during a rolling upgrade, never delivered.
# "mark": carries only the publisher's update counter, so a receiver can tell that the last
# updates it was sent went missing (sent after a failed publish, and periodically).
# "control": an order to every process serving the board (server/closing.py: close sockets).
Kind = Literal["update", "awareness", "probe", "mark", "control"]
KINDS = ("update", "awareness", "probe", "mark", "control")


@dataclass(slots=True)
class FanoutMessage:
    """Not frozen: a frozen dataclass's `__init__` and `dataclasses.replace` cost ~3x as much,
    and every message is built twice (sent, received). Treat it as immutable."""

    origin: str  # instance id of the publishing process
    kind: Kind
    frame: bytes  # the y-websocket frame, exactly as sent to clients
    last_seq: int = 0  # for updates: the highest log seq the frame contains
    created: tuple[tuple[str, str], ...] = ()  # (note id, creator) pairs the update creates
    # The publisher's per-board update counter: an update carries the next number (so receivers
    # see a gap when one went missing); any other message carries the current one.
    number: int = 0
    # (note id, creator) pairs of creations in this frame that lost their note id to an earlier
    # one on another process (server/live/core.py `settle`): undone here; if their structs
    # displace the winner's note elsewhere, the process that holds it puts it back.
    lost: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        if self.created or self.lost:
            header = {
                "o": self.origin,
                "k": self.kind,
                "s": self.last_seq,
                "c": self.created,
                "n": self.number,
            }
            if self.lost:
                header["l"] = self.lost
            text = _HEADER.encode(header)
        else:  # most messages: the same JSON, written directly
            text = (
                f'{{"o":{_quoted(self.origin)},"k":{_quoted(self.kind)},"s":{int(self.last_seq)},'
                f'"c":[],"n":{int(self.number)}}}'
            )
        data = text.encode()
        out = bytearray()
        write_var_uint(out, len(data))
        out += data
        out += self.frame
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> FanoutMessage:
        """Raises ProtocolError on anything that is not a message of ours."""
        reader = Reader(data)
        try:
            text = reader.var_bytes().decode()
            header, end = _JSON_DECODER.raw_decode(text)
            if end != len(text):
                raise ValueError("trailing characters after the header")
            kind = header["k"]
            if kind not in KINDS:
                raise ProtocolError(f"unknown fan-out kind {kind!r}")
            # (Most messages create nothing and lose nothing: no tuple built for them.)
            created = header["c"]
            if created:
                created = tuple((str(note), str(actor)) for note, actor in created)
            lost = header.get("l")
            if lost:
                lost = tuple((str(note), str(actor)) for note, actor in lost)
            return cls(
                str(header["o"]),
                kind,
                data[reader.pos :],
                int(header["s"]),
                created or (),
                int(header.get("n", 0)),
                lost or (),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"bad fan-out message: {exc}") from exc


# The header's JSON, as `json.dumps(..., separators=(",", ":"))` writes it (which builds an
# encoder per call), and read back without `json.loads`' detours (encoding detection, trailing
# whitespace): a relayed update is encoded once and decoded by every other process.
_HEADER = json.JSONEncoder(separators=(",", ":"))
_JSON_DECODER = json.JSONDecoder()
_quoted = json.encoder.encode_basestring_ascii  # a JSON string, as json.dumps writes it


def is_from(data: bytes, origin: str) -> bool:
    """Whether an encoded message was published by `origin`, read without decoding it (its
    header's JSON begins with the origin: `{"o":"<origin>",`)."""
    start = 1
    while start <= len(data) and data[start - 1] & 0x80:  # (past the header's length)
        start += 1
    return data.startswith(b'{"o":' + _quoted(origin).encode() + b",", start)


# Called for every message from ANOTHER instance, with the board id.
Deliver = Callable[[str, FanoutMessage], None]
# Called after a gap: the board (None: every board, after a reconnect) must catch up from the log.
Resync = Callable[[str | None], None]


class Numbering:
    """Per-board update counters, both ways: what we publish, and what each origin sent us.

    A receiver expects each origin's updates on a board numbered 1, 2, 3...; any other message
    carries the origin's current number. A number beyond the expected one is a gap (a failed
    publish, a dropped queue entry, a message lost in a reconnect): the board catches up."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}  # board id -> our last update number
        self.seen: dict[tuple[str, str], int] = {}  # (board id, origin) -> last number seen

    def stamp(self, board_id: str, message: FanoutMessage) -> FanoutMessage:
        if message.kind == "update":
            number = self.sent[board_id] = self.sent.get(board_id, 0) + 1
        else:
            number = self.sent.get(board_id, 0)
        m = message
        return FanoutMessage(m.origin, m.kind, m.frame, m.last_seq, m.created, number, m.lost)

    def check(self, board_id: str, message: FanoutMessage) -> bool:
        """True when `message` shows that something from its origin went missing."""
        key = (board_id, message.origin)
        last = self.seen.get(key)
        expected = (last or 0) + 1 if message.kind == "update" else (last or 0)
        if message.number > (last or 0):
            self.seen[key] = message.number
        # The first message of an origin since we subscribed: we cannot tell whether what it
        # numbered before came before our subscription (then it is in the log we read) or was
        # lost after it. One catch-up (cheap: the log after our load) settles it.
        return message.number > expected

    def forget(self, board_id: str) -> None:
        for key in [k for k in self.seen if k[0] == board_id]:
            del self.seen[key]


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

    async def publish(self, board_id: str, message: FanoutMessage) -> None:
        """Publish now (bounded in time); a failure is logged, and receivers see the gap."""

    def send(self, board_id: str, message: FanoutMessage) -> None:
        """Queue for publishing; never waits. Updates and awareness have separate bounded queues:
        a dropped update is numbered, so receivers see the gap and read it from the log."""

    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held by one process at a time (the per-board settings lock)."""
        ...

    async def ping(self) -> None:
        """Raises when the fan-out is unreachable (/readyz)."""
