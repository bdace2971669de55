"""The room's storage: a board's update log and its keyframes, one small protocol.

A room appends what it accepted (group commit: one transaction per batch), loads a board as its
latest keyframe and the updates after it, catches up from the log by seq, and saves keyframes;
the store records each note's creator in the same transaction as the update that creates it.
Replay reads the same log at a time or a seq (at most one keyframe interval of updates).

Design: `seq` is a single store-wide increasing integer (an autoincrement key), so several
processes can append to the same board without coordinating; per board, seq order is append
order (and, on PostgreSQL, commit order: server/store/sql.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class NewUpdate:
    """An accepted update about to be appended to a board's log."""

    ts: float
    actor: str  # participant id, "facilitator", "server", ...
    data: bytes
    # Note ids this update creates: the store records actor as their author in the same transaction,
    # so the doc itself need not carry authors (anonymous boards stay anonymous).
    created_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    seq: int
    ts: float
    actor: str
    data: bytes


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """A keyframe: the full document state (a v1 update) after every update up to `seq`."""

    seq: int
    ts: float
    state: bytes


@dataclass(frozen=True, slots=True)
class LogSummary:
    """A board's update log at a glance (indexed reads, no scan of the data)."""

    count: int
    first_seq: int
    first_ts: float | None
    last_seq: int
    last_ts: float | None


# The latest keyframe (if any) and the updates after it -> the keyframe to save (or None).
KeyframeBuilder = Callable[[SnapshotRecord | None, list[UpdateRecord]], SnapshotRecord | None]



class UpdateLog(Protocol):
    async def append_updates(self, board_id: str, updates: Sequence[NewUpdate]) -> list[int]:
        """Append all updates in ONE transaction (group commit); return their seqs, in order."""

    async def load(
        self, board_id: str, until_ts: float | None = None
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        """The latest keyframe (if any) and every update after it, in seq order.

        With `until_ts` (replay): the state as it was at that time — the latest keyframe written
        at or before it (so everything it covers is older) and the updates after it up to it."""

    async def updates_after(
        self, board_id: str, after_seq: int, limit: int | None = None
    ) -> list[UpdateRecord]:
        """Updates with seq > after_seq, in seq order (catch-up and replay)."""

    async def save_snapshot(self, board_id: str, snapshot: SnapshotRecord) -> None: ...

    async def save_keyframe_from_log(
        self, board_id: str, build: KeyframeBuilder
    ) -> SnapshotRecord | None:
        """Read the latest keyframe and the log after it, `build` a keyframe from them and save
        it, never interleaved with `erase_participant` of this board (a keyframe read before an
        erasure and saved after it would bring the name back). Returns what it built, if any."""

    async def note_authors(self, board_id: str) -> dict[str, str]:
        """note id -> actor that created it."""

    async def load_until_seq(
        self, board_id: str, seq: int
    ) -> tuple[SnapshotRecord | None, list[UpdateRecord]]:
        """The state after exactly the updates up to `seq`: the latest keyframe at or before it
        and the updates after that keyframe up to `seq` (at most one keyframe interval)."""

    async def log_summary(self, board_id: str) -> LogSummary: ...
