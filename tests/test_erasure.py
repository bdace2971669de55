"""Erasing a person cannot break a board (issue #20, critical), end to end on real servers.

The attack: a participant writes a note whose text holds the bytes an erased name is stored as
(`"w" + chr(len(name)) + name`), or people are named like the values every note carries (`en`,
`yellow`, `ideate`) or like someone else (two `Bob`s). Erasure must change exactly the erased
person's `author` values, every stored row must still decode, the board must load, replay and
export, and nothing else may change. One process on SQLite; two on PostgreSQL + Redis.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pycrdt import Doc, Map

from server.http.replay import ERASED_NAME
from tests.conftest import ServerProcess
from tests.test_media import jpeg_with_gps, upload
from tests.yclient import YClient, add_note

LONG = "Marie-Christine Van den Broeck 12"  # 33 bytes: chr(33) is "!", a printable text
BAIT = "w" + chr(len(LONG)) + LONG  # what the byte-replacing erasure looked for


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def board_of(data: bytes) -> dict[str, Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(data)
    return {k: doc.get(k, type=Map).to_py() or {} for k in ("notes", "clusters", "meta")}


async def _workshop(server: ServerProcess, board: dict[str, Any]) -> dict[str, Any]:
    """Seven people; each writes one note signed with their name; Bram's text is the bait."""
    people: dict[str, Any] = {}
    names = [("long", LONG), ("en", "en"), ("yellow", "yellow"), ("ideate", "ideate")]
    names += [("bob1", "Bob"), ("bob2", "Bob"), ("bram", "Bram")]
    for key, name in names:
        person = server.join(board["join_code"], name=name)
        client = await YClient(server.url(board["id"], person["token"])).connect()
        text = BAIT if key == "bram" else f"idea of {key}"
        await client.change(add_note(f"n-{key}", text, author=name))
        people[key] = {**person, "client": client, "name": name}
    last = people["bram"]["client"]
    await last.wait_until(lambda: len(last.notes()) == len(names))
    return people


async def _check_board(http: httpx.AsyncClient, board: dict[str, Any], fac: dict[str, str]) -> Any:
    """Every row decodes, replay answers at every seq, exports answer: the board is intact."""
    bid = board["id"]
    log = (await http.get(f"/api/boards/{bid}/replay/updates?limit=5000", headers=fac)).json()
    assert log
    for entry in log:
        r = await http.get(
            f"/api/boards/{bid}/replay/state", params={"seq": entry["seq"]}, headers=fac
        )
        assert r.status_code == 200, r.text
        board_of(r.content)
    for path in ("export.json", "export.md", "export.csv", "results"):
        r = await http.get(f"/api/boards/{bid}/{path}", headers=fac)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
    now = await http.get(f"/api/boards/{bid}/replay/state", headers=fac)
    assert now.status_code == 200
    return board_of(now.content)


def _expected_after(erased: set[str]) -> dict[str, dict[str, Any]]:
    """Every note as written, minus the erased people's author."""
    out = {}
    for key, name in [("long", LONG), ("en", "en"), ("yellow", "yellow"), ("ideate", "ideate")]:
        out[f"n-{key}"] = {"author": name, "text": f"idea of {key}"}
    out["n-bob1"] = {"author": "Bob", "text": "idea of bob1"}
    out["n-bob2"] = {"author": "Bob", "text": "idea of bob2"}
    out["n-bram"] = {"author": "Bram", "text": BAIT}
    for key in erased:
        del out[f"n-{key}"]["author"]
    return out


def _assert_board(state: dict[str, Any], erased: set[str]) -> None:
    expected = _expected_after(erased)
    assert set(state["notes"]) == set(expected)
    for note_id, want in expected.items():
        note = state["notes"][note_id]
        assert note.get("author") == want.get("author"), (note_id, note)
        assert note["text"] == want["text"]
        assert note["lang"] == "en" and note["color"] == "yellow", note
    assert state["meta"]["phase"] == "ideate"


async def _assert_live(server: ServerProcess, board: dict[str, Any], erased: set[str]) -> None:
    """A fresh facilitator socket gets the same board."""
    viewer = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    meta = viewer.doc.get("meta", type=Map).to_py()
    _assert_board({"notes": viewer.notes(), "meta": meta}, erased)
    await viewer.close()


