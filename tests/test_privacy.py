"""Data protection, end to end on a real server and its SQLite file: deleting a board, erasing a
person (their name gone from the tables, the update log and the keyframes, replay still working),
revoking and rotating tokens, retention."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Map

from server.http.privacy import PERSON_ERASED, PERSON_REVOKED
from server.http.replay import ERASED_NAME
from server.retention import Retention
from server.store import BoardRecord, MemoryStore, NewUpdate, SqlStore
from tests.conftest import ServerProcess
from tests.support import decoded_events
from tests.test_media import jpeg_with_gps, upload
from tests.yclient import YClient, add_note

TABLES = (
    "boards",
    "participants",
    "updates",
    "snapshots",
    "note_authors",
    "votes",
    "events",
    "event_cursors",
    "media",
)
NAME = "Anaïs Dupont-Verhaegen"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _key(table: str) -> str:
    return "id" if table == "boards" else "board_id"


def rows_of(db: Path, board_id: str) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {_key(table)} = ?", (board_id,)
            ).fetchone()[0]
            for table in TABLES
        }


def blobs(db: Path, board_id: str) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        log = conn.execute("SELECT data FROM updates WHERE board_id = ?", (board_id,)).fetchall()
        frames = conn.execute(
            "SELECT state FROM snapshots WHERE board_id = ?", (board_id,)
        ).fetchall()
    return [bytes(row[0]) for row in log + frames]


async def _workshop(server: ServerProcess, board: dict[str, Any], name: str) -> dict[str, Any]:
    """`name` posts two notes (the client writes the author's name into each) and votes."""
    fac = auth(board["facilitator_token"])
    person = server.join(board["join_code"], name=name)
    other = server.join(board["join_code"], name="Bram")
    client = await YClient(server.url(board["id"], person["token"])).connect()
    await client.change(add_note("mine1", "Un potager", author=name))
    await client.change(add_note("mine2", "Des bancs", author=name))
    bram = await YClient(server.url(board["id"], other["token"])).connect()
    await bram.change(add_note("his", f"{name.split()[0]} a raison", author="Bram"))
    await client.wait_until(lambda: "his" in client.notes())
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(f"/api/boards/{board['id']}/phase", json={"phase": "vote"}, headers=fac)
        assert r.status_code == 200
        r = await http.post(
            f"/api/boards/{board['id']}/votes",
            json={"note_id": "mine1", "delta": 1},
            headers=auth(person["token"]),
        )
        assert r.status_code == 200
        # Events are decoded and stored after each commit: they must go with the board too.
        await decoded_events(http, board["id"], board["facilitator_token"])
    await bram.close()
    return {"person": person, "client": client, "other": other}


async def test_deleting_a_board_empties_every_table_and_closes_the_room(
    make_server: Any, tmp_path: Path
) -> None:
    db = tmp_path / "gdpr.db"
    server = make_server(f"sqlite+aiosqlite:///{db}", COBORD_SNAPSHOT_EVERY="2")
    board = server.create_board(title="À effacer")
    kept = server.create_board(title="Reste")
    fac = auth(board["facilitator_token"])
    session = await _workshop(server, board, NAME)
    watcher = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    photo = upload(server, board["id"], session["person"]["token"], "photo", jpeg_with_gps())
    assert photo.status_code == 201, photo.text  # a picture goes with its board
    before = rows_of(db, board["id"])
    assert all(before.values()), before  # every table held something of this board
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.delete(
            f"/api/boards/{board['id']}", headers=auth(session["person"]["token"])
        )
        assert r.status_code == 403
        r = await http.delete(f"/api/boards/{board['id']}", headers=fac)
        assert r.status_code == 204
        for client in (session["client"], watcher):
            assert await client.wait_closed() == 4404
            assert client.close_reason == "board deleted by the facilitator"
        assert rows_of(db, board["id"]) == dict.fromkeys(TABLES, 0)
        assert rows_of(db, kept["id"])["boards"] == 1
        # Every token of the board is dead.
        for token in (
            board["facilitator_token"],
            session["person"]["token"],
            board["viewer_token"],
        ):
            r = await http.get(f"/api/boards/{board['id']}", headers=auth(token))
            assert r.status_code == 404 and r.json()["error"] == "unknown_board"
        again = await YClient(server.url(board["id"], board["facilitator_token"])).connect(
            wait_synced=False
        )
        assert await again.wait_closed() == 4404
        r = await http.get(f"/api/join/{board['join_code']}")
        assert r.status_code == 404
        r = await http.delete(f"/api/boards/{board['id']}", headers=fac)
        assert r.status_code == 404
    # Nothing the room flushed on its way out came back.
    assert rows_of(db, board["id"]) == dict.fromkeys(TABLES, 0)


def _decoded_text(data: bytes) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(data)
    return str({k: doc.get(k, type=Map).to_py() for k in ("notes", "clusters", "meta")})


async def test_erasing_a_person_reaches_the_log_and_keyframes(
    make_server: Any, tmp_path: Path
) -> None:
    db = tmp_path / "erase.db"
    server = make_server(f"sqlite+aiosqlite:///{db}", COBORD_SNAPSHOT_EVERY="2")
    board = server.create_board(title="Effacer une personne")
    fac = auth(board["facilitator_token"])
    session = await _workshop(server, board, NAME)
    person, client = session["person"], session["client"]
    pid = person["participant_id"]
    raw = NAME.encode()
    # The failure guarded against is real: the name is in the logged bytes and the keyframes.
    assert any(raw in blob for blob in blobs(db, board["id"]))
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM snapshots WHERE board_id = ?", (board["id"],)
            ).fetchone()[0]
            > 0
        )
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.delete(
            f"/api/boards/{board['id']}/participants/{pid}", headers=auth(session["other"]["token"])
        )
        assert r.status_code == 403
        r = await http.delete(f"/api/boards/{board['id']}/participants/{pid}", headers=fac)
        assert r.status_code == 200 and r.json()["erased"] is True and r.json()["rewritten"] > 0
        assert await client.wait_closed() == 4401 and client.close_reason == PERSON_ERASED
        r = await http.get(f"/api/boards/{board['id']}", headers=auth(person["token"]))
        assert r.status_code == 401 and r.json()["error"] == "revoked"
        retry = await YClient(server.url(board["id"], person["token"])).connect(wait_synced=False)
        assert await retry.wait_closed() == 4401

        # Gone from every table: raw bytes and decoded documents alike.
        stored = blobs(db, board["id"])
        assert stored and not any(raw in blob for blob in stored)
        log = (
            await http.get(
                f"/api/boards/{board['id']}/replay/updates", params={"limit": 5000}, headers=fac
            )
        ).json()
        replayed: Doc[Any] = Doc()
        for entry in log:
            data = base64.b64decode(entry["update"])
            replayed.apply_update(data)
            assert NAME not in _decoded_text(data)
        with sqlite3.connect(db) as conn:
            dump = "\n".join(conn.iterdump())
        assert NAME not in dump
        # Another person's note that mentions them keeps its text (not an author value).
        notes = replayed.get("notes", type=Map).to_py() or {}
        assert notes["his"]["text"] == "Anaïs a raison"
        assert set(notes) == {"mine1", "mine2", "his"}
        assert "author" not in notes["mine1"] and notes["his"]["author"] == "Bram"

        # Replay still works at every seq, and ends where the live board is.
        for entry in log:
            r = await http.get(
                f"/api/boards/{board['id']}/replay/state", params={"seq": entry["seq"]}, headers=fac
            )
            assert r.status_code == 200 and NAME not in _decoded_text(r.content)
        now = (await http.get(f"/api/boards/{board['id']}/replay/state", headers=fac)).content
        final: Doc[Any] = Doc()
        final.apply_update(now)
        assert final.get("notes", type=Map).to_py() == notes
        # The feed and the participant list no longer name them; their dot still counts.
        feed = await decoded_events(http, board["id"], board["facilitator_token"])
        assert NAME not in str(feed)
        added = [e["actor"] for e in feed["events"] if e["kind"] == "note_added"]
        assert added == ["Participant 1", "Participant 1", "Bram"]
        people = (await http.get(f"/api/boards/{board['id']}/participants", headers=fac)).json()
        assert [p["name"] for p in people] == [ERASED_NAME, "Bram"]
        report = await http.get(f"/api/boards/{board['id']}/export.md", headers=fac)
        assert NAME not in report.text and "- Un potager (1 dot)" in report.text.splitlines()


