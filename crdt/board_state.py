"""What the rules need to know about a board beyond the update they judge, kept up to date by the
room (server/live/core.py): who created each note, live notes per author (the quota), live
clusters and glossary terms, and an upper bound of the board's encoded size (its byte bound)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from crdt.schema import CLUSTERS, GLOSSARY, NOTES
from crdt.shadow import Change

# A board is bounded in bytes so that a joiner of the largest allowed board always syncs: its
# first SyncStep2 (the whole board) must fit the outbound queue's byte bound
# (Settings.outbox_max_bytes, 32 MiB), with room left for the updates that arrive meanwhile.
MAX_BOARD_BYTES: Final = 16 * 1024 * 1024  # the board's encoded size (estimated from above)
REMEASURE_BYTES: Final = 1024 * 1024


@dataclass(slots=True)
class BoardState:
    """What the rules need to know about a board, kept up to date by the room."""

    settings: Mapping[str, Any]
    note_authors: dict[str, str] = field(default_factory=dict)  # every note id ever created
    notes_by_actor: dict[str, int] = field(default_factory=dict)
    live_notes: int = 0  # notes created and not deleted (as this process saw them)
    # Note ids this process saw deleted (or found gone at load): slots they held in a quota
    # shared across processes are freed (server/scale/quotas.py).
    deleted_notes: set[str] = field(default_factory=set)
    live_clusters: int = 0  # clusters created and not deleted (as this process saw them)
    live_terms: int = 0  # glossary terms (crdt/glossary.py), as this process saw them
    # An upper bound of the board's encoded size: the exact size at load (and at each keyframe)
    # plus every update stored or received since (merging never makes updates larger).
    bytes: int = 0
    max_bytes: int | None = MAX_BOARD_BYTES  # None: no byte bound (a joiner may get 4408)
    # Gives the exact encoded size of the board including the update being judged (the room
    # encodes its shadow doc): asked only when the estimate is over the bound, and at most once
    # per REMEASURE_BYTES of growth, so a stream of updates on a full board stays O(change).
    measure: Callable[[], int] | None = None
    measured_at: int = 0  # `bytes` when it was last exact

    def record_bytes(self, size: int) -> None:
        self.bytes += size

    def measured(self, size: int) -> None:
        """The exact encoded size, after a keyframe (plus what is not in it yet)."""
        self.bytes = self.measured_at = size

    def over_bytes(self, size: int) -> bool:
        """Would storing `size` more bytes pass the bound? (re-measured when worth it)"""
        if self.max_bytes is None or self.bytes + size <= self.max_bytes:
            return False
        if self.measure is not None and self.bytes - self.measured_at >= REMEASURE_BYTES:
            self.measured(max(0, self.measure() - size))
        return self.bytes + size > self.max_bytes

    def loaded(self, size: int, live_notes: Iterable[str], clusters: int) -> None:
        """At load: the exact encoded size, and the counts from the live board (the log's
        `note_authors` also names deleted notes, which count against no quota)."""
        self.bytes = self.measured_at = size
        self.live_clusters = clusters
        self.live_notes = 0
        self.notes_by_actor = {}
        live = set(live_notes)
        self.deleted_notes = set(self.note_authors) - live
        for note_id in live:
            self.live_notes += 1
            author = self.note_authors.get(note_id)
            if author is not None:
                self.notes_by_actor[author] = self.notes_by_actor.get(author, 0) + 1

    def record_changes(self, changes: Sequence[Change]) -> None:
        """Bookkeeping of an accepted update: deleted notes, created and deleted clusters."""
        for change in changes:
            if change.item is None:
                continue
            if change.root == NOTES and change.action == "delete":
                self.record_deleted(change.item)
            elif change.root == CLUSTERS and change.action == "create":
                self.live_clusters += 1
            elif change.root == CLUSTERS and change.action == "delete":
                self.live_clusters = max(0, self.live_clusters - 1)
            elif change.root == GLOSSARY and change.action == "create":
                self.live_terms += 1
            elif change.root == GLOSSARY and change.action == "delete":
                self.live_terms = max(0, self.live_terms - 1)

    def record_created(self, note_ids: Sequence[str], actor_id: str) -> None:
        for note_id in note_ids:
            self.note_authors[note_id] = actor_id
        self.notes_by_actor[actor_id] = self.notes_by_actor.get(actor_id, 0) + len(note_ids)
        self.live_notes += len(note_ids)

    def record_deleted(self, note_id: str) -> None:
        """A deleted note no longer counts against its author's quota (its id stays used)."""
        self.deleted_notes.add(note_id)
        author = self.note_authors.get(note_id)
        if author is not None and self.notes_by_actor.get(author, 0) > 0:
            self.notes_by_actor[author] -= 1
        self.live_notes = max(0, self.live_notes - 1)