def _sqlite_rows(db: Path, board_id: str) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        log = conn.execute(
            "SELECT data FROM updates WHERE board_id = ? ORDER BY seq", (board_id,)
        ).fetchall()
        frames = conn.execute(
            "SELECT state FROM snapshots WHERE board_id = ? ORDER BY seq", (board_id,)
        ).fetchall()
    return [bytes(r[0]) for r in log] + [bytes(r[0]) for r in frames]


def _all_rows_decode(rows: list[bytes]) -> None:
    for row in rows:
        board_of(row)  # a keyframe alone, or an update on a fresh doc: pycrdt raises if corrupt


async def test_erasing_names_that_are_bytes_in_others_text_or_common_values_breaks_nothing(
    make_server: Any, tmp_path: Path
) -> None:
    db = tmp_path / "erase.db"
    server = make_server(f"sqlite+aiosqlite:///{db}", COBORD_SNAPSHOT_EVERY="3")
    board = server.create_board(title="Attack")
    fac = auth(board["facilitator_token"])
    people = await _workshop(server, board)
    bid = board["id"]
    # Bob 1 also uploads a photo; a hidden note of "yellow" keeps its author name until restored.
    photo = upload(server, bid, people["bob1"]["token"], "photo", jpeg_with_gps((64, 48)))
    assert photo.status_code == 201, photo.text
    erased: set[str] = set()
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        for key in ("long", "en", "yellow", "ideate", "bob1"):
            if key == "yellow":
                hide = f"/api/boards/{bid}/notes/n-yellow/hide"
                r = await http.post(hide, json={"reason": "x"}, headers=fac)
                assert r.status_code == 200
            pid = people[key]["participant_id"]
            r = await http.delete(f"/api/boards/{bid}/participants/{pid}", headers=fac)
            assert r.status_code == 200, r.text
            assert r.json()["erased"] is True
            erased.add(key)
            _all_rows_decode(_sqlite_rows(db, bid))
            if key == "yellow":
                r = await http.post(f"/api/boards/{bid}/notes/n-yellow/restore", headers=fac)
                assert r.status_code == 200
            _assert_board(await _check_board(http, board, fac), erased)
        # The erased photo: gone with its owner (docs/privacy.md).
        r = await http.get(f"/api/boards/{bid}/media/{photo.json()['id']}", headers=fac)
        assert r.status_code == 404
        # Nothing anywhere in the file still names the long-named person as an author value,
        # while Bram's text (which merely holds those bytes) is intact.
        with sqlite3.connect(db) as conn:
            names = [row[0] for row in conn.execute("SELECT name FROM participants")]
        assert sorted(names) == sorted([ERASED_NAME] * 5 + ["Bob", "Bram"])
        # The live board: a fresh facilitator socket gets the same board.
        viewer = await YClient(server.url(bid, board["facilitator_token"])).connect()
        _assert_board(
            {"notes": viewer.notes(), "meta": viewer.doc.get("meta", type=Map).to_py()}, erased
        )
        await viewer.close()
    for person in people.values():
        await person["client"].close()
    # After a restart the board loads from the rewritten keyframe + log.
    server.stop()
    server.start()
    viewer = await YClient(server.url(bid, board["facilitator_token"])).connect()
    _assert_board(
        {"notes": viewer.notes(), "meta": viewer.doc.get("meta", type=Map).to_py()}, erased
    )
    await viewer.close()
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        _assert_board(await _check_board(http, board, fac), erased)


async def _pg_rows(url: str, board_id: str) -> list[bytes]:
    conn = await asyncpg.connect(url)
    try:
        log = await conn.fetch(
            "SELECT data FROM updates WHERE board_id = $1 ORDER BY seq", board_id
        )
        frames = await conn.fetch(
            "SELECT state FROM snapshots WHERE board_id = $1 ORDER BY seq", board_id
        )
    finally:
        await conn.close()
    return [bytes(r[0]) for r in log] + [bytes(r[0]) for r in frames]


