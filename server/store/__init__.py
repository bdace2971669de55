"""Storage: the `Store` protocol, its records, and the two implementations.

Only the composition root (server/app.py) should pick an implementation, through `make_store`.
"""

from __future__ import annotations

from server.store.base import (
    BoardRecord,
    DuplicateJoinCode,
    ErasureCounts,
    EventRecord,
    GlossaryFull,
    HiddenNoteRecord,
    HistoryRewrite,
    HistoryRewriter,
    KeyframeBuilder,
    LogSummary,
    MarkRecord,
    MediaRecord,
    NewUpdate,
    ParticipantRecord,
    SnapshotRecord,
    Store,
    StoreError,
    UpdateRecord,
    VoteRecord,
    VoteRefused,
    VoteTally,
)
from server.store.memory import MemoryStore
from server.store.sql import DEFAULT_URL, SqlStore, upgrade

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
    "BoardRecord",
    "DuplicateJoinCode",
    "ErasureCounts",
    "EventRecord",
    "GlossaryFull",
    "HiddenNoteRecord",
    "HistoryRewrite",
    "HistoryRewriter",
    "KeyframeBuilder",
    "LogSummary",
    "MarkRecord",
    "MediaRecord",
    "MemoryStore",
    "NewUpdate",
    "ParticipantRecord",
    "SnapshotRecord",
    "SqlStore",
    "Store",
    "StoreError",
    "UpdateRecord",
    "VoteRecord",
    "VoteRefused",
    "VoteTally",
    "make_store",
    "upgrade",
]
