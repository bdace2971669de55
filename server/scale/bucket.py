"""The token bucket: the one rate rule of the server, in one process and across processes.

A bucket holds up to `capacity` tokens and gains `per_second` of them as time passes; an action
costs tokens and is refused when fewer are left. Everything rated is rated this way:
- a socket's messages (server/ws.py, `COBORD_RATE_PER_SECOND` / `COBORD_RATE_BURST`): one
  `TokenBucket` per socket, in its process;
- the HTTP actions of an address (limits.py), shared by every process;
- a participant's refused updates (server/live/refusals.py), per process and shared;
- the characters a minute sent to the translator per author and per board
  (server/translate/budget.py), shared.

`TokenBucket` is one bucket on the monotonic clock (every method takes an optional `now`, so tests
drive the clock without sleeping). `SharedBuckets` are buckets by key: `MemoryBuckets` in one
process (bounded), `RedisBuckets` for every process of the service (one hash per bucket, updated
by one script on Redis's clock, so processes with skewed clocks share one bucket).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from typing import Final, Protocol

import redis.asyncio as aioredis

MAX_TRACKED: Final = 100_000  # buckets a MemoryBuckets keeps (least recently used dropped first)
REDIS_TIMEOUT_SECONDS: Final = 2.0
KEY_PREFIX: Final = "cobord:bucket:"


class TokenBucket:
    __slots__ = ("_at", "_level", "capacity", "per_second")

    def __init__(self, capacity: float, per_second: float, now: float | None = None) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._level = capacity  # a new bucket is full
        self._at = time.monotonic() if now is None else now

    def _refill(self, now: float | None) -> float:
        now = time.monotonic() if now is None else now
        self._level = min(self.capacity, self._level + (now - self._at) * self.per_second)
        self._at = now
        return self._level

    def take(self, cost: float = 1.0, now: float | None = None) -> bool:
        """Take `cost` tokens; False (nothing taken) when fewer are left."""
        if self._refill(now) < cost:
            return False
        self._level -= cost
        return True

    def available(self, cost: float = 1.0, now: float | None = None) -> bool:
        """Could `cost` tokens be taken now (without taking them)?"""
        return self._refill(now) >= cost

    def wait(self, cost: float = 1.0, now: float | None = None) -> float:
        """Seconds until `cost` tokens can be taken (0.0: now)."""
        missing = cost - self._refill(now)
        if missing <= 0:
            return 0.0
        return missing / self.per_second if self.per_second > 0 else math.inf

    def full(self, now: float | None = None) -> bool:
        """As good as a new bucket (a table of buckets may drop it)."""
        return self._refill(now) >= self.capacity

    def empty(self, now: float | None = None) -> None:
        self._level = 0.0
        self._at = time.monotonic() if now is None else now


class SharedBuckets(Protocol):
    async def take(
        self, key: str, capacity: float, per_second: float, cost: float = 1.0, drain: bool = False
    ) -> float:
        """Take `cost` tokens from the bucket `key`: 0.0 when taken, else the seconds until they
        could be (nothing taken; with `drain` the bucket is emptied instead, and the wait is a
        full `cost`: a client cut off gets no credit for what was left)."""


class MemoryBuckets:
    """Buckets of one process. A full bucket is the same as a new one, so when the table grows
    past `max_tracked` the full ones go first, then the least recently used."""

    def __init__(self, max_tracked: int = MAX_TRACKED) -> None:
        self.max_tracked = max_tracked
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    async def take(
        self, key: str, capacity: float, per_second: float, cost: float = 1.0, drain: bool = False
    ) -> float:
        return self.take_now(key, capacity, per_second, cost, drain)

    def take_now(
        self, key: str, capacity: float, per_second: float, cost: float = 1.0, drain: bool = False
    ) -> float:
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= self.max_tracked:
                self._prune()
            bucket = buckets[key] = TokenBucket(capacity, per_second)
        buckets.move_to_end(key)
        if bucket.take(cost):
            return 0.0
        if drain:
            bucket.empty()
            return cost / per_second if per_second > 0 else math.inf
        return bucket.wait(cost)

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]
        while len(self._buckets) >= self.max_tracked:
            self._buckets.popitem(last=False)


# KEYS[1]: the bucket's hash; ARGV: capacity, per second, cost, drain (1/0). Returns the seconds
# to wait, as a string (Redis would truncate a Lua number to an integer): "0" when taken. The
# hash expires once the bucket would be full again (then it is the same as no hash).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity, rate, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or capacity)
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or now)
level = math.min(capacity, level + math.max(0, now - at) * rate)
local wait = 0
if level >= cost then
  level = level - cost
elseif ARGV[4] == '1' then
  level = 0
  wait = cost / rate
else
  wait = (cost - level) / rate
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((capacity - level) / rate) + 1)
return tostring(wait)
"""


class RedisBuckets:
    """Buckets shared by every process, `cobord:bucket:<key>`, on the process's pool."""

    def __init__(self, redis: aioredis.Redis, timeout: float = REDIS_TIMEOUT_SECONDS) -> None:
        self._client = redis  # the process's pool (server/scale/redis.py): not ours to close
        self._take = redis.register_script(_TAKE)
        self.timeout = timeout  # Redis not answering: the caller's fallback decides

    async def take(
        self, key: str, capacity: float, per_second: float, cost: float = 1.0, drain: bool = False
    ) -> float:
        if per_second <= 0:
            raise ValueError("a shared bucket needs a positive rate")
        async with asyncio.timeout(self.timeout):
            answer = await self._take(
                keys=[KEY_PREFIX + key], args=[capacity, per_second, cost, int(drain)]
            )
        return float(answer.decode() if isinstance(answer, bytes) else answer)
