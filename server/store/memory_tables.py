"""What a `MemoryStore` holds (server/store/memory.py): plain dicts every repository of one store
shares, as SQL repositories share one database."""

from __future__ import annotations

import asyncio
import itertools

from server.store.base import (
    BoardRecord,
    EventRecord,
    HiddenNoteRecord,
    MediaRecord,
    ParticipantRecord,
)
from server.store.log import SnapshotRecord, UpdateRecord


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
