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
in-memory twin `MemoryBudgets`, and `RedisBudgets`: a shared token bucket per (board, actor),
server/scale/bucket.py); when that one is spent, the actor is cut off on this process too.
One contract for both (tests/test_refusal_budgets.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Final, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.scale.bucket import MemoryBuckets, RedisBuckets, TokenBucket

BURST: Final = 20.0
PER_SECOND: Final = 1.0
MAX_TRACKED: Final = 10_000  # actors whose budget is not full, per table (oldest dropped first)
KEY_PREFIX: Final = "refusals:"  # of the shared bucket's key
BUDGET_ERRORS = (RedisError, OSError, TimeoutError)


class RefusalBudget(TokenBucket):
    """One actor's budget: the token bucket (server/scale/bucket.py), `BURST` refusals refilled
    at `PER_SECOND`."""

    __slots__ = ()

    def __init__(self, now: float | None = None) -> None:
        super().__init__(BURST, PER_SECOND, now)

    def spend(self, now: float | None = None) -> bool:
        """Take one refusal from the budget; False when it is spent (cut the client off)."""
        return self.take(now=now)


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
    """The twin: one process, or several in one test (the same buckets as Redis's)."""

    def __init__(self) -> None:
        self._buckets = MemoryBuckets(MAX_TRACKED)

    async def spend(self, board_id: str, actor_id: str, count: int = 1) -> bool:
        key = f"{board_id}:{actor_id}"
        return self._buckets.take_now(key, BURST, PER_SECOND, count, drain=True) == 0.0

    async def close(self) -> None:
        pass


class RedisBudgets:
    """One shared token bucket per (board, actor) (server/scale/bucket.py), drained when a spend
    does not fit: a cut-off actor starts again from an empty budget."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._buckets = RedisBuckets(redis)  # on the process's pool (server/scale/redis.py)

    async def spend(self, board_id: str, actor_id: str, count: int = 1) -> bool:
        key = f"{KEY_PREFIX}{board_id}:{actor_id}"
        return await self._buckets.take(key, BURST, PER_SECOND, count, drain=True) == 0.0

    async def close(self) -> None:
        pass


def make_budgets(redis: aioredis.Redis | None) -> SharedBudgets:
    return RedisBudgets(redis) if redis is not None else MemoryBudgets()
