"""The PostgreSQL fast path for the hottest write: appending a batch of updates.

Through SQLAlchemy a group commit is five round trips (BEGIN, the board's lock, INSERT, the note
authors, COMMIT) plus a reset when the connection goes back to the pool, each a turn of the event
loop through SQLAlchemy's greenlet bridge: py-spy put half of a loaded process's CPU there. Here
the batch is ONE statement on a connection of our own: one round trip, in PostgreSQL's implicit
transaction. The board's advisory lock is a CTE every inserted row joins, so it is held before the
first seq is drawn and until the commit: per-board seq order stays commit order (sql_log.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from server.store.log import NewUpdate

APPLICATION_NAME = "cobord-log"  # what pg_stat_activity shows for these connections

# Rows are drawn in `ord` order (the sort sits under the INSERT's default nextval), so the sorted
# seqs are the batch's seqs in order. The authors' INSERT runs even though nothing reads it.
APPEND_SQL = """
WITH board_lock AS (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))),
inserted AS (
    INSERT INTO updates (board_id, ts, actor, data)
    SELECT $1, u.ts, u.actor, u.data
    FROM board_lock, unnest($2::float8[], $3::text[], $4::bytea[]) WITH ORDINALITY
        AS u(ts, actor, data, ord)
    ORDER BY u.ord
    RETURNING seq
),
authors AS (
    INSERT INTO note_authors (board_id, note_id, actor)
    SELECT $1, a.note_id, a.actor
    FROM board_lock, unnest($5::text[], $6::text[]) AS a(note_id, actor)
    ON CONFLICT DO NOTHING
)
SELECT seq FROM inserted ORDER BY seq
"""


class PgLogAppender:
    """At most `size` connections of its own, opened on first use; a broken one is dropped and
    the next append opens another (a restarted PostgreSQL costs the failed batch only)."""

    def __init__(self, dsn: str, size: int = 2) -> None:
        self._dsn = dsn
        self._idle: asyncio.Queue[asyncpg.Connection | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # a slot: connected when first taken
        self._open: set[asyncpg.Connection] = set()
        self.round_trips = 0
        self.commits = 0

    async def append(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        # The batch's first creator of a note wins, as ON CONFLICT DO NOTHING does across batches.
        authors = {n: u.actor for u in reversed(updates) for n in u.created_notes}
        conn = await self._idle.get()
        try:
            if conn is None or conn.is_closed():
                conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": APPLICATION_NAME}
                )
                self._open.add(conn)
            self.round_trips += 1
            rows = await conn.fetch(
                APPEND_SQL,
                board_id,
                [u.ts for u in updates],
                [u.actor for u in updates],
                [u.data for u in updates],
                list(authors),
                list(authors.values()),
            )
        except BaseException:
            if conn is not None:  # its state is unknown: never reuse it
                self._open.discard(conn)
                conn.terminate()
            self._idle.put_nowait(None)
            raise
        self._idle.put_nowait(conn)
        self.commits += 1
        return [row[0] for row in rows]

    async def close(self) -> None:
        open_now, self._open = self._open, set()
        await asyncio.gather(*(c.close() for c in open_now), return_exceptions=True)
