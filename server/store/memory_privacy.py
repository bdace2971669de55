"""The in-memory twin of erasing a person (SQL: sql_privacy.py)."""

from __future__ import annotations

import asyncio
import dataclasses

from server.store.base import (
    ErasureCounts,
    HistoryRewriter,
    StoreError,
)
from server.store.memory_tables import MemoryTables


class MemoryPrivacy:
    """Erasing a person: the log, keyframes, participants, media and hidden notes at once."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def erase_participant(
        self, board_id: str, participant_id: str, erased_name: str, rewrite: HistoryRewriter
    ) -> ErasureCounts:
        async with self._t.lock:  # appends wait: the rows read are the rows replaced
            person = self._t.participants.get(participant_id)
            if person is None or person.board_id != board_id:
                raise StoreError(f"unknown participant {participant_id!r}")
            log = self._t.updates.get(board_id, [])
            frames = self._t.snapshots.get(board_id, {})
            ordered = [frames[seq] for seq in sorted(frames)]
            plan = await asyncio.to_thread(rewrite, list(log), ordered)  # may raise: no change
            changed = 0
            for i, update in enumerate(log):
                data = plan.updates.get(update.seq)
                if data is not None:
                    log[i] = dataclasses.replace(update, data=data)
                    changed += 1
            for seq, state in plan.keyframes.items():
                if seq in frames:
                    frames[seq] = dataclasses.replace(frames[seq], state=state)
                    changed += 1
            self._t.participants[participant_id] = dataclasses.replace(
                person, name=erased_name, revoked=True
            )
            theirs = [
                k for k, m in self._t.media.items() if k[0] == board_id and m.actor == person.id
            ]
            for key in theirs:
                del self._t.media[key]
            # The glossary: their flags are forgotten, their explanations are nobody's now.
            for flaggers in self._t.flags.get(board_id, {}).values():
                flaggers.discard(person.id)
            for gloss in [k for k, a in self._t.explainers.items() if k[0] == board_id]:
                if self._t.explainers[gloss] == person.id:
                    del self._t.explainers[gloss]
            hidden = 0
            for key, note in self._t.hidden.items():
                if key[0] == board_id and note.author == person.id and "author" in note.fields:
                    fields = {k: v for k, v in note.fields.items() if k != "author"}
                    self._t.hidden[key] = dataclasses.replace(note, fields=fields)
                    hidden += 1
            return ErasureCounts(changed, len(theirs), hidden)
