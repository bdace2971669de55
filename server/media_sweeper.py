"""Uploads never attached to a note are deleted once they are old enough
(`COBORD_MEDIA_ORPHAN_MINUTES`): one task owned by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from pycrdt import Doc

from crdt import replay, schema
from server.store.base import Store

log = logging.getLogger("cobord.media")


class MediaSweeper:
    """Deletes uploads never attached to a note once they are `orphan_minutes` old: one task,
    owned by the app's lifespan (`start`/`close`). Every process may run one: the store deletes
    a row only while it is still unattached, so two sweepers never disagree.

    An old unattached upload is looked up in its board's committed document (latest keyframe +
    log) and among its hidden notes: one a note uses is marked attached (kept for good, also
    for the replay after that note is deleted); the others are deleted."""

    BATCH = 500

    def __init__(self, store: Store, orphan_minutes: float) -> None:
        self.store = store
        self.orphan_seconds = orphan_minutes * 60
        self.deleted = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.orphan_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="media-sweeper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        interval = min(600.0, max(1.0, self.orphan_seconds / 2))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:  # a failing store must not end the task: next round
                log.exception("media sweep failed")

    async def sweep(self) -> int:
        """One round; returns how many uploads were deleted."""
        found = await self.store.media.unattached_media(
            time.time() - self.orphan_seconds, self.BATCH
        )
        by_board: dict[str, list[str]] = {}
        for board_id, media_id in found:
            by_board.setdefault(board_id, []).append(media_id)
        deleted = 0
        for board_id, ids in by_board.items():
            used = await self._used(board_id)
            await self.store.media.attach_media(board_id, [i for i in ids if i in used])
            gone = await self.store.media.delete_unattached_media(
                board_id, [i for i in ids if i not in used]
            )
            if gone:
                log.info("board %s: %d upload(s) never attached to a note deleted", board_id, gone)
            deleted += gone
        self.deleted += deleted
        return deleted

    async def _used(self, board_id: str) -> set[str]:
        """Media ids the board's notes name: committed ones and hidden ones."""
        keyframe, tail = await self.store.log.load(board_id)
        state = replay.state_at(keyframe.state if keyframe else None, [u.data for u in tail])
        used = await asyncio.to_thread(_media_of_state, state)
        for hidden in await self.store.moderation.hidden_notes(board_id):
            if isinstance(hidden.fields.get("media"), str):
                used.add(hidden.fields["media"])
        return used


def _media_of_state(state: bytes) -> set[str]:
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    return {note.media for note in schema.Board(doc).notes() if note.media is not None}
