"""One contract for every `Claims` (server/scale/claims.py): the in-memory twin and Redis
(127.0.0.1:6379, real); a room's writers through `claim_writers`, the translator's tickets
through `claim` and `release`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from server.scale.claims import Claims, Lost, MemoryClaims, RedisClaims, claim_writers
from tests.test_fanout import redis_or_skip

OpenClaims = Callable[[], Awaitable[Claims]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def open_claims(
    request: pytest.FixtureRequest, redis_pools: Callable[[], Redis]
) -> AsyncIterator[OpenClaims]:
    """Handles on one claims space: for Redis, independent clients (as two processes)."""
    opened: list[Claims] = []
    memory = MemoryClaims()
    if request.param == "redis":
        await redis_or_skip()

    async def open_one() -> Claims:
        claims: Claims = memory if request.param == "memory" else RedisClaims(redis_pools(), ttl=60)
        opened.append(claims)
        return claims

    yield open_one
    for claims in opened:
        await claims.close()


def board() -> str:
    return f"contract-{uuid.uuid4().hex[:12]}"


async def test_the_first_claim_wins_and_the_owner_is_answered(open_claims: OpenClaims) -> None:
    a, b = await open_claims(), await open_claims()
    board_id = board()
    assert await claim_writers(a, board_id, {4242: "p-ana"}, {"n1": "p-ana"}) == Lost()
    lost = await claim_writers(
        b, board_id, {4242: "p-bob", 7: "p-bob"}, {"n1": "p-bob", "n2": "p-bob"}
    )
    assert lost == Lost(clients={4242: "p-ana"}, notes={"n1": "p-ana"})
    assert not await claim_writers(
        a, board_id, {4242: "p-ana"}, {"n1": "p-ana"}
    )  # owner again: won
    assert await claim_writers(a, board_id, {7: "p-ana"}, {}) == Lost(clients={7: "p-bob"})


async def test_client_ids_and_note_ids_are_separate_and_per_board(
    open_claims: OpenClaims,
) -> None:
    a, b = await open_claims(), await open_claims()
    one, two = board(), board()
    assert not await claim_writers(a, one, {1: "p-ana"}, {"1": "p-ana"})
    assert not await claim_writers(b, two, {1: "p-bob"}, {"1": "p-bob"})  # another board
    assert await claim_writers(b, one, {}, {"1": "p-bob"}) == Lost(notes={"1": "p-ana"})
    assert not await claim_writers(b, one, {2: "p-bob"}, {"c:1": "p-bob"})  # no clash of prefixes


async def test_simultaneous_claims_have_exactly_one_winner(open_claims: OpenClaims) -> None:
    handles = [await open_claims() for _ in range(8)]
    board_id = board()
    answers = await asyncio.gather(
        *(
            claim_writers(h, board_id, {99: f"p{i}"}, {"same": f"p{i}"})
            for i, h in enumerate(handles)
        )
    )
    winners = [i for i, lost in enumerate(answers) if not lost]
    assert len(winners) == 1
    owner = f"p{winners[0]}"
    for i, lost in enumerate(answers):
        if i != winners[0]:
            assert lost == Lost(clients={99: owner}, notes={"same": owner})


async def test_forgetting_a_board_frees_its_ids(open_claims: OpenClaims) -> None:
    a, b = await open_claims(), await open_claims()
    board_id = board()
    assert not await claim_writers(a, board_id, {5: "p-ana"}, {"n": "p-ana"})
    await a.forget(board_id)
    assert not await claim_writers(b, board_id, {5: "p-bob"}, {"n": "p-bob"})


async def test_nothing_to_claim_costs_nothing(open_claims: OpenClaims) -> None:
    claims = await open_claims()
    assert await claim_writers(claims, board(), {}, {}) == Lost()


@pytest.mark.redis
async def test_redis_claims_expire_with_the_board_hash(redis_pools: Callable[[], Redis]) -> None:
    await redis_or_skip()
    claims = RedisClaims(redis_pools(), ttl=60)
    board_id = board()
    try:
        await claim_writers(claims, board_id, {1: "p-ana"}, {})
        await claims._client.expire("cobord:claims:" + board_id, 5)
        await claim_writers(claims, board_id, {1: "p-bob"}, {})  # lost: no renewal
        assert 0 < await claims._client.ttl("cobord:claims:" + board_id) <= 5
        await claim_writers(claims, board_id, {2: "p-bob"}, {})  # won: 60 s from now
        assert 5 < await claims._client.ttl("cobord:claims:" + board_id) <= 60
    finally:
        await claims.forget(board_id)
        await claims.close()


async def test_a_ticket_is_held_until_released_by_its_owner(open_claims: OpenClaims) -> None:
    """The translator's use: one name per scope, a ticket per claim. Even the same process
    asking again with a new ticket finds it taken; a release by anyone but the holder changes
    nothing; once released, the next claimer wins."""
    a, b = await open_claims(), await open_claims()
    scope = f"translate:{board()}:n1:digest"
    assert await a.claim(scope, {"translator": "t-1"}) == {}
    assert await a.claim(scope, {"translator": "t-2"}) == {"translator": "t-1"}
    assert await b.claim(scope, {"translator": "t-3"}) == {"translator": "t-1"}
    await b.release(scope, {"translator": "t-3"})  # not the holder: nothing happens
    assert await b.claim(scope, {"translator": "t-3"}) == {"translator": "t-1"}
    await a.release(scope, {"translator": "t-1"})
    assert await b.claim(scope, {"translator": "t-3"}) == {}
    assert await a.claim(scope, {"translator": "t-1"}) == {"translator": "t-3"}


async def test_a_scope_expires_ttl_after_its_last_won_claim() -> None:
    """In memory, on the monotonic clock: a claim that only loses does not keep a dead holder's
    scope alive; past the ttl the next claimer wins."""
    claims = MemoryClaims(ttl=0.0)  # every scope has expired by the next claim
    assert await claims.claim("s", {"translator": "t-1"}) == {}
    assert await claims.claim("s", {"translator": "t-2"}) == {}
    lasting = MemoryClaims(ttl=3600)
    assert await lasting.claim("s", {"translator": "t-1"}) == {}
    assert await lasting.claim("s", {"translator": "t-2"}) == {"translator": "t-1"}
