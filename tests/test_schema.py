"""The tables are defined once (server/store/tables.py) and must be what the migrations build.

Each test runs every Alembic migration on an empty database (a SQLite file; a PostgreSQL database
created for the test and dropped after it) and compares the result with the metadata, the way
`alembic revision --autogenerate` would (`compare_metadata`, with types and server defaults):
any difference (a table, column, type, nullability, index or constraint on one side only) fails.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from server.store import upgrade
from server.store.sql_database import make_engine, normalize_url
from server.store.tables import metadata
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.support import service_missing


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind (not the session's shared PostgreSQL one: it has data)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"
        return
    name = f"cobord_schema_{uuid.uuid4().hex[:12]}"
    try:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        service_missing(f"PostgreSQL at {PG_HOST}:{PG_PORT} is not usable: {error!r}")
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _differences(url: str, target: sa.MetaData) -> list[Any]:
    """What `compare_metadata` finds between the migrated database at `url` and `target`."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        found: list[Any] = compare_metadata(context, target)
        return found

    engine = make_engine(normalize_url(url))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


def _ignore_alembic_version(diff: list[Any]) -> list[Any]:
    # Alembic's own bookkeeping table is not part of the product's metadata.
    return [
        d
        for d in diff
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ]


async def test_the_migrations_build_exactly_the_tables_the_store_uses(empty_url: str) -> None:
    await upgrade(empty_url)
    assert _ignore_alembic_version(await _differences(empty_url, metadata)) == []


def _with_change(change: Callable[[sa.MetaData], None]) -> sa.MetaData:
    copy = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    change(copy)
    return copy


async def test_a_table_that_drifts_from_the_migrations_is_found(empty_url: str) -> None:
    """The comparison can fail: a column the migrations never add, an index they create that the
    tables forgot, and a type changed on one side are each reported, by name."""
    await upgrade(empty_url)

    def add_column(meta: sa.MetaData) -> None:
        meta.tables["votes"].append_column(sa.Column("weight", sa.Integer, nullable=True))

    def forget_index(meta: sa.MetaData) -> None:
        events = meta.tables["events"]
        events.indexes = {i for i in events.indexes if i.name != "ix_events_board_kind_seq"}

    def change_type(meta: sa.MetaData) -> None:
        meta.tables["boards"].c.title.type = sa.Integer()

    added = _ignore_alembic_version(await _differences(empty_url, _with_change(add_column)))
    assert [(d[0], d[3].table.name, d[3].name) for d in added] == [
        ("add_column", "votes", "weight")
    ]
    forgot = _ignore_alembic_version(await _differences(empty_url, _with_change(forget_index)))
    assert [(d[0], d[1].name) for d in forgot] == [("remove_index", "ix_events_board_kind_seq")]
    typed = _ignore_alembic_version(await _differences(empty_url, _with_change(change_type)))
    assert [(d[0][0], d[0][2], d[0][3]) for d in typed] == [("modify_type", "boards", "title")]
