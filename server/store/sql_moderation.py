"""`SqlHiddenNotes`: the notes the facilitator took off the board, over SQL."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from server.store.base import (
    HiddenNoteRecord,
    StoreError,
)
from server.store.sql_database import SqlDatabase
from server.store.tables import (
    boards,
    hidden_notes,
)


def _hidden(row: sa.Row[Any]) -> HiddenNoteRecord:
    fields = json.loads(row.fields)
    return HiddenNoteRecord(
        row.board_id,
        row.note_id,
        row.author,
        fields if isinstance(fields, dict) else {},
        row.reason,
        row.hidden_at,
    )


class SqlHiddenNotes:
    """Notes the facilitator took off the board (moderation)."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def _insert_on_board(self, table: sa.Table, row: dict[str, Any], taken: str) -> None:
        """Insert `row` of a board that must exist; `taken`: the error when its key is used."""
        async with self._db.write() as conn:
            query = sa.select(boards.c.id).where(boards.c.id == row["board_id"])
            if (await conn.execute(query)).first() is None:
                raise StoreError(f"unknown board {row['board_id']!r}")
            try:
                async with conn.begin_nested():
                    await conn.execute(table.insert(), row)
            except IntegrityError as error:
                raise StoreError(taken) from error

    async def put_hidden_note(self, record: HiddenNoteRecord) -> None:
        row = {
            "board_id": record.board_id,
            "note_id": record.note_id,
            "author": record.author,
            "fields": json.dumps(record.fields),
            "reason": record.reason,
            "hidden_at": record.hidden_at,
        }
        await self._insert_on_board(hidden_notes, row, f"note {record.note_id!r} is already hidden")

    async def hidden_notes(self, board_id: str) -> list[HiddenNoteRecord]:
        query = (
            hidden_notes.select()
            .where(hidden_notes.c.board_id == board_id)
            .order_by(hidden_notes.c.hidden_at, hidden_notes.c.note_id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_hidden(row) for row in rows]

    async def take_hidden_note(self, board_id: str, note_id: str) -> HiddenNoteRecord | None:
        where = (hidden_notes.c.board_id == board_id, hidden_notes.c.note_id == note_id)
        async with self._db.write() as conn:
            row = (await conn.execute(hidden_notes.select().where(*where))).first()
            if row is None:
                return None
            await conn.execute(hidden_notes.delete().where(*where))
        return _hidden(row)
