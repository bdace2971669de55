"""`MemoryStore`: the in-memory twin of `SqlStore`, for tests, benchmarks and `memory://`.

It follows the same contract as the SQL store (tests/test_store_contract.py runs against both),
including the error cases: a duplicate join code, an unknown board or participant, refused votes.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

from server.store.ballot_rules import check_mark, check_no_mark_when_dotting, check_vote
from server.store.base import (
    BoardRecord,
    DuplicateJoinCode,
    ErasureCounts,
    EventRecord,
    GlossaryFull,
    HiddenNoteRecord,
    HistoryRewriter,
    KeyframeBuilder,
    LogSummary,
    MarkRecord,
    MediaQuota,
    MediaRecord,
    NewUpdate,
    ParticipantRecord,
    SnapshotRecord,
    StoreError,
    UpdateRecord,
    VoteRecord,
    VoteTally,
    check_media_quota,
)


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


class MemoryTables:
    """What a `MemoryStore` holds: every repository of one store shares these, as SQL repositories
    share one database (deleting a board or erasing a person touches several)."""

    def __init__(self) -> None:
        self.boards: dict[str, BoardRecord] = {}
        self.board_by_code: dict[str, str] = {}
        self.participants: dict[str, ParticipantRecord] = {}
        # Per board, in seq order (seqs are store-wide and increasing: appending keeps them sorted).
        self.updates: dict[str, list[UpdateRecord]] = {}
        self.snapshots: dict[str, dict[int, SnapshotRecord]] = {}
        self.authors: dict[str, dict[str, str]] = {}
        # (board, participant) -> note -> count > 0
        self.votes: dict[tuple[str, str], dict[str, int]] = {}
        self.marks: dict[tuple[str, str], set[str]] = {}  # (board, participant) -> marked notes
        self.events: dict[str, list[EventRecord]] = {}
        self.event_cursors: dict[str, int] = {}
        self.seq = itertools.count(1)
        self.media: dict[tuple[str, str], MediaRecord] = {}
        self.attached: set[tuple[str, str]] = set()  # (board, media) seen used by a note
        self.hidden: dict[tuple[str, str], HiddenNoteRecord] = {}
        self.flags: dict[str, dict[str, set[str]]] = {}  # board -> term -> flaggers
        self.explainers: dict[tuple[str, str, str], str] = {}  # (board, term, lang) -> actor
        # The bodies below have no await inside, so they are atomic on one event loop already; the
        # lock keeps them atomic if one ever gains an await (and says which operations must be).
        self.lock = asyncio.Lock()


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


class MemoryBallots:
    """Dots and "I disagree" marks, atomic per participant."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

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
            participant = self._t.participants.get(participant_id)
            if participant is None or participant.board_id != board_id:
                raise StoreError(f"unknown participant {participant_id!r} on board {board_id!r}")
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
            participant = self._t.participants.get(participant_id)
            if participant is None or participant.board_id != board_id:
                raise StoreError(f"unknown participant {participant_id!r} on board {board_id!r}")
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


