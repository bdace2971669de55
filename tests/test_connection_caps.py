"""One token cannot take every slot of a board (issue 20, high): on two real `cobord serve`
processes sharing PostgreSQL and Redis, one participant token gets four sockets in all (two on
each process), the fifth is refused 1013 with the cap named, another participant and the
facilitator still get in, and a full board still lets the facilitator in.

Before server/scale/slots.py the only cap was 'connections of this board on this process': one token
opened every slot of both processes (16 here) and the facilitator was refused 1013 "board is
full (8 connections)" on both (see the commit)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.support import poll_until
from tests.test_fanout import REDIS_URL, redis_or_skip
from tests.yclient import YClient

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

TOKEN_FULL = "too many connections with this token (at most 4)"
BOARD_FULL = "board is full (8 connections)"


async def attempt(url: str) -> YClient:
    client = YClient(url)
    await client.connect(wait_synced=False)
    await client.wait_until(lambda: client.synced or client.close_code is not None)
    return client


async def test_one_token_gets_four_sockets_across_processes_and_the_facilitator_gets_in(
    make_server: Any, pg_url: str
) -> None:
    await redis_or_skip()
    env = {"REDIS_URL": REDIS_URL, "COBORD_MAX_CONNECTIONS_PER_BOARD": "8"}
    first: ServerProcess = make_server(database_url=pg_url, **env)
    second: ServerProcess = make_server(database_url=pg_url, **env)
    board = first.create_board()
    code, board_id = board["join_code"], board["id"]
    eve_token = first.join(code, "Eve")["token"]
    eve: list[YClient] = []
    refused: list[YClient] = []
    for i in range(20):  # the attack: as many sockets as the token can get
        client = await attempt((first, second)[i % 2].url(board_id, eve_token))
        (eve if client.synced else refused).append(client)
    assert len(eve) == 4
    assert {(c.close_code, c.close_reason) for c in refused} == {(1013, TOKEN_FULL)}
    ana = await attempt(second.url(board_id, first.join(code, "Ana")["token"]))
    facilitator = await attempt(first.url(board_id, board["facilitator_token"]))
    assert ana.synced and facilitator.synced
    # Fill the board (8 sockets that count: Eve's 4, Ana, three of Bob's), on both processes.
    bob_token = first.join(code, "Bob")["token"]
    bob = [await attempt((first, second)[i % 2].url(board_id, bob_token)) for i in range(3)]
    assert all(c.synced for c in bob)
    late = await attempt(second.url(board_id, first.join(code, "Cleo")["token"]))
    assert (late.close_code, late.close_reason) == (1013, BOARD_FULL)
    facilitators = [
        await attempt(s.url(board_id, board["facilitator_token"])) for s in (first, second)
    ]
    assert all(c.synced for c in facilitators)  # a full board still lets the facilitator in
    # A socket that closes gives its slot back: Eve may open one again.
    await eve[0].close()
    again: list[YClient] = []

    async def back_in() -> bool:
        client = await attempt(second.url(board_id, eve_token))
        if client.synced:
            again.append(client)
        return bool(again)

    await poll_until(back_in)
    for client in (*eve[1:], *again, ana, facilitator, *bob, *facilitators):
        await client.close()
