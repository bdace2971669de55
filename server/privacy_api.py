"""Data protection: erase a board with all its history, and idle boards after a retention period.

`DELETE /api/boards/{id}` (facilitator): the live room's clients are closed first (4404, "board
deleted"), then every row of the board goes, in every table. The room's final commit and keyframe
run while it stops, so the rows are deleted once more after it stopped: nothing it flushed stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crdt.protocol import CloseCode
from server.api import Api, _handles_errors
from server.hub import Hub
from server.store.base import Store

log = logging.getLogger("cobord.privacy")

BOARD_DELETED = "board deleted by the facilitator"
BOARD_EXPIRED = "board deleted after the retention period"


async def erase_board(store: Store, hub: Hub, board_id: str, reason: str) -> bool:
    """Delete the board everywhere and close its live room; False if it did not exist."""
    existed = await store.delete_board(board_id)
    room = hub.rooms.get(board_id)
    if room is not None:
        for conn in list(room.connections):
            conn.close(CloseCode.UNKNOWN_BOARD, reason)
        async with hub._lock(board_id):
            await hub._drop(board_id)
        await store.delete_board(board_id)  # what the stopping room committed on its way out
    return existed


class PrivacyApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    def routes(self) -> list[Route]:
        return [
            Route("/api/boards/{board_id}", _handles_errors(self.delete_board), methods=["DELETE"])
        ]

    async def delete_board(self, request: Request) -> Response:
        board, _ = await self.api._auth(request, "facilitator")
        await erase_board(self.api.store, self.api.hub, board.id, BOARD_DELETED)
        log.info("board %s deleted by its facilitator", board.id)
        return Response(status_code=204)


class Retention:
    """With `COBORD_RETENTION_DAYS`, deletes boards idle longer than that (checked hourly)."""

    def __init__(self, store: Store, hub: Hub, days: float, every_seconds: float = 3600) -> None:
        self.store = store
        self.hub = hub
        self.days = days
        self.every = every_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.days > 0:
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
        for board_id in await self.store.idle_boards(cutoff):
            if board_id in self.hub.rooms:
                continue  # live right now: not idle
            if await erase_board(self.store, self.hub, board_id, BOARD_EXPIRED):
                log.warning(
                    "board %s deleted: idle for more than %g days (COBORD_RETENTION_DAYS)",
                    board_id,
                    self.days,
                )
                deleted.append(board_id)
        return deleted

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("retention sweep failed")
            await asyncio.sleep(self.every)
