"""The token bucket: the one rate rule of the server, in one process.

A bucket holds up to `capacity` tokens and gains `per_second` of them as time passes (monotonic
clock); an action takes one, and is refused when less than one is left. Three things are rated
this way: a socket's messages (server/ws.py, `COBORD_RATE_PER_SECOND` / `COBORD_RATE_BURST`), a
participant's refused updates (server/refusals.py) and the HTTP actions of an address
(limits.py, without Redis or when it does not answer). The shared, cross-process variants live
in Redis (refusals.py's script, limits.py's window); this is their in-process twin and fallback.

Every method takes an optional `now` so tests drive the clock without sleeping.
"""

from __future__ import annotations

import time


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

    def take(self, now: float | None = None) -> bool:
        """Take one token; False (nothing taken) when less than one is left."""
        if self._refill(now) < 1.0:
            return False
        self._level -= 1.0
        return True

    def available(self, now: float | None = None) -> bool:
        """Could one token be taken now (without taking it)?"""
        return self._refill(now) >= 1.0

    def wait(self, now: float | None = None) -> float:
        """Seconds until one token can be taken (0.0: now)."""
        missing = 1.0 - self._refill(now)
        return max(0.0, missing / self.per_second) if self.per_second > 0 else float("inf")

    def full(self, now: float | None = None) -> bool:
        """As good as a new bucket (a table of buckets may drop it)."""
        return self._refill(now) >= self.capacity

    def empty(self, now: float | None = None) -> None:
        self._level = 0.0
        self._at = time.monotonic() if now is None else now