class MemoryMediaLibrary:
    """Photos and voice notes of a board."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def put_media(self, media: MediaRecord, quota: MediaQuota | None = None) -> None:
        async with self._t.lock:
            if media.board_id not in self._t.boards:
                raise StoreError(f"unknown board {media.board_id!r}")
            if any(key[1] == media.id for key in self._t.media):
                raise StoreError(f"media {media.id!r} already exists")
            if quota is not None:
                held = [m for (b, _i), m in self._t.media.items() if b == media.board_id]
                mine = [m for m in held if m.actor == media.actor]
                check_media_quota(
                    quota,
                    (len(held), sum(len(m.data) for m in held)),
                    (len(mine), sum(len(m.data) for m in mine)),
                    len(media.data),
                )
            self._t.media[(media.board_id, media.id)] = media

    async def existing_media(self, board_id: str, media_ids: Sequence[str]) -> set[str]:
        return {i for i in media_ids if (board_id, i) in self._t.media}

    async def unattached_media(self, before_ts: float, limit: int) -> list[tuple[str, str]]:
        found = sorted(
            (m.created_at, key)
            for key, m in self._t.media.items()
            if key not in self._t.attached and m.created_at < before_ts
        )
        return [key for _ts, key in found[:limit]]

    async def attach_media(self, board_id: str, media_ids: Sequence[str]) -> None:
        async with self._t.lock:
            self._t.attached.update(
                (board_id, i) for i in media_ids if (board_id, i) in self._t.media
            )

    async def delete_unattached_media(self, board_id: str, media_ids: Sequence[str]) -> int:
        async with self._t.lock:
            keys = [
                (board_id, i)
                for i in media_ids
                if (board_id, i) in self._t.media and (board_id, i) not in self._t.attached
            ]
            for key in keys:
                del self._t.media[key]
            return len(keys)

    async def get_media(self, board_id: str, media_id: str) -> MediaRecord | None:
        return self._t.media.get((board_id, media_id))

    async def delete_media_of_board(self, board_id: str) -> int:
        async with self._t.lock:
            keys = [key for key in self._t.media if key[0] == board_id]
            for key in keys:
                del self._t.media[key]
                self._t.attached.discard(key)
            return len(keys)


class MemoryEvents:
    """The "who did what" feed decoded from the log, and its cursor."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def event_cursor(self, board_id: str) -> int:
        return self._t.event_cursors.get(board_id, 0)

    async def save_events(
        self, board_id: str, expected_cursor: int, upto_seq: int, events: Sequence[EventRecord]
    ) -> bool:
        async with self._t.lock:
            if board_id not in self._t.boards:
                return False
            if self._t.event_cursors.get(board_id, 0) != expected_cursor:
                return False
            self._t.events.setdefault(board_id, []).extend(
                sorted(events, key=lambda e: (e.seq, e.idx))
            )
            self._t.event_cursors[board_id] = upto_seq
            return True

    async def events_after(
        self, board_id: str, after_seq: int, limit: int, kinds: Sequence[str] | None = None
    ) -> list[EventRecord]:
        log = self._t.events.get(board_id, [])
        start = bisect.bisect_right(log, after_seq, key=lambda e: e.seq)
        found: list[EventRecord] = []
        for event in log[start:]:
            if len(found) >= limit:
                break
            if kinds is None or event.kind in kinds:
                found.append(event)
        return found


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


class MemoryHiddenNotes:
    """Notes the facilitator took off the board (moderation)."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def put_hidden_note(self, record: HiddenNoteRecord) -> None:
        async with self._t.lock:
            if record.board_id not in self._t.boards:
                raise StoreError(f"unknown board {record.board_id!r}")
            key = (record.board_id, record.note_id)
            if key in self._t.hidden:
                raise StoreError(f"note {record.note_id!r} is already hidden")
            self._t.hidden[key] = copy.deepcopy(record)

    async def hidden_notes(self, board_id: str) -> list[HiddenNoteRecord]:
        found = [copy.deepcopy(r) for k, r in self._t.hidden.items() if k[0] == board_id]
        return sorted(found, key=lambda r: (r.hidden_at, r.note_id))

    async def take_hidden_note(self, board_id: str, note_id: str) -> HiddenNoteRecord | None:
        async with self._t.lock:
            return self._t.hidden.pop((board_id, note_id), None)


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


class MemoryStore:
    """Every repository over plain dicts; nothing survives the process."""

    def __init__(self) -> None:
        self.tables = MemoryTables()
        self.log = MemoryUpdateLog(self.tables)
        self.boards = MemoryBoards(self.tables)
        self.ballots = MemoryBallots(self.tables)
        self.media = MemoryMediaLibrary(self.tables)
        self.events = MemoryEvents(self.tables)
        self.privacy = MemoryPrivacy(self.tables)
        self.moderation = MemoryHiddenNotes(self.tables)
        self.glossary = MemoryGlossary(self.tables)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None
