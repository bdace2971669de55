"""SQLite durability: synchronous=FULL by default (every group commit is fsynced before clients
see it), NORMAL only when asked, on both connections that write (the log appender and the
SQLAlchemy pool), and a bad value refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import ConfigError, Settings
from server.store.base import BoardRecord
from server.store.log import NewUpdate
from server.store.sql import SqlStore
from tests.conftest import ROOT, free_port

SYNCHRONOUS = {1: "NORMAL", 2: "FULL"}  # what PRAGMA synchronous answers


@pytest.mark.parametrize(("setting", "expected"), [(None, "FULL"), ("NORMAL", "NORMAL")])
async def test_sqlite_synchronous_on_every_writing_connection(
    tmp_path: Path, setting: str | None, expected: str
) -> None:
    settings = Settings.from_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/d.db",
        secret_key="x",
        **({"sqlite_synchronous": setting} if setting else {}),
    )
    store = SqlStore(settings.database_url, settings.sqlite_synchronous)
    await store.open()
    try:
        await store.boards.create_board(BoardRecord("b", "t", "CODE01", 0.0, {}))
        assert await store.log.append_updates("b", [NewUpdate(0.0, "a", b"\x00\x00", ())])
        assert store.db.appender is not None
        assert SYNCHRONOUS[int(await store.db.appender.pragma("synchronous"))] == expected
        assert store.db.engine is not None
        async with store.db.engine.connect() as conn:
            value = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        assert SYNCHRONOUS[int(value)] == expected
    finally:
        await store.close()


def test_env_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("COBORD_SQLITE_SYNCHRONOUS", "normal")
    assert Settings.from_env().sqlite_synchronous == "NORMAL"
    monkeypatch.setenv("COBORD_SQLITE_SYNCHRONOUS", "OFF")
    with pytest.raises(ConfigError, match="COBORD_SQLITE_SYNCHRONOUS must be one of FULL, NORMAL"):
        Settings.from_env()


def test_a_bad_synchronous_value_refuses_to_start(tmp_path: Path) -> None:
    env = {**os.environ, "SECRET_KEY": "x", "COBORD_SQLITE_SYNCHRONOUS": "OFF"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "server.cli", "serve", "--port", str(free_port())),
            *("--database-url", f"sqlite+aiosqlite:///{tmp_path}/x.db"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert b"COBORD_SQLITE_SYNCHRONOUS must be one of FULL, NORMAL, not 'OFF'" in done.stderr
