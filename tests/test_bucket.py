"""The token bucket (server/scale/bucket.py): one bucket on a clock the test drives, and one
contract for the shared buckets, in memory and in Redis (127.0.0.1:6379, real; two `RedisBuckets`
on two pools are two processes)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from server.scale.bucket import MemoryBuckets, RedisBuckets, SharedBuckets, TokenBucket
from tests.test_fanout import redis_or_skip


def test_a_bucket_takes_its_capacity_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(capacity=3, per_second=2, now=0.0)
    assert [bucket.take(now=0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait(now=0.0) == 0.5
    assert not bucket.take(now=0.4)
    assert bucket.take(now=0.5)  # one token back after half a second at 2/s
    assert not bucket.take(cost=2, now=1.0)  # one token: a cost of two waits, nothing taken
    assert bucket.take(cost=2, now=1.5)
    assert bucket.full(now=3.0) and not bucket.full(now=2.9)
    bucket.empty(now=10.0)
    assert not bucket.available(now=10.0) and bucket.wait(now=10.0) == 0.5


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def two_handles(
    request: pytest.FixtureRequest, redis_pools: Callable[[], Redis]
) -> tuple[SharedBuckets, SharedBuckets]:
    """Two handles on the same buckets (for Redis: two processes' pools)."""
    if request.param == "memory":
        memory = MemoryBuckets()
        return memory, memory
    await redis_or_skip()
    return RedisBuckets(redis_pools()), RedisBuckets(redis_pools())


async def test_shared_buckets_allow_the_capacity_once_across_handles(
    two_handles: tuple[SharedBuckets, SharedBuckets],
) -> None:
    a, b = two_handles
    key = f"test:{uuid.uuid4().hex}"
    assert await a.take(key, 3, 1 / 60) == 0.0
    assert await b.take(key, 3, 1 / 60, cost=2) == 0.0
    wait = await a.take(key, 3, 1 / 60)  # empty: about a minute for one token at 1/min
    assert 59 < wait <= 60
    other = f"test:{uuid.uuid4().hex}"
    assert await b.take(other, 3, 1 / 60, cost=3) == 0.0  # another key, its own bucket


async def test_a_drained_bucket_starts_again_from_empty(
    two_handles: tuple[SharedBuckets, SharedBuckets],
) -> None:
    """A cut-off client: a take that does not fit empties the bucket (what was left is lost),
    where a plain refusal leaves it as it was."""
    a, b = two_handles
    kept, drained = f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"
    rate = 0.01  # a token per 100 s: what the test's own time refills is negligible
    for key in (kept, drained):
        assert await a.take(key, 10, rate, cost=6) == 0.0
    assert math.isclose(await a.take(kept, 10, rate, cost=6), 200, abs_tol=1)  # 4 left of 6
    assert await b.take(kept, 10, rate, cost=4) == 0.0
    assert await a.take(drained, 10, rate, cost=6, drain=True) == 600
    assert math.isclose(await b.take(drained, 10, rate, cost=4), 400, abs_tol=1)  # none left
