"""The in-memory twin of the "who did what" feed and its cursor (SQL: sql_events.py)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from server.store.base import (
    EventRecord,
)
from server.store.memory_tables import MemoryTables


class MemoryEvents:
    """The "who did what" feed decoded from the log, and its cursor."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def event_cursor(self, board_id: str) -> int:
        return self._t.event_cursors.get(board_id, 0)

    async def save_events(
        self, board_id: str, expected_cursor: int, upto_seq: int, events: Sequence[EventRecord]
    ) -> bool:
        async with self._t.lock:
            if board_id not in self._t.boards:
                return False
            if self._t.event_cursors.get(board_id, 0) != expected_cursor:
                return False
            self._t.events.setdefault(board_id, []).extend(
                sorted(events, key=lambda e: (e.seq, e.idx))
            )
            self._t.event_cursors[board_id] = upto_seq
            return True

    async def events_after(
        self, board_id: str, after_seq: int, limit: int, kinds: Sequence[str] | None = None
    ) -> list[EventRecord]:
        log = self._t.events.get(board_id, [])
        start = bisect.bisect_right(log, after_seq, key=lambda e: e.seq)
        found: list[EventRecord] = []
        for event in log[start:]:
            if len(found) >= limit:
                break
            if kinds is None or event.kind in kinds:
                found.append(event)
        return found
