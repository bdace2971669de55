"""`SqlBoards`: boards and their participants over SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from server.store.base import (
    BoardRecord,
    DuplicateJoinCode,
    ParticipantRecord,
    StoreError,
)
from server.store.sql_database import SqlDatabase
from server.store.tables import (
    boards,
    disagree_marks,
    event_cursors,
    events,
    glossary_explainers,
    glossary_flags,
    hidden_notes,
    media,
    note_authors,
    participants,
    snapshots,
    update_log,
    votes,
)


def _board(row: sa.Row[Any]) -> BoardRecord:
    return BoardRecord(
        id=row.id,
        title=row.title,
        join_code=row.join_code,
        created_at=row.created_at,
        settings=row.settings,
    )


def _participant(row: sa.Row[Any]) -> ParticipantRecord:
    return ParticipantRecord(
        id=row.id,
        board_id=row.board_id,
        name=row.name,
        group=row.group_name,
        lang=row.lang,
        created_at=row.created_at,
        revoked=bool(row.revoked),
    )


class SqlBoards:
    """Boards and their participants."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def create_board(self, board: BoardRecord) -> None:
        row = {
            "id": board.id,
            "title": board.title,
            "join_code": board.join_code,
            "created_at": board.created_at,
            "settings": board.settings,
        }
        try:
            async with self._db.write() as conn:
                await conn.execute(boards.insert(), row)
        except IntegrityError as error:
            # Tell the two unique keys apart without parsing driver-specific messages.
            if await self.get_board_by_code(board.join_code) is not None:
                raise DuplicateJoinCode(f"join code {board.join_code!r} is taken") from error
            raise StoreError(f"board {board.id!r} already exists") from error

    async def get_board(self, board_id: str) -> BoardRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(boards.select().where(boards.c.id == board_id))).first()
        return None if row is None else _board(row)

    async def get_board_by_code(self, join_code: str) -> BoardRecord | None:
        query = boards.select().where(boards.c.join_code == join_code)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _board(row)

    async def update_board_settings(self, board_id: str, settings: dict[str, Any]) -> None:
        query = boards.update().where(boards.c.id == board_id).values(settings=settings)
        async with self._db.write() as conn:
            result = await conn.execute(query)
        if result.rowcount == 0:
            raise StoreError(f"unknown board {board_id!r}")

    async def set_join_code(self, board_id: str, join_code: str) -> None:
        query = boards.update().where(boards.c.id == board_id).values(join_code=join_code)
        try:
            async with self._db.write() as conn:
                result = await conn.execute(query)
        except IntegrityError as error:
            raise DuplicateJoinCode(f"join code {join_code!r} is taken") from error
        if result.rowcount == 0:
            raise StoreError(f"unknown board {board_id!r}")

    async def idle_boards(self, before_ts: float) -> list[str]:
        last = (
            sa.select(update_log.c.ts)
            .where(update_log.c.board_id == boards.c.id)
            .order_by(update_log.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            sa.select(boards.c.id)
            .where(sa.func.coalesce(last, boards.c.created_at) < before_ts)
            .order_by(boards.c.id)
        )
        async with self._db.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def delete_board(self, board_id: str) -> bool:
        async with self._db.write() as conn:
            # Children first (foreign keys), the board row last.
            for table in (
                votes,
                disagree_marks,
                participants,
                update_log,
                snapshots,
                note_authors,
                events,
                media,
                hidden_notes,
                glossary_flags,
                glossary_explainers,
            ):
                await conn.execute(table.delete().where(table.c.board_id == board_id))
            await conn.execute(event_cursors.delete().where(event_cursors.c.board_id == board_id))
            result = await conn.execute(boards.delete().where(boards.c.id == board_id))
        return bool(result.rowcount)

    async def add_participant(self, participant: ParticipantRecord) -> None:
        row = {
            "id": participant.id,
            "board_id": participant.board_id,
            "name": participant.name,
            "group_name": participant.group,
            "lang": participant.lang,
            "created_at": participant.created_at,
        }
        try:
            async with self._db.write() as conn:
                await conn.execute(participants.insert(), row)
        except IntegrityError as error:
            raise StoreError(
                f"participant {participant.id!r} exists or board {participant.board_id!r} does not"
            ) from error

    async def get_participant(self, participant_id: str) -> ParticipantRecord | None:
        query = participants.select().where(participants.c.id == participant_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _participant(row)

    async def list_participants(self, board_id: str) -> list[ParticipantRecord]:
        query = (
            participants.select()
            .where(participants.c.board_id == board_id)
            .order_by(participants.c.created_at, participants.c.id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_participant(row) for row in rows]

    async def revoke_participant(
        self, board_id: str, participant_id: str, new_name: str | None = None
    ) -> bool:
        values: dict[str, Any] = {"revoked": True}
        if new_name is not None:
            values["name"] = new_name
        query = (
            participants.update()
            .where(participants.c.id == participant_id, participants.c.board_id == board_id)
            .values(**values)
        )
        async with self._db.write() as conn:
            result = await conn.execute(query)
        return bool(result.rowcount)
