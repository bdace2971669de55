"""The in-memory twin of the notes the facilitator took off the board (SQL: sql_moderation.py)."""

from __future__ import annotations

import copy

from server.store.base import (
    HiddenNoteRecord,
    StoreError,
)
from server.store.memory_tables import MemoryTables


class MemoryHiddenNotes:
    """Notes the facilitator took off the board (moderation)."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def put_hidden_note(self, record: HiddenNoteRecord) -> None:
        async with self._t.lock:
            if record.board_id not in self._t.boards:
                raise StoreError(f"unknown board {record.board_id!r}")
            key = (record.board_id, record.note_id)
            if key in self._t.hidden:
                raise StoreError(f"note {record.note_id!r} is already hidden")
            self._t.hidden[key] = copy.deepcopy(record)

    async def hidden_notes(self, board_id: str) -> list[HiddenNoteRecord]:
        found = [copy.deepcopy(r) for k, r in self._t.hidden.items() if k[0] == board_id]
        return sorted(found, key=lambda r: (r.hidden_at, r.note_id))

    async def take_hidden_note(self, board_id: str, note_id: str) -> HiddenNoteRecord | None:
        async with self._t.lock:
            return self._t.hidden.pop((board_id, note_id), None)