async def test_revoke_a_participant_token(server: ServerProcess) -> None:
    board = server.create_board(title="Revoke")
    fac = auth(board["facilitator_token"])
    person = server.join(board["join_code"], name="Ana")
    client = await YClient(server.url(board["id"], person["token"])).connect()
    async with httpx.AsyncClient(base_url=server.http) as http:
        assert (
            await http.get(f"/api/boards/{board['id']}", headers=auth(person["token"]))
        ).status_code == 200
        url = f"/api/boards/{board['id']}/participants/{person['participant_id']}/revoke"
        r = await http.post(url, headers=fac)
        assert r.status_code == 200
        assert await client.wait_closed() == 4401 and client.close_reason == PERSON_REVOKED
        r = await http.get(f"/api/boards/{board['id']}", headers=auth(person["token"]))
        assert r.status_code == 401
        r = await http.post(f"/api/boards/{board['id']}/participants/nobody/revoke", headers=fac)
        assert r.status_code == 404 and r.json()["error"] == "unknown_participant"
        people = (await http.get(f"/api/boards/{board['id']}/participants", headers=fac)).json()
        assert [p["name"] for p in people] == ["Ana"]  # revoked, not erased


async def test_rotate_the_facilitator_link_and_the_join_code(server: ServerProcess) -> None:
    board = server.create_board(title="Rotate")
    old = auth(board["facilitator_token"])
    socket = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/boards/{board['id']}/rotate", json={"what": "facilitator"}, headers=old
        )
        assert r.status_code == 200
        new = auth(r.json()["facilitator_token"])
        assert await socket.wait_closed() == 4401
        r = await http.get(f"/api/boards/{board['id']}/participants", headers=old)
        assert r.status_code == 401 and r.json()["error"] == "revoked"
        assert (
            await http.get(f"/api/boards/{board['id']}/participants", headers=new)
        ).status_code == 200
        fresh = await YClient(
            server.url(board["id"], r.request.headers["authorization"][7:])
        ).connect(wait_synced=False)
        assert await fresh.wait_closed() == 4401
        ok = await YClient(server.url(board["id"], new["Authorization"][7:])).connect()
        assert ok.synced
        meta = ok.doc.get("meta", type=Map)
        assert meta.get("join_code") == board["join_code"]  # in the doc from creation on

        r = await http.post(
            f"/api/boards/{board['id']}/rotate", json={"what": "join_code"}, headers=new
        )
        assert r.status_code == 200
        code = r.json()["join_code"]
        assert code != board["join_code"] and len(code) == 6
        assert (await http.get(f"/api/join/{board['join_code']}")).status_code == 404
        assert (await http.get(f"/api/join/{code}")).json()["board_id"] == board["id"]
        # An open screen learns the new code live, through the doc (a projector kept the old one
        # and its QR code for minutes: the code only came from HTTP at load).
        await ok.wait_until(lambda: meta.get("join_code") == code)
        r = await http.get(f"/api/boards/{board['id']}/export.json", headers=new)
        assert code not in r.text  # an export does not carry a code that still lets people in
        r = await http.post(f"/api/boards/{board['id']}/rotate", json={"what": "x"}, headers=new)
        assert r.status_code == 422 and r.json()["error"] == "bad_what"
        await ok.close()


