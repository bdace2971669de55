"""Per-IP rate limits for the HTTP endpoints that can be abused by guessing or flooding
(board creation, joining, join-code lookups).

One token bucket per (action, IP) (server/scale/bucket.py): `burst` at once, refilled at
`per_minute`. Without Redis each process keeps its buckets in memory (bounded: full, then the
least recently used entries are dropped). With `REDIS_URL` every process takes from the same
bucket in Redis, so two processes behind a load balancer allow the rate once, not twice. If Redis
fails, the in-process bucket still applies (a limit never turns into a 500).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.scale.bucket import MemoryBuckets, RedisBuckets

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
        self._local = MemoryBuckets(MAX_TRACKED)
        # On the process's pool (server/scale/redis.py): every process counts in one bucket.
        self._shared = RedisBuckets(redis, REDIS_TIMEOUT_SECONDS) if redis is not None else None

    async def check(self, action: str, ip: str) -> None:
        """Count one `action` from `ip`; raise RateLimited (with seconds to wait) when over."""
        rate = self.rates.get(action)
        if rate is None or rate.per_minute <= 0:
            return
        key, per_second = f"rate:{action}:{ip}", rate.per_minute / 60.0
        wait: float | None = None
        if self._shared is not None:
            try:
                wait = await self._shared.take(key, rate.burst, per_second)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("rate limit: Redis unavailable (%s); limiting in this process", exc)
        if wait is None:
            wait = self._local.take_now(key, rate.burst, per_second)
        if wait > 0:
            raise RateLimited(max(1, math.ceil(wait)))


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
