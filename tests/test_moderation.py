"""Moderation: a hidden note is hidden over the wire (server/http/moderation.py).

Checked on the bytes: what a connected participant receives after the hide, what a fresh joiner
receives (also after the server restarted and rebuilt the board from its log), and the API's
answers for each role (exact codes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pycrdt import Map

from server.store.base import HiddenNoteRecord, Store, StoreError
from tests.conftest import ServerProcess
from tests.test_store_contract import new_board, open_store, store, store_url  # noqa: F401
from tests.yclient import YClient, add_note

SECRET = "Le voisin du 3e est un voleur"  # what must not reach anyone else once hidden


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(server: ServerProcess, path: str, token: str, body: Any = None) -> httpx.Response:
    body = body if body is not None else {}
    return httpx.post(f"{server.http}{path}", json=body, headers=auth(token))


def patch(server: ServerProcess, path: str, token: str, body: Any) -> httpx.Response:
    return httpx.patch(f"{server.http}{path}", json=body, headers=auth(token))


def delete(server: ServerProcess, path: str, token: str) -> httpx.Response:
    return httpx.delete(f"{server.http}{path}", headers=auth(token))


def get(server: ServerProcess, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{server.http}{path}", headers=auth(token))


def received_after(client: YClient, mark: int) -> bytes:
    return b"".join(client.received[mark:])


async def test_hidden_note_never_reaches_other_participants_and_comes_back_on_restore(
    server: ServerProcess,
) -> None:
    board = server.create_board(title="Moderation")
    bid, fac = board["id"], board["facilitator_token"]
    assert patch(server, f"/api/boards/{bid}/settings", fac, {"anonymous": True}).status_code == 200
    author = server.join(board["join_code"], name="Ana")
    other = server.join(board["join_code"], name="Bo")
    a = await YClient(server.url(bid, author["token"])).connect()
    b = await YClient(server.url(bid, other["token"])).connect()
    try:
        await a.change(add_note("n-secret", SECRET))
        await a.change(add_note("n-fine", "Plus de bancs"))
        await b.wait_until(lambda: "n-secret" in b.notes() and "n-fine" in b.notes())
        mark = len(b.received)
        assert SECRET.encode() in received_after(b, 0)  # the check below can see it

        # Participants and viewers may not moderate: 403 forbidden, nothing changes.
        hide = f"/api/boards/{bid}/notes/n-secret/hide"
        refused = post(server, hide, other["token"], {"reason": "x"})
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        viewer = post(server, f"/api/boards/{bid}/notes/n-secret/hide", board["viewer_token"])
        assert viewer.status_code == 403 and viewer.json()["error"] == "forbidden"
        assert get(server, f"/api/boards/{bid}/hidden", board["viewer_token"]).status_code == 403
        bad = post(server, f"/api/boards/{bid}/notes/n-secret/hide", fac, {"reason": "\x00"})
        assert bad.status_code == 422 and bad.json()["error"] == "bad_reason"
        long = post(server, f"/api/boards/{bid}/notes/n-secret/hide", fac, {"reason": "x" * 201})
        assert long.status_code == 422 and long.json()["error"] == "bad_reason"
        unknown = post(server, f"/api/boards/{bid}/notes/nope/hide", fac, {"reason": "x"})
        assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_note"

        hidden = post(server, f"/api/boards/{bid}/notes/n-secret/hide", fac, {"reason": "Insulte"})
        assert hidden.status_code == 200, hidden.text
        assert hidden.json()["note_id"] == "n-secret" and hidden.json()["reason"] == "Insulte"
        assert isinstance(hidden.json()["hidden_at"], int) and hidden.json()["hidden_at"] > 1e12
        again = post(server, f"/api/boards/{bid}/notes/n-secret/hide", fac, {"reason": "x"})
        assert again.status_code == 404 and again.json()["error"] == "unknown_note"

        await b.wait_until(lambda: "n-secret" not in b.notes())
        await a.wait_until(lambda: "n-secret" not in a.notes())
        assert "n-fine" in b.notes()
        # What the other participant received since: the delete only, never the text.
        assert len(b.received) > mark
        assert SECRET.encode() not in received_after(b, mark)

        # A fresh joiner's sync carries neither the text nor the note.
        joiner = server.join(board["join_code"], name="Cy")
        c = await YClient(server.url(bid, joiner["token"])).connect()
        try:
            assert SECRET.encode() not in received_after(c, 0)
            assert "n-secret" not in c.notes() and "n-fine" in c.notes()
        finally:
            await c.close()

        # Who reads the hidden note: the facilitator (all), its author (theirs), nobody else.
        listed = get(server, f"/api/boards/{bid}/hidden", fac)
        assert listed.status_code == 200
        assert [(n["note_id"], n["text"], n["reason"], n["mine"]) for n in listed.json()] == [
            ("n-secret", SECRET, "Insulte", False)
        ]
        mine = get(server, f"/api/boards/{bid}/hidden", author["token"]).json()
        assert [(n["note_id"], n["text"], n["mine"]) for n in mine] == [("n-secret", SECRET, True)]
        assert get(server, f"/api/boards/{bid}/hidden", other["token"]).json() == []

        # Restore: participants may not; the facilitator puts it back under the same id.
        no = post(server, f"/api/boards/{bid}/notes/n-secret/restore", author["token"])
        assert no.status_code == 403 and no.json()["error"] == "forbidden"
        back = post(server, f"/api/boards/{bid}/notes/n-secret/restore", fac)
        assert back.status_code == 200 and back.json() == {"note_id": "n-secret"}
        await b.wait_until(lambda: b.notes().get("n-secret", {}).get("text") == SECRET)
        twice = post(server, f"/api/boards/{bid}/notes/n-secret/restore", fac)
        assert twice.status_code == 404 and twice.json()["error"] == "not_hidden"
        assert get(server, f"/api/boards/{bid}/hidden", fac).json() == []

        # Its author still owns it: an edit is accepted (no refusal) and reaches the others.
        await a.wait_until(lambda: "n-secret" in a.notes())

        def edit(doc: Any) -> None:
            doc.get("notes", type=Map)["n-secret"]["text"] = "Reformulé"

        await a.change(edit)
        await b.wait_until(lambda: b.notes().get("n-secret", {}).get("text") == "Reformulé")
        assert a.denied == []
    finally:
        await a.close()
        await b.close()


async def test_hidden_stays_hidden_after_a_restart_and_the_board_deletion_takes_it(
    make_server: Any,
) -> None:
    """The room rebuilt from the log (creation, then the server's delete) encodes no text."""
    server: ServerProcess = make_server()
    board = server.create_board(title="Restart")
    bid, fac = board["id"], board["facilitator_token"]
    author = server.join(board["join_code"], name="Ana")
    a = await YClient(server.url(bid, author["token"])).connect()
    watcher = await YClient(server.url(bid, fac)).connect()
    await a.change(add_note("n-secret", SECRET))
    await watcher.wait_until(lambda: "n-secret" in watcher.notes())  # relayed = committed
    await a.close()
    await watcher.close()
    r = post(server, f"/api/boards/{bid}/notes/n-secret/hide", fac, {"reason": ""})
    assert r.status_code == 200, r.text
    server.kill()
    server.start()
    joiner = server.join(board["join_code"], name="Cy")
    c = await YClient(server.url(bid, joiner["token"])).connect()
    try:
        assert SECRET.encode() not in received_after(c, 0) and "n-secret" not in c.notes()
    finally:
        await c.close()
    assert len(get(server, f"/api/boards/{bid}/hidden", fac).json()) == 1
    deleted = delete(server, f"/api/boards/{bid}", fac)
    assert deleted.status_code == 204, deleted.text
    assert get(server, f"/api/boards/{bid}/hidden", fac).status_code == 404


async def test_store_hidden_notes_round_trip_and_go_with_the_board(store: Store) -> None:  # noqa: F811
    board = await new_board(store)
    record = HiddenNoteRecord(board.id, "n1", "p1", {"text": "é ✓", "x": 1.0}, "spam", 1700.0)
    await store.moderation.put_hidden_note(record)
    with pytest.raises(StoreError):
        await store.moderation.put_hidden_note(record)
    with pytest.raises(StoreError):
        await store.moderation.put_hidden_note(
            HiddenNoteRecord("no-board", "n1", None, {}, "", 1.0)
        )
    assert await store.moderation.hidden_notes(board.id) == [record]
    assert await store.moderation.take_hidden_note(board.id, "n1") == record
    assert await store.moderation.take_hidden_note(board.id, "n1") is None
    await store.moderation.put_hidden_note(record)
    assert await store.boards.delete_board(board.id)
    assert await store.moderation.hidden_notes(board.id) == []
