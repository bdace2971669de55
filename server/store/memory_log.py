"""The in-memory twin of the update log and keyframes (server/store/log.py; SQL: sql_log.py)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from server.store.log import KeyframeBuilder, LogSummary, NewUpdate, SnapshotRecord, UpdateRecord
from server.store.memory_tables import MemoryTables


class MemoryUpdateLog:
    """A board's update log and keyframes (server/store/log.py)."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def append_updates(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        async with self._t.lock:
            log = self._t.updates.setdefault(board_id, [])
            authors = self._t.authors.setdefault(board_id, {})
            seqs: list[int] = []
            for update in updates:
                seq = next(self._t.seq)
                log.append(
                    UpdateRecord(seq=seq, ts=update.ts, actor=update.actor, data=update.data)
                )
                for note_id in update.created_notes:
                    # First author wins, as with the SQL store's ON CONFLICT DO NOTHING.
                    authors.setdefault(note_id, update.actor)
                seqs.append(seq)
            return seqs

    async def load(
        self, board_id: str, until_ts: float | None = None
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        candidates = [
            s
            for s in self._t.snapshots.get(board_id, {}).values()
            if until_ts is None or s.ts <= until_ts
        ]
        snapshot = max(candidates, key=lambda s: s.seq) if candidates else None
        tail = await self.updates_after(board_id, snapshot.seq if snapshot else 0)
        if until_ts is not None:
            tail = [u for u in tail if u.ts <= until_ts]
        return snapshot, tail

    async def save_snapshot(self, board_id: str, snapshot: SnapshotRecord) -> None:
        # A keyframe at a given seq is the same state whoever writes it: keep the first one.
        self._t.snapshots.setdefault(board_id, {}).setdefault(snapshot.seq, snapshot)

    async def save_keyframe_from_log(
        self, board_id: str, build: KeyframeBuilder
    ) -> SnapshotRecord | None:
        async with self._t.lock:  # erase_participant holds it too
            frames = self._t.snapshots.get(board_id, {})
            previous = frames[max(frames)] if frames else None
            after = previous.seq if previous else 0
            tail = [u for u in self._t.updates.get(board_id, []) if u.seq > after]
            keyframe = build(previous, tail)
            if keyframe is None:
                return None
            self._t.snapshots.setdefault(board_id, {}).setdefault(keyframe.seq, keyframe)
            return keyframe

    async def note_authors(self, board_id: str) -> dict[str, str]:
        return dict(self._t.authors.get(board_id, {}))

    async def updates_after(
        self, board_id: str, after_seq: int, limit: int | None = None
    ) -> list[UpdateRecord]:
        log = self._t.updates.get(board_id, [])
        start = bisect.bisect_right(log, after_seq, key=lambda u: u.seq)
        end = len(log) if limit is None else start + max(limit, 0)
        return log[start:end]

    async def load_until_seq(
        self, board_id: str, seq: int
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        candidates = [s for s in self._t.snapshots.get(board_id, {}).values() if s.seq <= seq]
        snapshot = max(candidates, key=lambda s: s.seq) if candidates else None
        log = self._t.updates.get(board_id, [])
        start = bisect.bisect_right(log, snapshot.seq if snapshot else 0, key=lambda u: u.seq)
        end = bisect.bisect_right(log, seq, key=lambda u: u.seq)
        return snapshot, log[start:end]

    async def log_summary(self, board_id: str) -> LogSummary:
        log = self._t.updates.get(board_id, [])
        if not log:
            return LogSummary(0, 0, None, 0, None)
        return LogSummary(len(log), log[0].seq, log[0].ts, log[-1].seq, log[-1].ts)
