"""First come, first owned, across processes: the one claims protocol.

A claim names something in a scope and an owner; the first owner to claim a name holds it, and
every later claim of that name is answered with its owner. Three users, one protocol (there were
three):
- The room (server/live/room.py `_settle`). Alone, a room decides exactly (one shadow doc sees every
  update in order). With several processes (`REDIS_URL`) each sees its own clients first, so two
  of them could each accept a creation of one note id, or let two tokens write under one Yjs
  client id. Before a batch is stored the room claims what it brings that is new
  (server/live/core.py `claims_of`): scope = the board, names `c:<client id>` and `n:<note id>`,
  owner = the actor; `claim_writers` turns the answer into `Lost`. The same actor claiming again
  wins again.
- The translator (server/translate/): one process translates a note's settled text. Scope =
  the (board, note, text) key, one name, owner = a ticket unique to that claim; released when the
  translation must wait for a budget, so any process may take it then.
- The suggestion gate (server/http/suggestions.py): one computation per board. Scope
  `suggest:<board>`, one name, owner = a ticket per request; released when the computing thread
  ends, and expires by itself (its own, short `ttl`) if the process dies first.

A scope lives `ttl` seconds after the last claim that won something in it, then every claim in it
is gone (the room: by then every process has the creations through the fan-out or the log; the
translator: a dead claimer's note waits that long). Two implementations, one contract
(tests/test_claims.py): `MemoryClaims` (one process, or several in one test; bounded) and
`RedisClaims` (one hash per scope, one Lua script per claim, on the process's pool).

The live-note counts used by the quotas are not claimed: every process derives them from the
updates it applies, its own and the others' (`RoomCore.apply_remote_updates`), so they follow
the shared log rather than one process's history.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

CLAIM_TTL_SECONDS: Final = 24 * 3600
REDIS_TIMEOUT_SECONDS: Final = 2.0
KEY_PREFIX: Final = "cobord:claims:"
MAX_SCOPES: Final = 100_000  # scopes one MemoryClaims keeps (the least recently won go first)
CLAIM_ERRORS = (RedisError, OSError, TimeoutError)


class Claims(Protocol):
    async def claim(self, scope: str, wanted: Mapping[str, str]) -> dict[str, str]:
        """Claim each name of `wanted` (name -> owner) in `scope`; a name already held by the
        same owner is won again. Returns the names held by another owner, with that owner."""

    async def release(self, scope: str, held: Mapping[str, str]) -> None:
        """Give back these names (name -> owner); a name now held by someone else stays theirs."""

    async def forget(self, scope: str) -> None:
        """Every claim in the scope goes (the board was deleted)."""

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Lost:
    """A room's claims won by someone else: what -> its owner."""

    clients: dict[int, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.clients or self.notes)


async def claim_writers(
    claims: Claims, board_id: str, clients: Mapping[int, str], notes: Mapping[str, str]
) -> Lost:
    """Claim a batch's new Yjs client ids and note ids on the board for their actors."""
    wanted = {f"c:{client}": actor for client, actor in clients.items()}
    wanted |= {f"n:{note_id}": actor for note_id, actor in notes.items()}
    if not wanted:
        return Lost()
    lost = Lost()
    for name, owner in (await claims.claim(board_id, wanted)).items():
        kind, _, what = name.partition(":")
        if kind == "c":
            lost.clients[int(what)] = owner
        else:
            lost.notes[what] = owner
    return lost


class MemoryClaims:
    """One process. Scopes are kept in the order they last won a claim, which is the order they
    expire in (one `ttl` for all): expired ones are dropped from the front, O(1) per claim
    (amortized), never by rebuilding the table. At most `max_scopes` are kept (the oldest go
    first: at worst a note is translated twice, or a room's local checks decide alone)."""

    def __init__(self, ttl: float = CLAIM_TTL_SECONDS, max_scopes: int = MAX_SCOPES) -> None:
        self.ttl = ttl
        self.max_scopes = max_scopes
        self._scopes: OrderedDict[str, tuple[float, dict[str, str]]] = OrderedDict()

    async def claim(self, scope: str, wanted: Mapping[str, str]) -> dict[str, str]:
        if not wanted:
            return {}
        now = time.monotonic()
        scopes = self._scopes
        while scopes:
            oldest, (expires, _) = next(iter(scopes.items()))
            if expires > now and len(scopes) < self.max_scopes:
                break
            del scopes[oldest]
        _, held = scopes.get(scope, (0.0, {}))
        lost = {}
        for name, owner in wanted.items():
            holder = held.setdefault(name, owner)
            if holder != owner:
                lost[name] = holder
        if len(lost) < len(wanted):  # something was won: the scope lives on
            scopes[scope] = (now + self.ttl, held)
            scopes.move_to_end(scope)
        return lost

    async def release(self, scope: str, held: Mapping[str, str]) -> None:
        found = self._scopes.get(scope)
        if found is None:
            return
        names = found[1]
        for name, owner in held.items():
            if names.get(name) == owner:
                del names[name]

    async def forget(self, scope: str) -> None:
        self._scopes.pop(scope, None)

    async def close(self) -> None:
        self._scopes.clear()


# KEYS[1]: the scope's hash; ARGV: ttl, then name, owner pairs. Returns each name's holder, in
# order; the hash expires `ttl` after the last claim that won something.
_CLAIM = """
local holders, won = {}, false
for i = 2, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  local holder = redis.call('HGET', KEYS[1], ARGV[i])
  holders[#holders + 1] = holder
  if holder == ARGV[i + 1] then won = true end
end
if won then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return holders
"""

# KEYS[1]: the scope's hash; ARGV: name, owner pairs. Deletes the names their owner still holds.
_RELEASE = """
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 0
"""


class RedisClaims:
    """One hash per scope, `cobord:claims:<scope>`; a claim is one script (atomic)."""

    def __init__(self, redis: aioredis.Redis, ttl: int = CLAIM_TTL_SECONDS) -> None:
        self._client = redis  # the process's pool (server/scale/redis.py): not ours to close
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self.ttl = ttl

    async def claim(self, scope: str, wanted: Mapping[str, str]) -> dict[str, str]:
        if not wanted:
            return {}
        pairs = [part for name, owner in wanted.items() for part in (name, owner)]
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            holders = await self._claim(keys=[KEY_PREFIX + scope], args=[self.ttl, *pairs])
        lost = {}
        for (name, owner), raw in zip(wanted.items(), holders, strict=True):
            holder = raw.decode() if isinstance(raw, bytes) else str(raw)
            if holder != owner:
                lost[name] = holder
        return lost

    async def release(self, scope: str, held: Mapping[str, str]) -> None:
        if not held:
            return
        pairs = [part for name, owner in held.items() for part in (name, owner)]
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await self._release(keys=[KEY_PREFIX + scope], args=pairs)

    async def forget(self, scope: str) -> None:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await self._client.delete(KEY_PREFIX + scope)

    async def close(self) -> None:
        pass


def make_claims(redis: aioredis.Redis | None, ttl: int = CLAIM_TTL_SECONDS) -> Claims:
    return RedisClaims(redis, ttl) if redis is not None else MemoryClaims(ttl)
