"""The in-memory twin of glossary flags and explanation authors (SQL: sql_glossary.py)."""

from __future__ import annotations

from server.store.base import (
    GlossaryFull,
    StoreError,
)
from server.store.memory_tables import MemoryTables


class MemoryGlossary:
    """Who flagged which term (once per person) and who wrote which explanation."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def flag_term(
        self, board_id: str, term_id: str, flagger: str, max_flags: int
    ) -> tuple[int, bool]:
        async with self._t.lock:
            if board_id not in self._t.boards:
                raise StoreError(f"unknown board {board_id!r}")
            terms = self._t.flags.setdefault(board_id, {})
            flaggers = terms.get(term_id, set())
            if flagger in flaggers:
                return len(flaggers), False
            if sum(len(f) for f in terms.values()) >= max_flags:
                raise GlossaryFull(f"a board holds at most {max_flags} flags")
            terms[term_id] = flaggers | {flagger}
            return len(terms[term_id]), True

    async def term_flags(self, board_id: str) -> dict[str, int]:
        return {term: len(f) for term, f in self._t.flags.get(board_id, {}).items()}

    async def claim_explanation(self, board_id: str, term_id: str, lang: str, actor: str) -> str:
        async with self._t.lock:
            return self._t.explainers.setdefault((board_id, term_id, lang), actor)

    async def release_explanation(self, board_id: str, term_id: str, lang: str) -> None:
        async with self._t.lock:
            self._t.explainers.pop((board_id, term_id, lang), None)
