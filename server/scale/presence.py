"""Who is online on a board, across every process of the service.

Each process counts its own connections per (board, actor). Alone, that is the answer. With Redis,
each process also writes its (instance, actor) pairs into a sorted set per board,
`cobord:online:<board>`, scored by an expiry time and refreshed every third of the expiry
(`COBORD_PRESENCE_TTL_SECONDS`): entries of a process that died (SIGKILL, power cut) stop
counting once expired. Readers take the unexpired entries of the other processes plus their own
live counts. One task owns the writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("cobord.presence")

TTL_SECONDS = 15.0  # default of Settings.presence_ttl_seconds; entries refreshed at a third of it
REDIS_TIMEOUT_SECONDS = 2.0
SEPARATOR = "\x1f"


def key_of(board_id: str) -> str:
    return "cobord:online:" + board_id


class Presence:
    def __init__(
        self, instance_id: str, redis: aioredis.Redis | None = None, ttl: float = TTL_SECONDS
    ) -> None:
        self.instance_id = instance_id
        self.ttl = ttl
        self.local: dict[str, dict[str, int]] = {}  # board id -> actor id -> open connections
        # The process's pool (server/scale/redis.py): not ours to close.
        self._client: aioredis.Redis | None = redis
        self._gone: set[tuple[str, str]] = set()  # (board, actor) to remove from Redis
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._client is not None:
            self._task = asyncio.create_task(self._sync_loop(), name="presence:redis")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            # Leave nothing behind: our entries would otherwise count until they expire.
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    pipe = self._client.pipeline(transaction=False)
                    for board_id, actors in self.local.items():
                        pipe.zrem(key_of(board_id), *(self._member(a) for a in actors))
                    await pipe.execute()

    def count(self, board_id: str, actor_id: str, delta: int) -> None:
        board = self.local.setdefault(board_id, {})
        count = board.get(actor_id, 0) + delta
        if count > 0:
            board[actor_id] = count
            self._gone.discard((board_id, actor_id))
        else:
            board.pop(actor_id, None)
            if not board:
                self.local.pop(board_id, None)
            self._gone.add((board_id, actor_id))
        self._dirty.set()

    async def online(self, board_id: str) -> dict[str, int]:
        """actor id -> open connections, on every process (Redis unreachable: this one only)."""
        result = dict(self.local.get(board_id, {}))
        if self._client is None:
            return result
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                members = await self._client.zrangebyscore(key_of(board_id), time.time(), "+inf")
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("board %s: presence from Redis unavailable: %r", board_id, exc)
            return result
        for raw in members:
            member = raw.decode() if isinstance(raw, bytes) else str(raw)
            instance, _, actor = member.partition(SEPARATOR)
            if instance != self.instance_id:  # ours: the live local counts are exact
                result[actor] = result.get(actor, 0) + 1
        return result

    def _member(self, actor_id: str) -> str:
        return f"{self.instance_id}{SEPARATOR}{actor_id}"

    async def _sync_loop(self) -> None:
        assert self._client is not None
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ttl / 3):
                    await self._dirty.wait()
            self._dirty.clear()
            gone, self._gone = self._gone, set()
            now = time.time()
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    pipe = self._client.pipeline(transaction=False)
                    for board_id, actor_id in gone:
                        pipe.zrem(key_of(board_id), self._member(actor_id))
                    for board_id, actors in self.local.items():
                        key = key_of(board_id)
                        pipe.zadd(key, {self._member(a): now + self.ttl for a in actors})
                        pipe.zremrangebyscore(key, "-inf", now)  # the dead processes' entries
                        pipe.expire(key, max(1, int(self.ttl * 2)))
                    await pipe.execute()
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("presence not written to Redis: %r", exc)
                self._gone |= {g for g in gone if g[1] not in self.local.get(g[0], {})}
