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
    VoteRefused,
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


class MemoryStore:
    """Every `Store` method over plain dicts; nothing survives the process."""

    def __init__(self) -> None:
        self._boards: dict[str, BoardRecord] = {}
        self._board_by_code: dict[str, str] = {}
        self._participants: dict[str, ParticipantRecord] = {}
        # Per board, in seq order (seqs are store-wide and increasing: appending keeps them sorted).
        self._updates: dict[str, list[UpdateRecord]] = {}
        self._snapshots: dict[str, dict[int, SnapshotRecord]] = {}
        self._authors: dict[str, dict[str, str]] = {}
        # (board, participant) -> note -> count > 0
        self._votes: dict[tuple[str, str], dict[str, int]] = {}
        self._marks: dict[tuple[str, str], set[str]] = {}  # (board, participant) -> marked notes
        self._events: dict[str, list[EventRecord]] = {}
        self._event_cursors: dict[str, int] = {}
        self._seq = itertools.count(1)
        self._media: dict[tuple[str, str], MediaRecord] = {}
        self._attached: set[tuple[str, str]] = set()  # (board, media) seen used by a note
        self._hidden: dict[tuple[str, str], HiddenNoteRecord] = {}
        self._flags: dict[str, dict[str, set[str]]] = {}  # board -> term -> flaggers
        self._explainers: dict[tuple[str, str, str], str] = {}  # (board, term, lang) -> actor
        # The bodies below have no await inside, so they are atomic on one event loop already; the
        # lock keeps them atomic if one ever gains an await (and says which operations must be).
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # Boards and participants

    async def create_board(self, board: BoardRecord) -> None:
        async with self._lock:
            if board.join_code in self._board_by_code:
                raise DuplicateJoinCode(f"join code {board.join_code!r} is taken")
            if board.id in self._boards:
                raise StoreError(f"board {board.id!r} already exists")
            self._boards[board.id] = _board_copy(board)
            self._board_by_code[board.join_code] = board.id

    async def get_board(self, board_id: str) -> BoardRecord | None:
        board = self._boards.get(board_id)
        return None if board is None else _board_copy(board)

    async def get_board_by_code(self, join_code: str) -> BoardRecord | None:
        board_id = self._board_by_code.get(join_code)
        return None if board_id is None else await self.get_board(board_id)

    async def update_board_settings(self, board_id: str, settings: dict[str, Any]) -> None:
        async with self._lock:
            board = self._boards.get(board_id)
            if board is None:
                raise StoreError(f"unknown board {board_id!r}")
            self._boards[board_id] = _board_copy(
                BoardRecord(board.id, board.title, board.join_code, board.created_at, settings)
            )

    async def add_participant(self, participant: ParticipantRecord) -> None:
        async with self._lock:
            if participant.board_id not in self._boards:
                raise StoreError(f"unknown board {participant.board_id!r}")
            if participant.id in self._participants:
                raise StoreError(f"participant {participant.id!r} already exists")
            self._participants[participant.id] = participant

    async def get_participant(self, participant_id: str) -> ParticipantRecord | None:
        return self._participants.get(participant_id)

    async def list_participants(self, board_id: str) -> list[ParticipantRecord]:
        found = [p for p in self._participants.values() if p.board_id == board_id]
        # Same order as the SQL store: by join time, then id for ties.
        return sorted(found, key=lambda p: (p.created_at, p.id))

    # The update log

    async def append_updates(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        async with self._lock:
            log = self._updates.setdefault(board_id, [])
            authors = self._authors.setdefault(board_id, {})
            seqs: list[int] = []
            for update in updates:
                seq = next(self._seq)
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
            for s in self._snapshots.get(board_id, {}).values()
            if until_ts is None or s.ts <= until_ts
        ]
        snapshot = max(candidates, key=lambda s: s.seq) if candidates else None
        tail = await self.updates_after(board_id, snapshot.seq if snapshot else 0)
        if until_ts is not None:
            tail = [u for u in tail if u.ts <= until_ts]
        return snapshot, tail

    async def save_snapshot(self, board_id: str, snapshot: SnapshotRecord) -> None:
        # A keyframe at a given seq is the same state whoever writes it: keep the first one.
        self._snapshots.setdefault(board_id, {}).setdefault(snapshot.seq, snapshot)

    async def save_keyframe_from_log(
        self, board_id: str, build: KeyframeBuilder
    ) -> SnapshotRecord | None:
        async with self._lock:  # erase_participant holds it too
            frames = self._snapshots.get(board_id, {})
            previous = frames[max(frames)] if frames else None
            after = previous.seq if previous else 0
            tail = [u for u in self._updates.get(board_id, []) if u.seq > after]
            keyframe = build(previous, tail)
            if keyframe is None:
                return None
            self._snapshots.setdefault(board_id, {}).setdefault(keyframe.seq, keyframe)
            return keyframe

    async def note_authors(self, board_id: str) -> dict[str, str]:
        return dict(self._authors.get(board_id, {}))

    async def updates_after(
        self, board_id: str, after_seq: int, limit: int | None = None
    ) -> list[UpdateRecord]:
        log = self._updates.get(board_id, [])
        start = bisect.bisect_right(log, after_seq, key=lambda u: u.seq)
        end = len(log) if limit is None else start + max(limit, 0)
        return log[start:end]

    # Replay and history

    async def load_until_seq(
        self, board_id: str, seq: int
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        candidates = [s for s in self._snapshots.get(board_id, {}).values() if s.seq <= seq]
        snapshot = max(candidates, key=lambda s: s.seq) if candidates else None
        log = self._updates.get(board_id, [])
        start = bisect.bisect_right(log, snapshot.seq if snapshot else 0, key=lambda u: u.seq)
        end = bisect.bisect_right(log, seq, key=lambda u: u.seq)
        return snapshot, log[start:end]

    async def log_summary(self, board_id: str) -> LogSummary:
        log = self._updates.get(board_id, [])
        if not log:
            return LogSummary(0, 0, None, 0, None)
        return LogSummary(len(log), log[0].seq, log[0].ts, log[-1].seq, log[-1].ts)

    async def event_cursor(self, board_id: str) -> int:
        return self._event_cursors.get(board_id, 0)

    async def save_events(
        self, board_id: str, expected_cursor: int, upto_seq: int, events: Sequence[EventRecord]
    ) -> bool:
        async with self._lock:
            if board_id not in self._boards:
                return False
            if self._event_cursors.get(board_id, 0) != expected_cursor:
                return False
            self._events.setdefault(board_id, []).extend(
                sorted(events, key=lambda e: (e.seq, e.idx))
            )
            self._event_cursors[board_id] = upto_seq
            return True

    async def events_after(
        self, board_id: str, after_seq: int, limit: int, kinds: Sequence[str] | None = None
    ) -> list[EventRecord]:
        log = self._events.get(board_id, [])
        start = bisect.bisect_right(log, after_seq, key=lambda e: e.seq)
        found: list[EventRecord] = []
        for event in log[start:]:
            if len(found) >= limit:
                break
            if kinds is None or event.kind in kinds:
                found.append(event)
        return found

    async def revoke_participant(
        self, board_id: str, participant_id: str, new_name: str | None = None
    ) -> bool:
        async with self._lock:
            person = self._participants.get(participant_id)
            if person is None or person.board_id != board_id:
                return False
            name = person.name if new_name is None else new_name
            self._participants[participant_id] = dataclasses.replace(
                person, name=name, revoked=True
            )
            return True

    async def erase_participant(
        self, board_id: str, participant_id: str, erased_name: str, rewrite: HistoryRewriter
    ) -> ErasureCounts:
        async with self._lock:  # appends wait: the rows read are the rows replaced
            person = self._participants.get(participant_id)
            if person is None or person.board_id != board_id:
                raise StoreError(f"unknown participant {participant_id!r}")
            log = self._updates.get(board_id, [])
            frames = self._snapshots.get(board_id, {})
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
            self._participants[participant_id] = dataclasses.replace(
                person, name=erased_name, revoked=True
            )
            theirs = [
                k for k, m in self._media.items() if k[0] == board_id and m.actor == person.id
            ]
            for key in theirs:
                del self._media[key]
            # The glossary: their flags are forgotten, their explanations are nobody's now.
            for flaggers in self._flags.get(board_id, {}).values():
                flaggers.discard(person.id)
            for gloss in [k for k, a in self._explainers.items() if k[0] == board_id]:
                if self._explainers[gloss] == person.id:
                    del self._explainers[gloss]
            hidden = 0
            for key, note in self._hidden.items():
                if key[0] == board_id and note.author == person.id and "author" in note.fields:
                    fields = {k: v for k, v in note.fields.items() if k != "author"}
                    self._hidden[key] = dataclasses.replace(note, fields=fields)
                    hidden += 1
            return ErasureCounts(changed, len(theirs), hidden)

    async def set_join_code(self, board_id: str, join_code: str) -> None:
        async with self._lock:
            board = self._boards.get(board_id)
            if board is None:
                raise StoreError(f"unknown board {board_id!r}")
            if self._board_by_code.get(join_code, board_id) != board_id:
                raise DuplicateJoinCode(f"join code {join_code!r} is taken")
            del self._board_by_code[board.join_code]
            self._board_by_code[join_code] = board_id
            self._boards[board_id] = dataclasses.replace(board, join_code=join_code)

    async def idle_boards(self, before_ts: float) -> list[str]:
        idle = []
        for board in self._boards.values():
            log = self._updates.get(board.id)
            if (log[-1].ts if log else board.created_at) < before_ts:
                idle.append(board.id)
        return sorted(idle)

    async def delete_board(self, board_id: str) -> bool:
        async with self._lock:
            board = self._boards.pop(board_id, None)
            if board is None:
                return False
            self._board_by_code.pop(board.join_code, None)
            for pid in [p.id for p in self._participants.values() if p.board_id == board_id]:
                del self._participants[pid]
                self._votes.pop((board_id, pid), None)
                self._marks.pop((board_id, pid), None)
            for table in (self._updates, self._snapshots, self._authors, self._events):
                table.pop(board_id, None)
            self._event_cursors.pop(board_id, None)
            for key in [k for k in self._media if k[0] == board_id]:
                del self._media[key]
            for key in [k for k in self._hidden if k[0] == board_id]:
                del self._hidden[key]
            self._flags.pop(board_id, None)
            for gloss in [k for k in self._explainers if k[0] == board_id]:
                del self._explainers[gloss]
            return True

    # Dot voting

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
        async with self._lock:
            participant = self._participants.get(participant_id)
            if participant is None or participant.board_id != board_id:
                raise StoreError(f"unknown participant {participant_id!r} on board {board_id!r}")
            mine = self._votes.setdefault((board_id, participant_id), {})
            count = mine.get(note_id, 0)
            check_vote(delta, count, sum(mine.values()), budget, max_per_note)
            if delta > 0:
                marked = self._marks.get((board_id, participant_id), set())
                check_no_mark_when_dotting(note_id in marked)
            if count + delta:
                mine[note_id] = count + delta
            else:
                del mine[note_id]
            return VoteTally(mine=count + delta, remaining=budget - sum(mine.values()))

    async def votes_of(self, board_id: str, participant_id: str) -> dict[str, int]:
        return dict(self._votes.get((board_id, participant_id), {}))

    async def all_votes(self, board_id: str) -> list[VoteRecord]:
        return sorted(
            (
                VoteRecord(participant_id=pid, note_id=note_id, count=count)
                for (bid, pid), mine in self._votes.items()
                if bid == board_id
                for note_id, count in mine.items()
            ),
            key=lambda v: (v.participant_id, v.note_id),
        )

    # "I disagree" marks

    async def cast_mark(
        self, board_id: str, participant_id: str, note_id: str, delta: int, budget: int
    ) -> VoteTally:
        if delta not in (1, -1):
            raise ValueError(f"delta must be +1 or -1, not {delta}")
        async with self._lock:
            participant = self._participants.get(participant_id)
            if participant is None or participant.board_id != board_id:
                raise StoreError(f"unknown participant {participant_id!r} on board {board_id!r}")
            marked = self._marks.setdefault((board_id, participant_id), set())
            dots = self._votes.get((board_id, participant_id), {}).get(note_id, 0)
            check_mark(delta, note_id in marked, len(marked), budget, dots)
            if delta > 0:
                marked.add(note_id)
            else:
                marked.discard(note_id)
            return VoteTally(mine=int(note_id in marked), remaining=budget - len(marked))

    async def marks_of(self, board_id: str, participant_id: str) -> list[str]:
        return sorted(self._marks.get((board_id, participant_id), ()))

    async def all_marks(self, board_id: str) -> list[MarkRecord]:
        return sorted(
            (
                MarkRecord(participant_id=pid, note_id=note_id)
                for (bid, pid), marked in self._marks.items()
                if bid == board_id
                for note_id in marked
            ),
            key=lambda m: (m.participant_id, m.note_id),
        )

    # Media

    async def put_media(self, media: MediaRecord, quota: MediaQuota | None = None) -> None:
        async with self._lock:
            if media.board_id not in self._boards:
                raise StoreError(f"unknown board {media.board_id!r}")
            if any(key[1] == media.id for key in self._media):
                raise StoreError(f"media {media.id!r} already exists")
            if quota is not None:
                held = [m for (b, _i), m in self._media.items() if b == media.board_id]
                mine = [m for m in held if m.actor == media.actor]
                check_media_quota(
                    quota,
                    (len(held), sum(len(m.data) for m in held)),
                    (len(mine), sum(len(m.data) for m in mine)),
                    len(media.data),
                )
            self._media[(media.board_id, media.id)] = media

    async def existing_media(self, board_id: str, media_ids: Sequence[str]) -> set[str]:
        return {i for i in media_ids if (board_id, i) in self._media}

    async def unattached_media(self, before_ts: float, limit: int) -> list[tuple[str, str]]:
        found = sorted(
            (m.created_at, key)
            for key, m in self._media.items()
            if key not in self._attached and m.created_at < before_ts
        )
        return [key for _ts, key in found[:limit]]

    async def attach_media(self, board_id: str, media_ids: Sequence[str]) -> None:
        async with self._lock:
            self._attached.update((board_id, i) for i in media_ids if (board_id, i) in self._media)

    async def delete_unattached_media(self, board_id: str, media_ids: Sequence[str]) -> int:
        async with self._lock:
            keys = [
                (board_id, i)
                for i in media_ids
                if (board_id, i) in self._media and (board_id, i) not in self._attached
            ]
            for key in keys:
                del self._media[key]
            return len(keys)

    async def get_media(self, board_id: str, media_id: str) -> MediaRecord | None:
        return self._media.get((board_id, media_id))

    async def delete_media_of_board(self, board_id: str) -> int:
        async with self._lock:
            keys = [key for key in self._media if key[0] == board_id]
            for key in keys:
                del self._media[key]
                self._attached.discard(key)
            return len(keys)

    # Hidden notes (moderation)

    async def put_hidden_note(self, record: HiddenNoteRecord) -> None:
        async with self._lock:
            if record.board_id not in self._boards:
                raise StoreError(f"unknown board {record.board_id!r}")
            key = (record.board_id, record.note_id)
            if key in self._hidden:
                raise StoreError(f"note {record.note_id!r} is already hidden")
            self._hidden[key] = copy.deepcopy(record)

    async def hidden_notes(self, board_id: str) -> list[HiddenNoteRecord]:
        found = [copy.deepcopy(r) for k, r in self._hidden.items() if k[0] == board_id]
        return sorted(found, key=lambda r: (r.hidden_at, r.note_id))

    async def take_hidden_note(self, board_id: str, note_id: str) -> HiddenNoteRecord | None:
        async with self._lock:
            return self._hidden.pop((board_id, note_id), None)

    # The glossary (issue #21)

    async def flag_term(
        self, board_id: str, term_id: str, flagger: str, max_flags: int
    ) -> tuple[int, bool]:
        async with self._lock:
            if board_id not in self._boards:
                raise StoreError(f"unknown board {board_id!r}")
            terms = self._flags.setdefault(board_id, {})
            flaggers = terms.get(term_id, set())
            if flagger in flaggers:
                return len(flaggers), False
            if sum(len(f) for f in terms.values()) >= max_flags:
                raise GlossaryFull(f"a board holds at most {max_flags} flags")
            terms[term_id] = flaggers | {flagger}
            return len(terms[term_id]), True

    async def term_flags(self, board_id: str) -> dict[str, int]:
        return {term: len(f) for term, f in self._flags.get(board_id, {}).items()}

    async def claim_explanation(self, board_id: str, term_id: str, lang: str, actor: str) -> str:
        async with self._lock:
            return self._explainers.setdefault((board_id, term_id, lang), actor)

    async def release_explanation(self, board_id: str, term_id: str, lang: str) -> None:
        async with self._lock:
            self._explainers.pop((board_id, term_id, lang), None)


def check_vote(delta: int, mine: int, spent: int, budget: int, max_per_note: int) -> None:
    """Raise VoteRefused if adding `delta` to `mine` (of `spent` dots in all) breaks a rule.

    Shared by both stores: the rules and their order (budget, then max_per_note) live in one place.
    """
    if delta < 0:
        if mine <= 0:
            raise VoteRefused("none_to_remove", "no dot of yours on this note to take back")
        return
    if spent + delta > budget:
        raise VoteRefused("budget", f"all {budget} of your dots are spent")
    if mine + delta > max_per_note:
        raise VoteRefused("max_per_note", f"at most {max_per_note} dots per note")


def check_mark(delta: int, marked: bool, spent: int, budget: int, dots_on_note: int) -> None:
    """Raise VoteRefused if casting (+1) or taking back (-1) a mark breaks a rule: one mark per
    note, the marks budget, and no mark on a note one put dots on (for and against at once says
    nothing). Shared by both stores."""
    if delta < 0:
        if not marked:
            raise VoteRefused("no_mark_to_remove", "no mark of yours on this note to take back")
        return
    if marked:
        raise VoteRefused("disagree_once", "one \"I disagree\" mark per note")
    if spent + delta > budget:
        raise VoteRefused("disagree_budget", f"all {budget} of your \"I disagree\" marks are spent")
    if dots_on_note > 0:
        raise VoteRefused(
            "stance_conflict", "you put dots on this note: take them back to disagree with it"
        )


def check_no_mark_when_dotting(marked: bool) -> None:
    if marked:
        raise VoteRefused(
            "stance_conflict", "you disagree with this note: take your mark back to vote for it"
        )
