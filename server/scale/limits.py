"""Per-IP rate limits for the HTTP endpoints that can be abused by guessing or flooding
(board creation, joining, join-code lookups).

Without Redis each process keeps token buckets in memory (bounded: the oldest idle entries are
dropped). With `REDIS_URL` the count is shared by every process: one fixed-window counter per
(action, IP, window) in Redis, so two processes behind a load balancer allow the rate once, not
twice. If Redis fails, the in-process bucket still applies (a limit never turns into a 500).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.scale.bucket import TokenBucket

log = logging.getLogger("cobord.limits")

MAX_TRACKED = 100_000  # in-process buckets kept (least recently used dropped first)
REDIS_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Rate:
    per_minute: float  # 0 disables
    burst: float


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, rates: dict[str, Rate], redis: Redis | None = None) -> None:
        self.rates = rates
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()
        self._redis = redis  # the process's pool (server/scale/redis.py): not ours to close

    async def check(self, action: str, ip: str) -> None:
        """Count one `action` from `ip`; raise RateLimited (with seconds to wait) when over."""
        rate = self.rates.get(action)
        if rate is None or rate.per_minute <= 0:
            return
        if self._redis is not None:
            try:
                await self._check_redis(action, ip, rate)
                return
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("rate limit: Redis unavailable (%s); limiting in this process", exc)
        self._check_local(action, ip, rate)

    def _check_local(self, action: str, ip: str, rate: Rate) -> None:
        key = (action, ip)
        bucket = self._buckets.pop(key, None) or TokenBucket(rate.burst, rate.per_minute / 60.0)
        self._buckets[key] = bucket  # most recently used last
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        if not bucket.take():
            raise RateLimited(max(1, math.ceil(bucket.wait())))

    async def _check_redis(self, action: str, ip: str, rate: Rate) -> None:
        # A window long enough to hold the burst at the steady rate.
        window = max(1, math.ceil(rate.burst * 60.0 / rate.per_minute))
        now = time.time()
        slot = int(now // window)
        key = f"cobord:rate:{action}:{ip}:{slot}"
        assert self._redis is not None
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window + 1)
                count, _ = await pipe.execute()
        if int(count) > rate.burst:
            raise RateLimited(max(1, math.ceil((slot + 1) * window - now)))


def client_ip(peer: str | None, forwarded_for: str | None, trusted_proxies: frozenset[str]) -> str:
    """The caller's address: the socket's peer, or — only when that peer is a trusted proxy —
    the right-most address in X-Forwarded-For that is not itself a trusted proxy."""
    ip = peer or "unknown"
    if ip not in trusted_proxies or not forwarded_for:
        return ip
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        if hop and hop not in trusted_proxies:
            return hop[:64]
    return ip
