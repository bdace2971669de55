"""A board's settings: the public view of them and saving a change (what each may hold:
crdt/fields.py SETTING_TYPES).

Settings live in the board's row; the server mirrors them into the document's `meta` (the room's
rules read them there, and every open screen sees them live).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from redis.exceptions import RedisError

from crdt import schema
from crdt.fields import SETTING_TYPES
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.live.room import Room
from server.store.base import BoardRecord

# Settings the API owns (not in crdt/schema.py's defaults).
API_DEFAULT_SETTINGS: dict[str, Any] = {"joining_open": True}


def validate_settings(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(SETTING_TYPES))
    if unknown:
        raise ApiError(422, "unknown_setting", f"Unknown settings: {', '.join(unknown)}.")
    for key, value in body.items():
        if not SETTING_TYPES[key](value):
            raise ApiError(422, "bad_setting", f"Invalid value for '{key}'.")
    return dict(body)


def public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    defaults = {**API_DEFAULT_SETTINGS, **schema.DEFAULT_SETTINGS}
    return {key: settings.get(key, defaults.get(key)) for key in SETTING_TYPES}


def disagree_budget(settings: dict[str, Any]) -> int:
    return int(settings.get("disagree_budget", schema.DEFAULT_SETTINGS["disagree_budget"]))


def meta_of(board: BoardRecord) -> dict[str, Any]:
    return {
        "title": board.title,
        # Every token holder may show it (GET /api/boards/{id}); in the doc, an open projector or
        # panel learns a new code live and after a reconnect, like any setting.
        "join_code": board.join_code,
        "phase": board.settings.get("phase", "ideate"),
        "timer": board.settings.get("timer"),
        "settings": public_settings(board.settings),
    }


def write_meta(doc: schema.Board, meta: dict[str, Any]) -> None:
    """Write what changed of `meta` into the document (a server change)."""
    current = doc.meta.to_py() or {}
    for key, value in meta.items():
        if current.get(key) != value:
            doc.meta[key] = value


class SettingsWriter:
    """Saves changes to a board's settings and mirrors them into its `meta`."""

    def __init__(self, http: HttpContext) -> None:
        self.http = http
        self._locks: dict[str, list[Any]] = {}  # board id -> [lock, requests using it]

    async def save(self, board: BoardRecord, changes: dict[str, Any]) -> BoardRecord:
        """Merge `changes` into the board's settings (read afresh under a per-board lock, so two
        quick changes never undo each other), then mirror them into `meta`."""
        # Count the requests using the lock: `locked()` is False between a release and the next
        # waiter taking it, so dropping the lock on that alone could let a second one be created.
        entry = self._locks.setdefault(board.id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            # The asyncio lock orders this process's requests; the fan-out lock (Redis, expiring)
            # those of every process, so two PATCHes on two processes never undo each other.
            async with entry[0], self._lock_across(board.id):
                board = await self.http.board(board.id)
                settings = {**board.settings, **changes}
                await self.http.store.boards.update_board_settings(board.id, settings)
                board = replace(board, settings=settings)
                await self._write_meta(board)
        finally:
            entry[1] -= 1
            if not entry[1]:
                self._locks.pop(board.id, None)
        return board

    @contextlib.asynccontextmanager
    async def _lock_across(self, board_id: str) -> AsyncIterator[None]:
        try:
            lock = self.http.hub.fanout.lock(f"settings:{board_id}")
            await lock.__aenter__()
        except (OSError, TimeoutError, RedisError) as exc:
            raise ApiError(
                503, "unavailable", "The board's settings cannot be changed now; try again."
            ) from exc
        try:
            yield
        finally:
            await lock.__aexit__(None, None, None)

    async def _write_meta(self, board: BoardRecord) -> None:
        settings = board.settings
        meta = meta_of(board)

        async def write(room: Room) -> None:
            # The room's rules pick the new settings up from `meta` once this is committed.
            await room.apply_server_change(lambda doc: write_meta(doc, meta))
            if settings.get("votes_visibility") == "hidden":
                await room.apply_server_change(lambda doc: doc.results.clear())

        await self.http.with_room(board.id, write)
