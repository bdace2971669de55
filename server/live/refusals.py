"""How many refused updates a participant may send before being cut off.

Ten refused in a row close the socket (4403, `Settings.max_refusals`); that alone lets a client
that puts one allowed edit between every nine forbidden ones be judged forever, and each judgement
costs the board (decode, shadow, compensation, a frame to everyone). So refusals also spend a
budget: a burst of `BURST`, refilled at `PER_SECOND`; an empty budget closes the socket with the
same 4403 and reason. A legitimate client is never refused for a race (issue 7), only for a real
rule (a lock, a quota) a person can hit a few times, not twenty at once.

The budget follows the actor (the participant a token names), not the socket: a client that
reconnects after each cut-off used to get a fresh budget every time (issue 20: 23-41 refusals a
second, the log growing by megabytes). One process keeps one `RefusalBudget` per actor of a
board (`RefusalBudgets`, in the room core). With several processes (`REDIS_URL`) the room's
driver also spends each refusal in a budget shared by every process (`SharedBudgets`: the
in-memory twin `MemoryBudgets`, and `RedisBudgets`, one hash per (board, actor) refilled by a
Lua script on Redis's clock); when that one is spent, the actor is cut off on this process too.
One contract for both (tests/test_refusal_budgets.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Final, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

BURST: Final = 20.0
PER_SECOND: Final = 1.0
MAX_TRACKED: Final = 10_000  # actors whose budget is not full, per table (oldest dropped first)
REDIS_TIMEOUT_SECONDS: Final = 2.0
KEY_PREFIX: Final = "cobord:refusals:"
BUDGET_ERRORS = (RedisError, OSError, TimeoutError)


class RefusalBudget:
    __slots__ = ("_at", "_level")

    def __init__(self, now: float | None = None) -> None:
        self._level = BURST
        self._at = time.monotonic() if now is None else now

    def spend(self, now: float | None = None) -> bool:
        """Take one refusal from the budget; False when it is spent (cut the client off)."""
        now = time.monotonic() if now is None else now
        self._level = min(BURST, self._level + (now - self._at) * PER_SECOND)
        self._at = now
        if self._level < 1.0:
            return False
        self._level -= 1.0
        return True

    def available(self, now: float | None = None) -> bool:
        """Could one refusal be taken now (without taking it)?"""
        now = time.monotonic() if now is None else now
        return self._level + (now - self._at) * PER_SECOND >= 1.0

    def empty(self, now: float | None = None) -> None:
        self._level = 0.0
        self._at = time.monotonic() if now is None else now

    def full(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self._level + (now - self._at) * PER_SECOND >= BURST


class RefusalBudgets:
    """One process's budgets, per actor. A budget refilled to full is the same as a new one,
    so the table drops those first when it grows past MAX_TRACKED (then the oldest)."""

    def __init__(self) -> None:
        self._budgets: OrderedDict[str, RefusalBudget] = OrderedDict()

    def of(self, actor_id: str) -> RefusalBudget:
        budget = self._budgets.get(actor_id)
        if budget is None:
            if len(self._budgets) >= MAX_TRACKED:
                self._prune()
            budget = self._budgets[actor_id] = RefusalBudget()
        self._budgets.move_to_end(actor_id)
        return budget

    def empty(self, actor_id: str) -> None:
        self.of(actor_id).empty()

    def allows(self, actor_id: str) -> bool:
        """False while the actor's budget is spent: a new socket of theirs is closed at once,
        so reconnecting after a cut-off buys no judgement (nor a whole-board sync)."""
        budget = self._budgets.get(actor_id)
        return budget is None or budget.available()

    def __setitem__(self, actor_id: str, budget: RefusalBudget) -> None:
        self._budgets[actor_id] = budget

    def _prune(self) -> None:
        now = time.monotonic()
        for actor_id in [a for a, b in self._budgets.items() if b.full(now)]:
            del self._budgets[actor_id]
        while len(self._budgets) >= MAX_TRACKED:
            self._budgets.popitem(last=False)


class SharedBudgets(Protocol):
    async def spend(self, board_id: str, actor_id: str, count: int = 1) -> bool:
        """Take `count` refusals from the actor's budget on this board; False when it could
        not (it is spent: cut the actor off)."""

    async def close(self) -> None: ...


class MemoryBudgets:
    """The twin: one process, or several in one test."""

    def __init__(self) -> None:
        self._boards: dict[str, RefusalBudgets] = {}

    async def spend(self, board_id: str, actor_id: str, count: int = 1) -> bool:
        budget = self._boards.setdefault(board_id, RefusalBudgets()).of(actor_id)
        return all([budget.spend() for _ in range(count)])

    async def close(self) -> None:
        self._boards.clear()


# KEYS[1]: the actor's hash; ARGV: burst, per second, count. Redis's clock, so processes with
# skewed clocks share one budget. Returns 1 when `count` could be taken, else 0 (then empty).
_SPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local burst, rate, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or burst)
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or now)
level = math.min(burst, level + math.max(0, now - at) * rate)
local ok = 0
if level >= count then
  level = level - count
  ok = 1
else
  level = 0
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return ok
"""


class RedisBudgets:
    def __init__(self, url: str) -> None:
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._spend = self._client.register_script(_SPEND)

    async def spend(self, board_id: str, actor_id: str, count: int = 1) -> bool:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            answer = await self._spend(
                keys=[f"{KEY_PREFIX}{board_id}:{actor_id}"], args=[BURST, PER_SECOND, count]
            )
        return bool(int(answer))

    async def close(self) -> None:
        await self._client.aclose()


def make_budgets(redis_url: str | None) -> SharedBudgets:
    return RedisBudgets(redis_url) if redis_url else MemoryBudgets()