@pytest.mark.redis
@pytest.mark.postgres
async def test_erasure_on_one_process_leaves_both_processes_and_the_shared_log_right(
    make_server: Any, pg_url: str
) -> None:
    from tests.test_fanout import REDIS_URL, redis_or_skip

    await redis_or_skip()
    env = {"REDIS_URL": REDIS_URL, "COBORD_SNAPSHOT_EVERY": "3"}
    first, second = make_server(database_url=pg_url, **env), make_server(database_url=pg_url, **env)
    board = first.create_board(title="Deux processus")
    bid, fac = board["id"], auth(board["facilitator_token"])
    # Everyone writes through the SECOND process; the erasures are asked of the FIRST.
    people = await _workshop(second, board)
    watcher = await YClient(first.url(bid, board["facilitator_token"])).connect()
    await watcher.wait_until(lambda: len(watcher.notes()) == len(people))
    erased: set[str] = set()
    async with httpx.AsyncClient(timeout=30) as http:
        for key in ("long", "en", "bob1"):
            pid = people[key]["participant_id"]
            r = await http.delete(f"{first.http}/api/boards/{bid}/participants/{pid}", headers=fac)
            assert r.status_code == 200, r.text
            erased.add(key)
            _all_rows_decode(await _pg_rows(pg_url, bid))
        # Sockets on the second process got the live change; a new one there too.
        bram = people["bram"]["client"]
        await bram.wait_until(lambda: "author" not in bram.notes()["n-bob1"])
        for client in (bram, watcher):
            meta = client.doc.get("meta", type=Map).to_py()
            _assert_board({"notes": client.notes(), "meta": meta}, erased)
        await _assert_live(second, board, erased)
        # The log both share replays and exports, whichever process answers.
        async with httpx.AsyncClient(base_url=second.http, timeout=30) as on_second:
            _assert_board(await _check_board(on_second, board, fac), erased)
        # More work after the erasure: keyframes written from the log stay clean.
        for i in range(4):
            await bram.change(add_note(f"late-{i}", "encore", author="Bram"))
        await watcher.wait_until(lambda: "late-3" in watcher.notes())
        rows = await _pg_rows(pg_url, bid)
        _all_rows_decode(rows)
        assert not any(LONG.encode() in row and BAIT.encode() not in row for row in rows)
    await watcher.close()
    for person in people.values():
        await person["client"].close()


async def test_an_erasure_that_cannot_be_checked_changes_nothing_and_says_why(
    make_server: Any, tmp_path: Path
) -> None:
    db = tmp_path / "refuse.db"
    server = make_server(f"sqlite+aiosqlite:///{db}")
    board = server.create_board(title="Refus")
    bid, fac = board["id"], auth(board["facilitator_token"])
    bob = server.join(board["join_code"], name="Bob")
    client = await YClient(server.url(bid, bob["token"])).connect()
    await client.change(add_note("n-bob", "idée", author="Bob"))
    viewer = await YClient(server.url(bid, board["facilitator_token"])).connect()
    await viewer.wait_until(lambda: "n-bob" in viewer.notes())
    # A row yrs reads but the codec would not write back byte for byte (its client count in two
    # bytes): stands for any row the erasure cannot rewrite safely.
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT data FROM updates WHERE board_id = ? ORDER BY seq", (bid,)
        ).fetchall()
        # the row that wrote Bob's note (and so his author value): one the erasure must rewrite
        (row,) = [r[0] for r in rows if "idée".encode() in r[0]]
        conn.execute(
            "INSERT INTO updates (board_id, ts, actor, data) VALUES (?, 0, 'facilitator', ?)",
            (bid, bytes([row[0] | 0x80, 0]) + bytes(row[1:])),
        )
    before = _sqlite_rows(db, bid)
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        r = await http.delete(
            f"/api/boards/{bid}/participants/{bob['participant_id']}", headers=fac
        )
        assert r.status_code == 409 and r.json()["error"] == "erasure_refused"
        assert "cannot be written back exactly" in r.json()["message"]
        # Nothing erased: the stored rows (but the live change and its undo, appended), the
        # participant's name; the live board has the author back; the token stays refused.
        after = _sqlite_rows(db, bid)
        assert all(old in after for old in before) and len(after) == len(before) + 2
        people = (await http.get(f"/api/boards/{bid}/participants", headers=fac)).json()
        assert [p["name"] for p in people] == ["Bob"]
        await viewer.wait_until(lambda: viewer.notes()["n-bob"].get("author") == "Bob")
        assert await client.wait_closed() == 4401
        r = await http.get(f"/api/boards/{bid}", headers=auth(bob["token"]))
        assert r.status_code == 401
        _assert_board_loads = await http.get(f"/api/boards/{bid}/export.json", headers=fac)
        assert _assert_board_loads.status_code == 200
    await viewer.close()
