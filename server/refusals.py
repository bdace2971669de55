"""How many refused updates a connection may send before it is cut off.

Ten refused in a row close the socket (4403, `Settings.max_refusals`); that alone lets a client
that puts one allowed edit between every nine forbidden ones be judged forever, and each judgement
costs the board (decode, shadow, compensation, a frame to everyone). So refusals also spend a
per-connection budget: a burst of `BURST`, refilled at `PER_SECOND`; an empty budget closes the
socket with the same 4403 and reason. A legitimate client is never refused for a race (issue 7),
only for a real rule (a lock, a quota) a person can hit a few times, not twenty at once.
"""

from __future__ import annotations

import time
from typing import Final

BURST: Final = 20.0
PER_SECOND: Final = 1.0


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
