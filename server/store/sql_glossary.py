"""`SqlGlossary`: who flagged which term (once per person) and who wrote which explanation."""

from __future__ import annotations

import sqlalchemy as sa

from server.store.base import GlossaryFull, StoreError
from server.store.sql_database import SqlDatabase
from server.store.tables import boards, glossary_explainers, glossary_flags


class SqlGlossary:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def flag_term(
        self, board_id: str, term_id: str, flagger: str, max_flags: int
    ) -> tuple[int, bool]:
        async with self._db.write() as conn:
            # One board's flags at a time (PostgreSQL row lock; SQLite: BEGIN IMMEDIATE), so
            # the board's bound holds with several processes.
            query = sa.select(boards.c.id).where(boards.c.id == board_id).with_for_update()
            if (await conn.execute(query)).first() is None:
                raise StoreError(f"unknown board {board_id!r}")
            of_board = glossary_flags.c.board_id == board_id
            key = of_board & (glossary_flags.c.term_id == term_id)
            mine = key & (glossary_flags.c.flagger == flagger)
            added = False
            if (await conn.execute(sa.select(sa.literal(1)).where(mine))).first() is None:
                total = sa.select(sa.func.count()).select_from(glossary_flags).where(of_board)
                if (await conn.execute(total)).scalar_one() >= max_flags:
                    raise GlossaryFull(f"a board holds at most {max_flags} flags")
                row = {"board_id": board_id, "term_id": term_id, "flagger": flagger}
                await conn.execute(glossary_flags.insert(), row)
                added = True
            count = sa.select(sa.func.count()).select_from(glossary_flags).where(key)
            return int((await conn.execute(count)).scalar_one()), added

    async def term_flags(self, board_id: str) -> dict[str, int]:
        query = (
            sa.select(glossary_flags.c.term_id, sa.func.count())
            .where(glossary_flags.c.board_id == board_id)
            .group_by(glossary_flags.c.term_id)
        )
        async with self._db.read() as conn:
            return {term: int(n) for term, n in (await conn.execute(query)).all()}

    async def claim_explanation(self, board_id: str, term_id: str, lang: str, actor: str) -> str:
        row = {"board_id": board_id, "term_id": term_id, "lang": lang, "actor": actor}
        key = (
            (glossary_explainers.c.board_id == board_id)
            & (glossary_explainers.c.term_id == term_id)
            & (glossary_explainers.c.lang == lang)
        )
        async with self._db.write() as conn:
            await conn.execute(self._db.insert(glossary_explainers).on_conflict_do_nothing(), row)
            owner = await conn.execute(sa.select(glossary_explainers.c.actor).where(key))
            return str(owner.scalar_one())

    async def release_explanation(self, board_id: str, term_id: str, lang: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                glossary_explainers.delete().where(
                    glossary_explainers.c.board_id == board_id,
                    glossary_explainers.c.term_id == term_id,
                    glossary_explainers.c.lang == lang,
                )
            )
