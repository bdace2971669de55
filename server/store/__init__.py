"""Storage: the `Store` (a board's update log, server/store/log.py, and one repository per
concern: boards and participants, ballots, media, events, privacy, moderation), its records, and
the two implementations: `MemoryStore` (the in-memory twin) and `SqlStore` (tables.py: the
tables, defined once; ballot_rules.py: the voting rules both apply).

Only the composition root (server/app.py) should pick an implementation, through `make_store`.
"""

from __future__ import annotations

from server.store.base import (
    Ballots,
    BoardRecord,
    Boards,
    DuplicateJoinCode,
    ErasureCounts,
    EventRecord,
    Events,
    GlossaryFull,
    HiddenNoteRecord,
    HiddenNotes,
    HistoryRewrite,
    HistoryRewriter,
    MarkRecord,
    MediaLibrary,
    MediaRecord,
    ParticipantRecord,
    Privacy,
    Store,
    StoreError,
    VoteRecord,
    VoteRefused,
    VoteTally,
)
from server.store.log import (
    KeyframeBuilder,
    LogSummary,
    NewUpdate,
    SnapshotRecord,
    UpdateLog,
    UpdateRecord,
)
from server.store.memory import MemoryStore
from server.store.sql import SqlStore
from server.store.sql_database import DEFAULT_URL, upgrade

MEMORY_URL = "memory://"


def make_store(url: str | None, sqlite_synchronous: str = "FULL") -> Store:
    """`memory://` -> MemoryStore; anything else (None -> the default SQLite file) -> SqlStore.

    The store is not opened yet: call `await store.open()`.
    """
    if url is not None and url.strip() == MEMORY_URL:
        return MemoryStore()
    return SqlStore(url or DEFAULT_URL, sqlite_synchronous)


__all__ = [
    "DEFAULT_URL",
    "MEMORY_URL",
    "Ballots",
    "BoardRecord",
    "Boards",
    "DuplicateJoinCode",
    "ErasureCounts",
    "EventRecord",
    "Events",
    "GlossaryFull",
    "HiddenNoteRecord",
    "HiddenNotes",
    "HistoryRewrite",
    "HistoryRewriter",
    "KeyframeBuilder",
    "LogSummary",
    "MarkRecord",
    "MediaLibrary",
    "MediaRecord",
    "MemoryStore",
    "NewUpdate",
    "ParticipantRecord",
    "Privacy",
    "SnapshotRecord",
    "SqlStore",
    "Store",
    "StoreError",
    "UpdateLog",
    "UpdateRecord",
    "VoteRecord",
    "VoteRefused",
    "VoteTally",
    "make_store",
    "upgrade",
]
