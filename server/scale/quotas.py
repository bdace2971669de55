"""A participant's note quota, across processes.

Alone, a room counts exactly (crdt/rules.py `within_note_quota`: one shadow doc sees every
creation in order). With several processes (`REDIS_URL`) each counts what it has seen: two
connections of one participant on two processes, each posting 50 notes at once with a quota of
50, kept 100 (issue 20). So before a batch is stored, the room reserves a slot for each note a
participant's update creates (server/live/room.py `_settle`, beside the claims of claims.py): the
set of that participant's live notes on the board, shared; a note beyond the quota is not
reserved and its creation is undone on its sender with the quota's reason.

The set follows the board: each reservation first drops the participant's notes the reserving
process saw deleted (on any process: deletes reach every process with the fan-out) or found
gone when it loaded the board, so a delete frees its slot at the next reservation without a
message of its own. Two implementations, one contract
(tests/test_quotas.py): `MemoryQuotas` (one process, or several in one test) and `RedisQuotas`
(a set per (board, participant), one Lua script per reservation, expiring `TTL_SECONDS` after
the last: by then every process has the notes from the log).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final, Protocol

import redis.asyncio as aioredis

TTL_SECONDS: Final = 24 * 3600
REDIS_TIMEOUT_SECONDS: Final = 2.0
KEY_PREFIX: Final = "cobord:quota:"


class Quotas(Protocol):
    async def reserve(
        self,
        board_id: str,
        actor_id: str,
        notes: Sequence[str],
        limit: int,
        gone: Sequence[str] = (),
    ) -> list[str]:
        """Reserve a slot for each of `notes` (in order; one already held is held again),
        after freeing `gone`. Returns the notes beyond `limit`, not reserved."""

    async def close(self) -> None: ...


class MemoryQuotas:
    def __init__(self) -> None:
        self._held: dict[tuple[str, str], set[str]] = {}

    async def reserve(
        self,
        board_id: str,
        actor_id: str,
        notes: Sequence[str],
        limit: int,
        gone: Sequence[str] = (),
    ) -> list[str]:
        held = self._held.setdefault((board_id, actor_id), set())
        held.difference_update(gone)
        over = []
        for note_id in notes:
            if note_id in held:
                continue
            if len(held) >= limit:
                over.append(note_id)
            else:
                held.add(note_id)
        return over

    async def close(self) -> None:
        self._held.clear()


# KEYS[1]: the participant's set; ARGV: limit, ttl, #gone, gone..., notes... Returns the notes
# beyond the limit.
_RESERVE = """
local limit, ttl, gone = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, 3 + gone do
  redis.call('SREM', KEYS[1], ARGV[i])
end
local over = {}
local count = redis.call('SCARD', KEYS[1])
for i = 4 + gone, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then
    if count >= limit then
      table.insert(over, ARGV[i])
    else
      redis.call('SADD', KEYS[1], ARGV[i])
      count = count + 1
    end
  end
end
redis.call('EXPIRE', KEYS[1], ttl)
return over
"""


class RedisQuotas:
    def __init__(self, redis: aioredis.Redis, ttl: int = TTL_SECONDS) -> None:
        self._client = redis  # the process's pool (server/scale/redis.py): not ours to close
        self._reserve = self._client.register_script(_RESERVE)
        self.ttl = ttl

    async def reserve(
        self,
        board_id: str,
        actor_id: str,
        notes: Sequence[str],
        limit: int,
        gone: Sequence[str] = (),
    ) -> list[str]:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            over = await self._reserve(
                keys=[f"{KEY_PREFIX}{board_id}:{actor_id}"],
                args=[limit, self.ttl, len(gone), *gone, *notes],
            )
        return [n.decode() if isinstance(n, bytes) else str(n) for n in over]

    async def close(self) -> None:
        pass


def make_quotas(redis: aioredis.Redis | None) -> Quotas:
    return RedisQuotas(redis) if redis is not None else MemoryQuotas()
