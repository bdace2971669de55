"""`SqlStore`: the `Store` over SQLAlchemy 2 async Core; SQLite (aiosqlite) or PostgreSQL (asyncpg).

One `SqlDatabase` (sql_database.py: the engine, the migrations, how read and write transactions
are opened, and why) shared by one repository per concern: sql_log.py, sql_boards.py,
sql_ballots.py, sql_media.py, sql_events.py, sql_privacy.py, sql_moderation.py, sql_glossary.py.
The tables are defined once, in tables.py.
"""

from __future__ import annotations

from server.store.sql_ballots import SqlBallots
from server.store.sql_boards import SqlBoards
from server.store.sql_database import DEFAULT_URL, SqlDatabase
from server.store.sql_events import SqlEvents
from server.store.sql_glossary import SqlGlossary
from server.store.sql_log import SqlUpdateLog
from server.store.sql_media import SqlMediaLibrary
from server.store.sql_moderation import SqlHiddenNotes
from server.store.sql_privacy import SqlPrivacy


class SqlStore:
    """The `Store` over a SQL database: its repositories share one `SqlDatabase`. Call `open()`
    before use and `close()` after."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        sqlite_synchronous: str = "FULL",
        max_connections: int | None = None,
    ) -> None:
        self.db = SqlDatabase(url, sqlite_synchronous, max_connections)
        self.log = SqlUpdateLog(self.db)
        self.boards = SqlBoards(self.db)
        self.ballots = SqlBallots(self.db)
        self.media = SqlMediaLibrary(self.db)
        self.events = SqlEvents(self.db)
        self.privacy = SqlPrivacy(self.db)
        self.moderation = SqlHiddenNotes(self.db)
        self.glossary = SqlGlossary(self.db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()
