"""How many sockets one token, one address and one board may hold, across every process.

One participant token once opened 500 sockets in 1.7 s and took every slot of its board: the
facilitator was refused with the rest (issue 20). So each socket takes a slot, counted three
ways on its board: per token (a phone needs two or three: `max_connections_per_token`), per
address (a whole room may sit behind one NAT: `max_connections_per_address`) and per board
(`max_connections_per_board`). Who counts where:
  - a participant: its token, its address, the board;
  - a viewer: its address and the board (every viewer of a board shares one token);
  - the facilitator: its token only, up to as many sockets as a full board (laptop, projector,
    phone, a load test): never against the address or board caps, so it always gets in.

Two implementations, one contract (tests/test_slots.py). `MemorySlots` counts one process.
`RedisSlots` (with `REDIS_URL`) keeps one sorted set per counted key, `cobord:slots:<board>:…`,
each member a socket scored by its expiry: a Lua script drops expired members, checks every
cap and adds the socket to every key at once, so two processes never both take the last slot.
A socket's entries are removed when it closes; an owned task refreshes the live ones every third
of `ttl`, so the slots of a process that died (SIGKILL, power cut) free themselves within `ttl`.
Redis unreachable: this process's own count still applies (logged), never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("cobord.slots")

REDIS_TIMEOUT_SECONDS: Final = 2.0
KEY_PREFIX: Final = "cobord:slots:"

Cap = Literal["token", "address", "board"]
SLOT_ERRORS = (RedisError, OSError, TimeoutError)
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Caps:
    per_token: int  # 0: no cap
    per_address: int
    per_board: int


@dataclass(frozen=True, slots=True)
class Slot:
    """One socket's place: what it counts against (None / False: not counted there)."""

    board_id: str
    socket_id: str  # unique per socket, across processes
    token: str | None  # the token's key (a participant id, "facilitator")
    address: str | None
    board: bool
    token_cap: int = 0  # this token's cap (the facilitator's differs from a participant's)


def slot_for(
    board_id: str, socket_id: str, role: str, actor_id: str, address: str, caps: Caps
) -> Slot:
    if role == "facilitator":
        return Slot(board_id, socket_id, actor_id, None, False, caps.per_board)
    if role == "viewer":  # one token for every viewer of the board: not a person's cap
        return Slot(board_id, socket_id, None, address, True)
    return Slot(board_id, socket_id, actor_id, address, True, caps.per_token)


def refusal(cap: Cap, caps: Caps, slot: Slot) -> str:
    """The close reason that says which cap was hit."""
    if cap == "token":
        return f"too many connections with this token (at most {slot.token_cap})"
    if cap == "address":
        return f"too many connections from this address (at most {caps.per_address})"
    return f"board is full ({caps.per_board} connections)"


class Slots(Protocol):
    async def take(self, slot: Slot, caps: Caps) -> Cap | None:
        """Take a slot for this socket; None when taken, else the cap that is full."""

    async def give_back(self, slot: Slot) -> None:
        """The socket closed."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class MemorySlots:
    """One process's sockets, counted per (board, token), (board, address) and board."""

    def __init__(self) -> None:
        self._tokens: Counter[tuple[str, str]] = Counter()
        self._addresses: Counter[tuple[str, str]] = Counter()
        self._boards: Counter[str] = Counter()
        self._held: set[str] = set()  # socket ids holding a slot

    async def take(self, slot: Slot, caps: Caps) -> Cap | None:
        return self.take_now(slot, caps)

    def take_now(self, slot: Slot, caps: Caps) -> Cap | None:
        board = slot.board_id
        token, address = slot.token, slot.address
        if token is not None and slot.token_cap and self._tokens[(board, token)] >= slot.token_cap:
            return "token"
        at = caps.per_address
        if address is not None and at and self._addresses[(board, address)] >= at:
            return "address"
        if slot.board and caps.per_board and self._boards[board] >= caps.per_board:
            return "board"
        self.add(slot)
        return None

    def add(self, slot: Slot) -> None:
        """Count `slot` without checking (another store decided)."""
        if slot.socket_id in self._held:
            return
        self._held.add(slot.socket_id)
        if slot.token is not None:
            self._tokens[(slot.board_id, slot.token)] += 1
        if slot.address is not None:
            self._addresses[(slot.board_id, slot.address)] += 1
        if slot.board:
            self._boards[slot.board_id] += 1

    async def give_back(self, slot: Slot) -> None:
        self.remove(slot)

    def remove(self, slot: Slot) -> None:
        if slot.socket_id not in self._held:
            return
        self._held.discard(slot.socket_id)
        if slot.token is not None:
            _decrement(self._tokens, (slot.board_id, slot.token))
        if slot.address is not None:
            _decrement(self._addresses, (slot.board_id, slot.address))
        if slot.board:
            _decrement(self._boards, slot.board_id)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


