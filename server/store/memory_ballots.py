"""The in-memory twin of dots and "I disagree" marks, with the voting rules both stores check with
(ballot_rules.py; SQL: sql_ballots.py)."""

from __future__ import annotations

from server.store.ballot_rules import check_mark, check_no_mark_when_dotting, check_vote
from server.store.base import (
    MarkRecord,
    StoreError,
    VoteRecord,
    VoteTally,
)
from server.store.memory_tables import MemoryTables


class MemoryBallots:
    """Dots and "I disagree" marks, atomic per participant."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    def _check_participant(self, board_id: str, participant_id: str) -> None:
        participant = self._t.participants.get(participant_id)
        if participant is None or participant.board_id != board_id:
            raise StoreError(f"unknown participant {participant_id!r} on board {board_id!r}")

    async def cast_vote(
        self,
        board_id: str,
        participant_id: str,
        note_id: str,
        delta: int,
        budget: int,
        max_per_note: int,
    ) -> VoteTally:
        if delta not in (1, -1):
            raise ValueError(f"delta must be +1 or -1, not {delta}")
        async with self._t.lock:
            self._check_participant(board_id, participant_id)
            mine = self._t.votes.setdefault((board_id, participant_id), {})
            count = mine.get(note_id, 0)
            check_vote(delta, count, sum(mine.values()), budget, max_per_note)
            if delta > 0:
                marked = self._t.marks.get((board_id, participant_id), set())
                check_no_mark_when_dotting(note_id in marked)
            if count + delta:
                mine[note_id] = count + delta
            else:
                del mine[note_id]
            return VoteTally(mine=count + delta, remaining=budget - sum(mine.values()))

    async def votes_of(self, board_id: str, participant_id: str) -> dict[str, int]:
        return dict(self._t.votes.get((board_id, participant_id), {}))

    async def all_votes(self, board_id: str) -> list[VoteRecord]:
        return sorted(
            (
                VoteRecord(participant_id=pid, note_id=note_id, count=count)
                for (bid, pid), mine in self._t.votes.items()
                if bid == board_id
                for note_id, count in mine.items()
            ),
            key=lambda v: (v.participant_id, v.note_id),
        )

    async def cast_mark(
        self, board_id: str, participant_id: str, note_id: str, delta: int, budget: int
    ) -> VoteTally:
        if delta not in (1, -1):
            raise ValueError(f"delta must be +1 or -1, not {delta}")
        async with self._t.lock:
            self._check_participant(board_id, participant_id)
            marked = self._t.marks.setdefault((board_id, participant_id), set())
            dots = self._t.votes.get((board_id, participant_id), {}).get(note_id, 0)
            check_mark(delta, note_id in marked, len(marked), budget, dots)
            if delta > 0:
                marked.add(note_id)
            else:
                marked.discard(note_id)
            return VoteTally(mine=int(note_id in marked), remaining=budget - len(marked))

    async def marks_of(self, board_id: str, participant_id: str) -> list[str]:
        return sorted(self._t.marks.get((board_id, participant_id), ()))

    async def all_marks(self, board_id: str) -> list[MarkRecord]:
        return sorted(
            (
                MarkRecord(participant_id=pid, note_id=note_id)
                for (bid, pid), marked in self._t.marks.items()
                if bid == board_id
                for note_id in marked
            ),
            key=lambda m: (m.participant_id, m.note_id),
        )
