"""`MemoryStore`: the in-memory twin of `SqlStore`, for tests, benchmarks and `memory://`: one
repository per concern over the same plain dicts (memory_tables.py), as the SQL repositories share
one database: memory_log.py, memory_boards.py, memory_ballots.py, memory_media.py,
memory_events.py, memory_privacy.py, memory_moderation.py, memory_glossary.py.

It follows the same contract as the SQL store (tests/test_store_contract.py runs against both),
including the error cases: a duplicate join code, an unknown board or participant, refused votes.
"""

from __future__ import annotations

from server.store.memory_ballots import MemoryBallots
from server.store.memory_boards import MemoryBoards
from server.store.memory_events import MemoryEvents
from server.store.memory_glossary import MemoryGlossary
from server.store.memory_log import MemoryUpdateLog
from server.store.memory_media import MemoryMediaLibrary
from server.store.memory_moderation import MemoryHiddenNotes
from server.store.memory_privacy import MemoryPrivacy
from server.store.memory_tables import MemoryTables


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
