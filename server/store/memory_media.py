"""The in-memory twin of photo and voice notes and their quotas (SQL: sql_media.py)."""

from __future__ import annotations

from collections.abc import Sequence

from server.store.base import (
    MediaQuota,
    MediaRecord,
    StoreError,
    check_media_quota,
)
from server.store.memory_tables import MemoryTables


class MemoryMediaLibrary:
    """Photos and voice notes of a board."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def put_media(self, media: MediaRecord, quota: MediaQuota | None = None) -> None:
        async with self._t.lock:
            if media.board_id not in self._t.boards:
                raise StoreError(f"unknown board {media.board_id!r}")
            if any(key[1] == media.id for key in self._t.media):
                raise StoreError(f"media {media.id!r} already exists")
            if quota is not None:
                held = [m for (b, _i), m in self._t.media.items() if b == media.board_id]
                mine = [m for m in held if m.actor == media.actor]
                check_media_quota(
                    quota,
                    (len(held), sum(len(m.data) for m in held)),
                    (len(mine), sum(len(m.data) for m in mine)),
                    len(media.data),
                )
            self._t.media[(media.board_id, media.id)] = media

    async def existing_media(self, board_id: str, media_ids: Sequence[str]) -> set[str]:
        return {i for i in media_ids if (board_id, i) in self._t.media}

    async def unattached_media(self, before_ts: float, limit: int) -> list[tuple[str, str]]:
        found = sorted(
            (m.created_at, key)
            for key, m in self._t.media.items()
            if key not in self._t.attached and m.created_at < before_ts
        )
        return [key for _ts, key in found[:limit]]

    async def attach_media(self, board_id: str, media_ids: Sequence[str]) -> None:
        async with self._t.lock:
            self._t.attached.update(
                (board_id, i) for i in media_ids if (board_id, i) in self._t.media
            )

    async def delete_unattached_media(self, board_id: str, media_ids: Sequence[str]) -> int:
        async with self._t.lock:
            keys = [
                (board_id, i)
                for i in media_ids
                if (board_id, i) in self._t.media and (board_id, i) not in self._t.attached
            ]
            for key in keys:
                del self._t.media[key]
            return len(keys)

    async def get_media(self, board_id: str, media_id: str) -> MediaRecord | None:
        return self._t.media.get((board_id, media_id))

    async def delete_media_of_board(self, board_id: str) -> int:
        async with self._t.lock:
            keys = [key for key in self._t.media if key[0] == board_id]
            for key in keys:
                del self._t.media[key]
                self._t.attached.discard(key)
            return len(keys)
