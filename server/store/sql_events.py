"""`SqlEvents`: the "who did what" feed and its cursor over SQL."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from server.store.base import (
    EventRecord,
)
from server.store.sql_database import SqlDatabase
from server.store.tables import (
    boards,
    event_cursors,
    events,
)


class SqlEvents:
    """The "who did what" feed decoded from the log, and its cursor."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def event_cursor(self, board_id: str) -> int:
        query = sa.select(event_cursors.c.seq).where(event_cursors.c.board_id == board_id)
        async with self._db.read() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return int(value or 0)

    async def save_events(
        self, board_id: str, expected_cursor: int, upto_seq: int, events_: Sequence[EventRecord]
    ) -> bool:
        async with self._db.write() as conn:
            exists = sa.select(boards.c.id).where(boards.c.id == board_id).with_for_update()
            if (await conn.execute(exists)).first() is None:
                return False
            cursor = sa.select(event_cursors.c.seq).where(event_cursors.c.board_id == board_id)
            current = (await conn.execute(cursor.with_for_update())).scalar_one_or_none()
            if int(current or 0) != expected_cursor:
                return False
            if current is None:
                await conn.execute(event_cursors.insert(), {"board_id": board_id, "seq": upto_seq})
            else:
                await conn.execute(
                    event_cursors.update()
                    .where(event_cursors.c.board_id == board_id)
                    .values(seq=upto_seq)
                )
            if events_:
                await conn.execute(
                    events.insert(),
                    [
                        {
                            "board_id": board_id,
                            "seq": e.seq,
                            "idx": e.idx,
                            "ts": e.ts,
                            "kind": e.kind,
                            "actor": e.actor,
                            "target": e.target,
                        }
                        for e in events_
                    ],
                )
        return True

    async def events_after(
        self, board_id: str, after_seq: int, limit: int, kinds: Sequence[str] | None = None
    ) -> list[EventRecord]:
        query = sa.select(
            events.c.seq, events.c.idx, events.c.ts, events.c.kind, events.c.actor, events.c.target
        ).where(events.c.board_id == board_id, events.c.seq > after_seq)
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        query = query.order_by(events.c.seq, events.c.idx).limit(max(limit, 0))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [EventRecord(int(r.seq), r.idx, r.ts, r.kind, r.actor, r.target) for r in rows]
