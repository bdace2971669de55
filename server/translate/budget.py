"""What machine translation may cost: characters a minute sent to the translator, per note author
and per board (token buckets, server/scale/bucket.py), shared through Redis with `REDIS_URL`.
Over it, a note waits its turn (server/translate/translator.py)."""

from __future__ import annotations

import logging
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.scale.bucket import MemoryBuckets, RedisBuckets

log = logging.getLogger("cobord.translate")

REDIS_TIMEOUT_SECONDS = 1.0  # a budget Redis does not answer: decided here


class Budget(Protocol):
    async def spend(self, key: str, amount: int, limit: int) -> float:
        """Spend `amount` of the `limit` characters a minute allowed to `key`: 0.0 if spent,
        else the seconds until it could be (nothing spent)."""

    async def close(self) -> None: ...


def _bucket_of(key: str, amount: int, limit: int) -> tuple[str, float, float, float]:
    """The token bucket (server/scale/bucket.py) a budget is: `limit` characters, refilled over
    a minute. A single text over the limit still goes once the bucket is full: it costs all."""
    return f"translate:{key}", float(limit), limit / 60.0, float(min(amount, limit))


class MemoryBudget:
    """One process: a bucket per key, in memory (bounded)."""

    def __init__(self) -> None:
        self._buckets = MemoryBuckets()

    async def spend(self, key: str, amount: int, limit: int) -> float:
        return self._buckets.take_now(*_bucket_of(key, amount, limit))

    async def close(self) -> None:
        pass


class RedisBudget:
    """Every process takes from the same bucket in Redis. Redis not answering: the process's
    own budget."""

    def __init__(self, redis: Redis) -> None:
        # On the process's pool (server/scale/redis.py): not ours to close.
        self._shared = RedisBuckets(redis, REDIS_TIMEOUT_SECONDS)
        self.local = MemoryBudget()

    async def spend(self, key: str, amount: int, limit: int) -> float:
        try:
            return await self._shared.take(*_bucket_of(key, amount, limit))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("translation budget: Redis unavailable (%s); counting here", exc)
            return await self.local.spend(key, amount, limit)

    async def close(self) -> None:
        pass
