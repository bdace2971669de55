"""`SqlPrivacy`: erasing a person over SQL, in one transaction that holds the board's appends
and log-built keyframes off."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa

from server.store.base import ErasureCounts, HistoryRewriter, StoreError
from server.store.log import SnapshotRecord, UpdateRecord
from server.store.sql_database import SqlDatabase
from server.store.tables import (
    glossary_explainers,
    glossary_flags,
    hidden_notes,
    media,
    participants,
    snapshots,
    update_log,
)


class SqlPrivacy:
    """Erasing a person: one transaction over the log, keyframes, participants, media and hidden
    notes."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def erase_participant(
        self, board_id: str, participant_id: str, erased_name: str, rewrite: HistoryRewriter
    ) -> ErasureCounts:
        async with self._db.write() as conn:
            if self._db.dialect == "postgresql":
                # The lock appends take (`_insert_updates`): no row lands between read and write;
                # and the one keyframes built from the log take shared (save_keyframe_from_log).
                for key in (0, 1):
                    await conn.execute(
                        sa.text(f"SELECT pg_advisory_xact_lock(hashtextextended(:board, {key}))"),
                        {"board": board_id},
                    )
            person = participants.c
            found = await conn.execute(
                sa.select(person.id).where(person.id == participant_id, person.board_id == board_id)
            )
            if found.first() is None:
                raise StoreError(f"unknown participant {participant_id!r}")
            log = [
                UpdateRecord(r.seq, r.ts, r.actor, bytes(r.data))
                for r in await conn.execute(
                    sa.select(update_log)
                    .where(update_log.c.board_id == board_id)
                    .order_by(update_log.c.seq)
                )
            ]
            frames = [
                SnapshotRecord(r.seq, r.ts, bytes(r.state))
                for r in await conn.execute(
                    sa.select(snapshots)
                    .where(snapshots.c.board_id == board_id)
                    .order_by(snapshots.c.seq)
                )
            ]
            # Decoding and checking a long history takes a while: off the event loop. Raising
            # leaves the transaction, which rolls back.
            plan = await asyncio.to_thread(rewrite, log, frames)
            if plan.updates:
                await conn.execute(
                    update_log.update()
                    .where(update_log.c.board_id == board_id, update_log.c.seq == sa.bindparam("s"))
                    .values(data=sa.bindparam("d")),
                    [{"s": seq, "d": data} for seq, data in plan.updates.items()],
                )
            if plan.keyframes:
                await conn.execute(
                    snapshots.update()
                    .where(snapshots.c.board_id == board_id, snapshots.c.seq == sa.bindparam("s"))
                    .values(state=sa.bindparam("d")),
                    [{"s": seq, "d": data} for seq, data in plan.keyframes.items()],
                )
            await conn.execute(
                participants.update()
                .where(person.id == participant_id)
                .values(name=erased_name, revoked=True)
            )
            gone = await conn.execute(
                media.delete().where(media.c.board_id == board_id, media.c.actor == participant_id)
            )
            # The glossary: which terms they did not understand is forgotten (the counts in the
            # document stay, naming nobody); their explanations are nobody's to keep any more.
            for table, column in (
                (glossary_flags, glossary_flags.c.flagger),
                (glossary_explainers, glossary_explainers.c.actor),
            ):
                await conn.execute(
                    table.delete().where(table.c.board_id == board_id, column == participant_id)
                )
            hidden_rows = await conn.execute(
                sa.select(hidden_notes.c.note_id, hidden_notes.c.fields).where(
                    hidden_notes.c.board_id == board_id, hidden_notes.c.author == participant_id
                )
            )
            cleaned = []
            for note_id, text in hidden_rows.all():
                fields = json.loads(text)
                if isinstance(fields, dict) and "author" in fields:
                    del fields["author"]
                    cleaned.append({"n": note_id, "f": json.dumps(fields)})
            if cleaned:
                await conn.execute(
                    hidden_notes.update()
                    .where(
                        hidden_notes.c.board_id == board_id,
                        hidden_notes.c.note_id == sa.bindparam("n"),
                    )
                    .values(fields=sa.bindparam("f")),
                    cleaned,
                )
        return ErasureCounts(len(plan.updates) + len(plan.keyframes), gone.rowcount, len(cleaned))
