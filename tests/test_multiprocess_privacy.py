"""Deletion, erasure, revocation and rotation close sockets on EVERY process, not only on the
one that handled the request: two real `cobord serve` on PostgreSQL + Redis."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from server.http.privacy import BOARD_DELETED, LINK_ROTATED, PERSON_ERASED, PERSON_REVOKED
from tests.support import poll_until
from tests.test_multiprocess import auth, pair, redis_server
from tests.yclient import YClient, add_note

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
__all__ = ["pair", "redis_server"]  # fixtures used here


REVOKED = "this participant's access was revoked"
REPLACED = "this facilitator link was replaced by a newer one"


async def refused_on(server: Any, board_id: str, token: str) -> tuple[int | None, str | None]:
    """A new socket's close code and reason."""
    client = await YClient(server.url(board_id, token)).connect(wait_synced=False)
    return await client.wait_closed(), client.close_reason


async def test_privacy_actions_on_one_process_close_sockets_on_the_other(pair: Any) -> None:
    first, second = pair
    board = first.create_board(title="Deux processus")
    fac = auth(board["facilitator_token"])
    ana = first.join(board["join_code"], name="Ana Peeters")
    bram = first.join(board["join_code"], name="Bram")
    cleo = first.join(board["join_code"], name="Cléo")
    # Every socket is on the SECOND process; every request goes to the FIRST.
    on_second = {
        who: await YClient(second.url(board["id"], token)).connect()
        for who, token in (
            ("ana", ana["token"]),
            ("bram", bram["token"]),
            ("cleo", cleo["token"]),
            ("facilitator", board["facilitator_token"]),
            ("viewer", board["viewer_token"]),
        )
    }
    await on_second["bram"].change(add_note("b1", "Des bancs", author="Bram"))
    base = f"{first.http}/api/boards/{board['id']}"
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{base}/participants/{ana['participant_id']}/revoke", headers=fac)
        assert r.status_code == 200
        ana_ws = on_second.pop("ana")
        assert await ana_ws.wait_closed() == 4401 and ana_ws.close_reason == PERSON_REVOKED
        # The second process checks sockets' tokens without reading the store each time: it
        # forgot what it remembered of Ana when the order came (server/http/standings.py).
        assert await refused_on(second, board["id"], ana["token"]) == (4401, REVOKED)

        r = await http.delete(f"{base}/participants/{bram['participant_id']}", headers=fac)
        assert r.status_code == 200
        bram_ws = on_second.pop("bram")
        assert await bram_ws.wait_closed() == 4401 and bram_ws.close_reason == PERSON_ERASED
        assert await refused_on(second, board["id"], bram["token"]) == (4401, REVOKED)

        r = await http.post(f"{base}/rotate", json={"what": "facilitator"}, headers=fac)
        assert r.status_code == 200
        fac_ws = on_second.pop("facilitator")
        assert await fac_ws.wait_closed() == 4401 and fac_ws.close_reason == LINK_ROTATED
        new_fac = auth(r.json()["facilitator_token"])
        old_link = board["facilitator_token"]
        assert await refused_on(second, board["id"], old_link) == (4401, REPLACED)
        fresh = await YClient(second.url(board["id"], r.json()["facilitator_token"])).connect()
        assert fresh.synced and fresh.close_code is None
        on_second["new facilitator"] = fresh

        # Only the chosen sockets closed: Cléo and the viewer are still on the board.
        for client in on_second.values():
            assert client.close_code is None
        await on_second["cleo"].change(add_note("c1", "Un potager", author="Cléo"))
        await on_second["viewer"].wait_until(lambda: "c1" in on_second["viewer"].notes())

        r = await http.delete(base, headers=new_fac)
        assert r.status_code == 204
        for client in on_second.values():
            assert await client.wait_closed() == 4404 and client.close_reason == BOARD_DELETED
        token = r.request.headers["authorization"][7:]
        assert await refused_on(second, board["id"], token) == (4404, "unknown board")

    # The second process dropped its room; what it flushed on the way out was deleted too.
    async def nothing_left() -> bool:
        conn = await asyncpg.connect(first.database_url)
        try:
            query = "SELECT COUNT(*) FROM {} WHERE board_id = $1"
            counts = [
                await conn.fetchval(query.format(table), board["id"])
                for table in ("updates", "snapshots", "participants", "events")
            ]
        finally:
            await conn.close()
        return counts == [0, 0, 0, 0]

    await poll_until(nothing_left)
