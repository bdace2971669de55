"""Retention: with `COBORD_RETENTION_DAYS`, boards idle longer than that are deleted everywhere
(every row, and their live rooms closed on every process with 4404): docs/privacy.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from server.closing import Closer, erase_board
from server.live.hub import Hub
from server.store.base import Store

log = logging.getLogger("cobord.privacy")

BOARD_EXPIRED = "board deleted after the retention period"


class Retention:
    """With `COBORD_RETENTION_DAYS`, deletes boards idle longer than that (checked hourly)."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        days: float,
        every_seconds: float = 3600,
        closer: Closer | None = None,
        forget: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.closer = closer or Closer(store, hub)
        self.forget = forget or (lambda board_id: None)
        self.days = days
        self.every = every_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """A first sweep now (before the server accepts requests), then one every hour."""
        if self.days > 0:
            await self.sweep()
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> list[str]:
        """Delete every board whose last activity is older than the retention period."""
        cutoff = time.time() - self.days * 86400
        deleted = []
        for board_id in await self.store.boards.idle_boards(cutoff):
            if board_id in self.hub.rooms:
                continue  # live right now: not idle
            if await erase_board(self.store, self.closer, board_id, BOARD_EXPIRED):
                self.forget(board_id)
                log.warning(
                    "board %s deleted: idle for more than %g days (COBORD_RETENTION_DAYS)",
                    board_id,
                    self.days,
                )
                deleted.append(board_id)
        return deleted

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.sweep()
            except Exception:
                log.exception("retention sweep failed")