async def test_retention_deletes_idle_boards_at_start(make_server: Any, tmp_path: Path) -> None:
    db = tmp_path / "retention.db"
    store = SqlStore(f"sqlite+aiosqlite:///{db}")
    await store.open()
    now = time.time()
    await store.boards.create_board(BoardRecord("old", "Vieux", "OLD111", now - 40 * 86400, {}))
    await store.log.append_updates("old", [NewUpdate(now - 31 * 86400, "server", b"\x00\x00")])
    await store.boards.create_board(BoardRecord("recent", "Récent", "NEW111", now - 40 * 86400, {}))
    await store.log.append_updates("recent", [NewUpdate(now - 86400, "server", b"\x00\x00")])
    await store.close()
    server = make_server(f"sqlite+aiosqlite:///{db}", COBORD_RETENTION_DAYS="30")
    text = server.log_path.read_text()
    assert "board old deleted: idle for more than 30 days (COBORD_RETENTION_DAYS)" in text
    assert "board recent deleted" not in text
    assert rows_of(db, "old") == dict.fromkeys(TABLES, 0)
    assert rows_of(db, "recent")["boards"] == 1


async def test_retention_is_off_by_default(caplog: pytest.LogCaptureFixture) -> None:
    from server.live.hub import Hub
    from server.settings import Settings

    store = MemoryStore()
    await store.boards.create_board(BoardRecord("old", "Vieux", "OLD111", 0.0, {}))
    settings = Settings.from_env()
    assert settings.retention_days == 0
    hub = Hub(store, settings)
    off = Retention(store, hub, settings.retention_days)
    await off.start()
    assert await store.boards.get_board("old") is not None
    on = Retention(store, hub, 1.0)
    assert await on.sweep() == ["old"]
    await asyncio.gather(off.close(), on.close())
