"""`SqlBallots`: dots and "I disagree" marks over SQL.

`cast_vote` and `cast_mark` on PostgreSQL lock the participant row (SELECT ... FOR UPDATE) before
reading their dots and marks, so concurrent votes of one participant are serialized (a budget is
never exceeded, across processes too) while everyone else's proceed; on SQLite the write
transaction (BEGIN IMMEDIATE) does the same. The rules themselves are ballot_rules.py's.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.ballot_rules import check_mark, check_no_mark_when_dotting, check_vote
from server.store.base import (
    MarkRecord,
    StoreError,
    VoteRecord,
    VoteTally,
)
from server.store.sql_database import SqlDatabase
from server.store.tables import (
    disagree_marks,
    participants,
    votes,
)


class SqlBallots:
    """Dots and "I disagree" marks, atomic per participant."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

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
        async with self._db.write() as conn:
            # The row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite, which does not render FOR
            # UPDATE) serializes this participant's votes from here to COMMIT.
            await self._lock_participant(conn, board_id, participant_id)
            spent, mine = await self._dots(conn, board_id, participant_id, note_id)
            check_vote(delta, mine, spent, budget, max_per_note)
            if delta > 0:
                _, marked = await self._marks(conn, board_id, participant_id, note_id)
                check_no_mark_when_dotting(marked)
            await self._set_dots(conn, board_id, participant_id, note_id, mine, mine + delta)
        return VoteTally(mine=mine + delta, remaining=budget - spent - delta)

    @staticmethod
    async def _lock_participant(conn: AsyncConnection, board_id: str, participant_id: str) -> None:
        query = (
            sa.select(participants.c.id)
            .where(participants.c.id == participant_id, participants.c.board_id == board_id)
            .with_for_update()
        )
        if (await conn.execute(query)).first() is None:
            raise StoreError(f"unknown participant {participant_id!r} on board {board_id!r}")

    @staticmethod
    async def _dots(
        conn: AsyncConnection, board_id: str, participant_id: str, note_id: str
    ) -> tuple[int, int]:
        """(all dots of the participant, their dots on this note), in one query."""
        on_note = sa.case((votes.c.note_id == note_id, votes.c.count), else_=0)
        query = sa.select(
            sa.func.coalesce(sa.func.sum(votes.c.count), 0),
            sa.func.coalesce(sa.func.sum(on_note), 0),
        ).where(votes.c.board_id == board_id, votes.c.participant_id == participant_id)
        spent, mine = (await conn.execute(query)).one()
        return int(spent), int(mine)

    @staticmethod
    async def _set_dots(
        conn: AsyncConnection, board_id: str, participant_id: str, note_id: str, old: int, new: int
    ) -> None:
        # Under the participant lock nobody else writes these rows, so the plain statement that fits
        # is enough (no upsert race), and rows never hold 0.
        key = (
            (votes.c.board_id == board_id)
            & (votes.c.participant_id == participant_id)
            & (votes.c.note_id == note_id)
        )
        if old == 0:
            values = {"board_id": board_id, "participant_id": participant_id, "note_id": note_id}
            await conn.execute(votes.insert().values(count=new, **values))
        elif new == 0:
            await conn.execute(votes.delete().where(key))
        else:
            await conn.execute(votes.update().where(key).values(count=new))

    async def votes_of(self, board_id: str, participant_id: str) -> dict[str, int]:
        query = sa.select(votes.c.note_id, votes.c.count).where(
            votes.c.board_id == board_id,
            votes.c.participant_id == participant_id,
            votes.c.count > 0,
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return {note_id: count for note_id, count in rows}

    async def all_votes(self, board_id: str) -> list[VoteRecord]:
        query = (
            sa.select(votes.c.participant_id, votes.c.note_id, votes.c.count)
            .where(votes.c.board_id == board_id, votes.c.count > 0)
            .order_by(votes.c.participant_id, votes.c.note_id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [VoteRecord(pid, note_id, count) for pid, note_id, count in rows]

    async def cast_mark(
        self, board_id: str, participant_id: str, note_id: str, delta: int, budget: int
    ) -> VoteTally:
        if delta not in (1, -1):
            raise ValueError(f"delta must be +1 or -1, not {delta}")
        async with self._db.write() as conn:
            # Same serialization as dots: the participant's row lock (PostgreSQL) or BEGIN
            # IMMEDIATE (SQLite) holds from this read to COMMIT, so the budget check sees every
            # mark this participant committed, whichever process served it.
            await self._lock_participant(conn, board_id, participant_id)
            spent, marked = await self._marks(conn, board_id, participant_id, note_id)
            _, dots_on_note = await self._dots(conn, board_id, participant_id, note_id)
            check_mark(delta, marked, spent, budget, dots_on_note)
            key = (
                (disagree_marks.c.board_id == board_id)
                & (disagree_marks.c.participant_id == participant_id)
                & (disagree_marks.c.note_id == note_id)
            )
            if delta > 0:
                await conn.execute(
                    disagree_marks.insert().values(
                        board_id=board_id, participant_id=participant_id, note_id=note_id
                    )
                )
            else:
                await conn.execute(disagree_marks.delete().where(key))
        return VoteTally(mine=int(marked) + delta, remaining=budget - spent - delta)

    @staticmethod
    async def _marks(
        conn: AsyncConnection, board_id: str, participant_id: str, note_id: str
    ) -> tuple[int, bool]:
        """(all marks of the participant, whether this note is one of them), in one query."""
        on_note = sa.case((disagree_marks.c.note_id == note_id, 1), else_=0)
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(on_note), 0)).where(
            disagree_marks.c.board_id == board_id,
            disagree_marks.c.participant_id == participant_id,
        )
        spent, marked = (await conn.execute(query)).one()
        return int(spent), bool(marked)

    async def marks_of(self, board_id: str, participant_id: str) -> list[str]:
        query = (
            sa.select(disagree_marks.c.note_id)
            .where(
                disagree_marks.c.board_id == board_id,
                disagree_marks.c.participant_id == participant_id,
            )
            .order_by(disagree_marks.c.note_id)
        )
        async with self._db.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def all_marks(self, board_id: str) -> list[MarkRecord]:
        query = (
            sa.select(disagree_marks.c.participant_id, disagree_marks.c.note_id)
            .where(disagree_marks.c.board_id == board_id)
            .order_by(disagree_marks.c.participant_id, disagree_marks.c.note_id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [MarkRecord(pid, note_id) for pid, note_id in rows]
