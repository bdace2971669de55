"""`SqlMediaLibrary`: photo and voice notes over SQL, with their quotas counted in SQL."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from server.store.base import (
    MediaQuota,
    MediaRecord,
    StoreError,
    check_media_quota,
)
from server.store.sql_database import SqlDatabase
from server.store.tables import (
    boards,
    media,
)


class SqlMediaLibrary:
    """Photos and voice notes of a board."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def put_media(self, record: MediaRecord, quota: MediaQuota | None = None) -> None:
        row = {
            "id": record.id,
            "board_id": record.board_id,
            "kind": record.kind,
            "content_type": record.content_type,
            "data": record.data,
            "actor": record.actor,
            "created_at": record.created_at,
            "size": len(record.data),
            "attached": False,
        }
        async with self._db.write() as conn:
            # The board row's lock (PostgreSQL; SQLite: BEGIN IMMEDIATE) serializes the board's
            # uploads from the count to COMMIT, on every process.
            query = sa.select(boards.c.id).where(boards.c.id == record.board_id).with_for_update()
            if (await conn.execute(query)).first() is None:
                raise StoreError(f"unknown board {record.board_id!r}")
            if quota is not None:
                mine = sa.case((media.c.actor == record.actor, 1), else_=0)
                mine_bytes = sa.case((media.c.actor == record.actor, media.c.size), else_=0)
                usage = sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(media.c.size), 0),
                    sa.func.coalesce(sa.func.sum(mine), 0),
                    sa.func.coalesce(sa.func.sum(mine_bytes), 0),
                ).where(media.c.board_id == record.board_id)
                count, held, my_count, my_held = (await conn.execute(usage)).one()
                check_media_quota(
                    quota,
                    (int(count), int(held)),
                    (int(my_count), int(my_held)),
                    len(record.data),
                )
            try:
                async with conn.begin_nested():
                    await conn.execute(media.insert(), row)
            except IntegrityError as error:
                raise StoreError(f"media {record.id!r} already exists") from error

    async def existing_media(self, board_id: str, media_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        wanted = list(dict.fromkeys(media_ids))
        async with self._db.read() as conn:
            for start in range(0, len(wanted), 500):  # bounded IN lists
                query = sa.select(media.c.id).where(
                    media.c.board_id == board_id, media.c.id.in_(wanted[start : start + 500])
                )
                found.update((await conn.execute(query)).scalars())
        return found

    async def unattached_media(self, before_ts: float, limit: int) -> list[tuple[str, str]]:
        query = (
            sa.select(media.c.board_id, media.c.id)
            .where(media.c.attached.is_(False), media.c.created_at < before_ts)
            .order_by(media.c.created_at)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [(b, i) for b, i in (await conn.execute(query)).all()]

    async def attach_media(self, board_id: str, media_ids: Sequence[str]) -> None:
        if not media_ids:
            return
        async with self._db.write() as conn:
            await conn.execute(
                media.update()
                .where(media.c.board_id == board_id, media.c.id.in_(list(media_ids)))
                .values(attached=True)
            )

    async def delete_unattached_media(self, board_id: str, media_ids: Sequence[str]) -> int:
        if not media_ids:
            return 0
        async with self._db.write() as conn:
            result = await conn.execute(
                media.delete().where(
                    media.c.board_id == board_id,
                    media.c.id.in_(list(media_ids)),
                    media.c.attached.is_(False),
                )
            )
        return int(result.rowcount)

    async def get_media(self, board_id: str, media_id: str) -> MediaRecord | None:
        query = media.select().where(media.c.board_id == board_id, media.c.id == media_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return MediaRecord(
            row.id,
            row.board_id,
            row.kind,
            row.content_type,
            bytes(row.data),
            row.actor,
            row.created_at,
        )

    async def delete_media_of_board(self, board_id: str) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(media.delete().where(media.c.board_id == board_id))
        return int(result.rowcount)
