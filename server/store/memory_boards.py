"""The in-memory twin of boards and their participants (SQL: sql_boards.py)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from server.store.base import (
    BoardRecord,
    DuplicateJoinCode,
    ParticipantRecord,
    StoreError,
)
from server.store.memory_tables import MemoryTables


def _board_copy(board: BoardRecord) -> BoardRecord:
    # Records are frozen but `settings` is a mutable dict: copy it at the boundary so neither the
    # caller nor the store can change the other's data behind its back (as with the SQL store).
    return BoardRecord(
        id=board.id,
        title=board.title,
        join_code=board.join_code,
        created_at=board.created_at,
        settings=copy.deepcopy(board.settings),
    )


class MemoryBoards:
    """Boards and their participants."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def create_board(self, board: BoardRecord) -> None:
        async with self._t.lock:
            if board.join_code in self._t.board_by_code:
                raise DuplicateJoinCode(f"join code {board.join_code!r} is taken")
            if board.id in self._t.boards:
                raise StoreError(f"board {board.id!r} already exists")
            self._t.boards[board.id] = _board_copy(board)
            self._t.board_by_code[board.join_code] = board.id

    async def get_board(self, board_id: str) -> BoardRecord | None:
        board = self._t.boards.get(board_id)
        return None if board is None else _board_copy(board)

    async def get_board_by_code(self, join_code: str) -> BoardRecord | None:
        board_id = self._t.board_by_code.get(join_code)
        return None if board_id is None else await self.get_board(board_id)

    async def update_board_settings(self, board_id: str, settings: dict[str, Any]) -> None:
        async with self._t.lock:
            board = self._t.boards.get(board_id)
            if board is None:
                raise StoreError(f"unknown board {board_id!r}")
            self._t.boards[board_id] = _board_copy(
                BoardRecord(board.id, board.title, board.join_code, board.created_at, settings)
            )

    async def set_join_code(self, board_id: str, join_code: str) -> None:
        async with self._t.lock:
            board = self._t.boards.get(board_id)
            if board is None:
                raise StoreError(f"unknown board {board_id!r}")
            if self._t.board_by_code.get(join_code, board_id) != board_id:
                raise DuplicateJoinCode(f"join code {join_code!r} is taken")
            del self._t.board_by_code[board.join_code]
            self._t.board_by_code[join_code] = board_id
            self._t.boards[board_id] = dataclasses.replace(board, join_code=join_code)

    async def idle_boards(self, before_ts: float) -> list[str]:
        idle = []
        for board in self._t.boards.values():
            log = self._t.updates.get(board.id)
            if (log[-1].ts if log else board.created_at) < before_ts:
                idle.append(board.id)
        return sorted(idle)

    async def delete_board(self, board_id: str) -> bool:
        async with self._t.lock:
            board = self._t.boards.pop(board_id, None)
            if board is None:
                return False
            self._t.board_by_code.pop(board.join_code, None)
            for pid in [p.id for p in self._t.participants.values() if p.board_id == board_id]:
                del self._t.participants[pid]
                self._t.votes.pop((board_id, pid), None)
                self._t.marks.pop((board_id, pid), None)
            for table in (self._t.updates, self._t.snapshots, self._t.authors, self._t.events):
                table.pop(board_id, None)
            self._t.event_cursors.pop(board_id, None)
            for key in [k for k in self._t.media if k[0] == board_id]:
                del self._t.media[key]
            for key in [k for k in self._t.hidden if k[0] == board_id]:
                del self._t.hidden[key]
            self._t.flags.pop(board_id, None)
            for gloss in [k for k in self._t.explainers if k[0] == board_id]:
                del self._t.explainers[gloss]
            return True

    async def add_participant(self, participant: ParticipantRecord) -> None:
        async with self._t.lock:
            if participant.board_id not in self._t.boards:
                raise StoreError(f"unknown board {participant.board_id!r}")
            if participant.id in self._t.participants:
                raise StoreError(f"participant {participant.id!r} already exists")
            self._t.participants[participant.id] = participant

    async def get_participant(self, participant_id: str) -> ParticipantRecord | None:
        return self._t.participants.get(participant_id)

    async def list_participants(self, board_id: str) -> list[ParticipantRecord]:
        found = [p for p in self._t.participants.values() if p.board_id == board_id]
        # Same order as the SQL store: by join time, then id for ties.
        return sorted(found, key=lambda p: (p.created_at, p.id))

    async def revoke_participant(
        self, board_id: str, participant_id: str, new_name: str | None = None
    ) -> bool:
        async with self._t.lock:
            person = self._t.participants.get(participant_id)
            if person is None or person.board_id != board_id:
                return False
            name = person.name if new_name is None else new_name
            self._t.participants[participant_id] = dataclasses.replace(
                person, name=name, revoked=True
            )
            return True