def _decrement(counter: Counter[K], key: K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


# KEYS: the sorted sets to count in; ARGV: now, expiry, socket id, key ttl, then each key's cap
# (0: counted, no cap). Returns 0 when taken, else the 1-based index of the full key.
_TAKE = """
local now, expiry, member, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local cap = tonumber(ARGV[4 + i])
  if cap > 0 and redis.call('ZSCORE', key, member) == false
     and redis.call('ZCARD', key) >= cap then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, expiry, member)
  redis.call('EXPIRE', key, ttl)
end
return 0
"""


class RedisSlots:
    def __init__(self, redis: aioredis.Redis, ttl: float = 15.0) -> None:
        self.ttl = ttl
        self._client = redis  # the process's pool (server/scale/redis.py): not ours to close
        self._take = self._client.register_script(_TAKE)
        self._local = MemorySlots()  # this process's sockets: refreshed, and the fallback
        self._live: dict[str, Slot] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="slots:redis")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(*SLOT_ERRORS):
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                pipe = self._client.pipeline(transaction=False)
                for slot in self._live.values():
                    for key, _, _ in _keys(slot, Caps(0, 0, 0)):
                        pipe.zrem(key, slot.socket_id)
                await pipe.execute()
        self._live.clear()

    async def take(self, slot: Slot, caps: Caps) -> Cap | None:
        keyed = _keys(slot, caps)
        if not keyed:
            return None
        now = time.time()
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                answer = await self._take(
                    keys=[key for key, _, _ in keyed],
                    args=[
                        now,
                        now + self.ttl,
                        slot.socket_id,
                        max(1, int(self.ttl * 2)),
                        *(cap for _, cap, _ in keyed),
                    ],
                )
        except SLOT_ERRORS as exc:
            log.warning("connection slots: Redis unavailable (%r); counting this process", exc)
            hit = self._local.take_now(slot, caps)
            if hit is None:
                self._live[slot.socket_id] = slot
            return hit
        index = int(answer)
        if index:
            return keyed[index - 1][2]
        self._local.add(slot)
        self._live[slot.socket_id] = slot
        return None

    async def give_back(self, slot: Slot) -> None:
        self._local.remove(slot)
        if self._live.pop(slot.socket_id, None) is None:
            return
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                pipe = self._client.pipeline(transaction=False)
                for key, _, _ in _keys(slot, Caps(0, 0, 0)):
                    pipe.zrem(key, slot.socket_id)
                await pipe.execute()
        except SLOT_ERRORS as exc:  # then it expires: it is no longer refreshed
            log.warning("connection slots: could not free a slot in Redis: %r", exc)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            if not self._live:
                continue
            expiry = time.time() + self.ttl
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    pipe = self._client.pipeline(transaction=False)
                    for slot in list(self._live.values()):
                        for key, _, _ in _keys(slot, Caps(0, 0, 0)):
                            pipe.zadd(key, {slot.socket_id: expiry}, xx=True)
                            pipe.expire(key, max(1, int(self.ttl * 2)))
                    await pipe.execute()
            except SLOT_ERRORS as exc:
                log.warning("connection slots not refreshed in Redis: %r", exc)


def _keys(slot: Slot, caps: Caps) -> list[tuple[str, int, Cap]]:
    """(sorted set, its cap, which cap) for each count this slot is in, in checking order."""
    prefix = f"{KEY_PREFIX}{slot.board_id}:"
    keyed: list[tuple[str, int, Cap]] = []
    if slot.token is not None:
        keyed.append((prefix + "t:" + slot.token, slot.token_cap, "token"))
    if slot.address is not None:
        keyed.append((prefix + "a:" + slot.address, caps.per_address, "address"))
    if slot.board:
        keyed.append((prefix + "all", caps.per_board, "board"))
    return keyed


def make_slots(redis: aioredis.Redis | None, ttl: float) -> Slots:
    return RedisSlots(redis, ttl) if redis is not None else MemorySlots()
