"""What must be one decision across processes (README, known limits), on two real `cobord serve`
processes sharing PostgreSQL and Redis: a note id created at the same instant on both is accepted
once and the other creation undone on its sender; a Yjs client id belongs to the token that first
wrote with it, whichever process it writes through; notes deleted on one process free the quota
on the other. Each test fails on the code before server/scale/claims.py (see the commit)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from pycrdt import Doc, Map

from crdt import protocol
from crdt.protocol import CloseCode
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

NOTE_ID_USED = "that note id was already used"


async def stored_updates(pg_url: str, board_id: str) -> list[bytes]:
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch("SELECT data FROM updates WHERE board_id = $1", board_id)
    finally:
        await conn.close()
    return [bytes(row["data"]) for row in rows]


def build(client: YClient, edit: Any) -> bytes:
    before = client.doc.get_state()
    with client.doc.transaction(origin="local"):
        edit(client.doc)
    return client.doc.get_update(before)


@pytest.mark.parametrize("ana_id, bob_id", [(1000, 2_000_000), (2_000_000, 1000)])
async def test_a_note_id_created_at_once_on_two_processes_is_accepted_once(
    two: tuple[ServerProcess, ServerProcess], pg_url: str, ana_id: int, bob_id: int
) -> None:
    first, second = two
    for attempt in range(3):
        board = first.create_board()
        code = board["join_code"]
        ana = YClient(
            first.url(board["id"], first.join(code, "Ana")["token"]), Doc(client_id=ana_id)
        )
        bob = YClient(
            second.url(board["id"], first.join(code, "Bob")["token"]), Doc(client_id=bob_id)
        )
        await ana.connect()
        await bob.connect()
        texts = {"ana": f"ANA-IDEA-{attempt}", "bob": f"BOB-IDEA-{attempt}"}
        ua = build(ana, add_note("same", texts["ana"]))
        ub = build(bob, add_note("same", texts["bob"]))
        await asyncio.gather(ana.send(protocol.Update(ua)), bob.send(protocol.Update(ub)))
        await ana.change(add_note("after-ana", "marker"))
        await bob.change(add_note("after-bob", "marker"))
        clients = {"ana": ana, "bob": bob}
        for client in clients.values():
            await client.wait_until(lambda c=client: {"after-ana", "after-bob"} <= set(c.notes()))
        denied = {name: c.denied for name, c in clients.items()}
        # Exactly one creation was refused, on its own sender, with the reason.
        assert sorted(denied.values()) == [[], [NOTE_ID_USED]], denied
        winner = "ana" if not denied["ana"] else "bob"
        loser = "bob" if winner == "ana" else "ana"
        joiners = [
            await YClient(server.url(board["id"], board["viewer_token"])).connect()
            for server in (first, second)
        ]
        for client in (*clients.values(), *joiners):
            await client.wait_until(
                lambda c=client, t=texts[winner]: c.notes().get("same", {}).get("text") == t
            )
        # The loser's text never reached the log readable, nor the winner's screen.
        assert all(
            texts[loser].encode() not in data for data in await stored_updates(pg_url, board["id"])
        )
        assert all(texts[loser].encode() not in frame for frame in clients[winner].received)
        for client in (*clients.values(), *joiners):
            await client.close()


async def test_a_client_id_used_on_one_process_cannot_be_taken_through_the_other(
    two: tuple[ServerProcess, ServerProcess], pg_url: str
) -> None:
    first, second = two
    board = first.create_board()
    code = board["join_code"]
    ana = await YClient(first.url(board["id"], first.join(code, "Ana")["token"])).connect()
    await ana.change(add_note("ana-1", "mine"))
    thief_doc: Doc[Any] = Doc(client_id=ana.doc.client_id)  # Ana's id, learnt from any update
    thief = YClient(second.url(board["id"], first.join(code, "Bob")["token"]), thief_doc)
    await thief.connect()
    await thief.wait_until(lambda: "ana-1" in thief.notes())
    await thief.change(add_note("forged", "FORGED-AS-ANA", author="Bob"))
    assert await thief.wait_closed() == CloseCode.FORBIDDEN
    assert thief.close_reason == "that Yjs client id belongs to someone else"
    await ana.change(add_note("ana-2", "still mine"))
    fresh = await YClient(second.url(board["id"], board["viewer_token"])).connect()
    await fresh.wait_until(lambda: "ana-2" in fresh.notes())
    assert "forged" not in fresh.notes() and "forged" not in ana.notes()
    assert all(b"FORGED-AS-ANA" not in data for data in await stored_updates(pg_url, board["id"]))
    for client in (ana, fresh):
        await client.close()


async def test_notes_deleted_on_one_process_free_the_quota_on_the_other(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two
    board = first.create_board()
    async with httpx.AsyncClient() as http:
        response = await http.patch(
            f"{first.http}/api/boards/{board['id']}/settings",
            json={"max_notes_per_participant": 2},
            headers={"Authorization": f"Bearer {board['facilitator_token']}"},
        )
    assert response.status_code == 200, response.text
    token = first.join(board["join_code"], "Ana")["token"]
    tab1 = await YClient(first.url(board["id"], token)).connect()
    tab2 = await YClient(second.url(board["id"], token)).connect()  # her phone, other process
    await tab1.change(add_note("n1", "one"))
    await tab1.change(add_note("n2", "two"))
    await tab2.wait_until(lambda: {"n1", "n2"} <= set(tab2.notes()))
    await tab1.change(lambda d: [d.get("notes", type=Map).pop(n) for n in ("n1", "n2")])
    await tab2.wait_until(lambda: not tab2.notes())
    await tab2.change(add_note("n3", "three"))
    await tab1.wait_until(lambda: "n3" in tab1.notes())
    assert tab2.denied == [] and tab1.denied == []
    for client in (tab1, tab2):
        await client.close()
