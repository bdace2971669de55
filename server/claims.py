"""First come, first owned, across processes: Yjs client ids and note ids of a board.

Alone, a room decides both exactly (one shadow doc sees every update in order). With several
processes (`REDIS_URL`) each sees its own clients first, so two of them could each accept a
creation of one note id, or let two tokens write under one Yjs client id. Before a batch is
stored, the room claims what it brings that is new (server/live/core.py `claims_of`): each claim
is won by the first claimer and answered with the owner. Two implementations, one contract
(tests/test_claims.py): `MemoryClaims` (one process, or several in one test) and `RedisClaims`
(one hash per board, `HSETNX`, the hash expiring `CLAIM_TTL_SECONDS` after its last claim: by
then every process has the creation through the fan-out or the log).

The live-note counts used by the quotas are not claimed: every process derives them from the
updates it applies, its own and the others' (`RoomCore.apply_remote_updates`), so they follow
the shared log rather than one process's history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("cobord.claims")

CLAIM_TTL_SECONDS = 24 * 3600
REDIS_TIMEOUT_SECONDS = 2.0
KEY_PREFIX = "cobord:claims:"


@dataclass(frozen=True, slots=True)
class Lost:
    """Claims won by someone else: what -> its owner."""

    clients: dict[int, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.clients or self.notes)


class Claims(Protocol):
    async def claim(
        self, board_id: str, clients: Mapping[int, str], notes: Mapping[str, str]
    ) -> Lost:
        """Claim each client id and note id for its actor (a claim already held by the same
        actor is won again). Returns those held by another actor, with that actor."""

    async def forget(self, board_id: str) -> None:
        """The board is deleted: its claims go with it."""

    async def close(self) -> None: ...


class MemoryClaims:
    def __init__(self) -> None:
        self._boards: dict[str, dict[str, str]] = {}

    async def claim(
        self, board_id: str, clients: Mapping[int, str], notes: Mapping[str, str]
    ) -> Lost:
        held = self._boards.setdefault(board_id, {})
        lost = Lost()
        for client, actor in clients.items():
            owner = held.setdefault(f"c:{client}", actor)
            if owner != actor:
                lost.clients[client] = owner
        for note_id, actor in notes.items():
            owner = held.setdefault(f"n:{note_id}", actor)
            if owner != actor:
                lost.notes[note_id] = owner
        return lost

    async def forget(self, board_id: str) -> None:
        self._boards.pop(board_id, None)

    async def close(self) -> None:
        self._boards.clear()


class RedisClaims:
    """One pipeline per claim: HSETNX then HGET for each field, and EXPIRE on the board's hash."""

    def __init__(self, url: str, ttl: int = CLAIM_TTL_SECONDS) -> None:
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self.ttl = ttl

    async def claim(
        self, board_id: str, clients: Mapping[int, str], notes: Mapping[str, str]
    ) -> Lost:
        fields = [(f"c:{c}", actor) for c, actor in clients.items()]
        fields += [(f"n:{n}", actor) for n, actor in notes.items()]
        if not fields:
            return Lost()
        key = KEY_PREFIX + board_id
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            pipe = self._client.pipeline(transaction=True)
            for name, actor in fields:
                pipe.hsetnx(key, name, actor)
                pipe.hget(key, name)
            pipe.expire(key, self.ttl)
            answers = await pipe.execute()
        lost = Lost()
        for i, (name, actor) in enumerate(fields):
            raw = answers[2 * i + 1]
            owner = raw.decode() if isinstance(raw, bytes) else str(raw)
            if owner != actor:
                kind, _, what = name.partition(":")
                if kind == "c":
                    lost.clients[int(what)] = owner
                else:
                    lost.notes[what] = owner
        return lost

    async def forget(self, board_id: str) -> None:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await self._client.delete(KEY_PREFIX + board_id)

    async def close(self) -> None:
        await self._client.aclose()


def make_claims(redis_url: str | None) -> Claims:
    return RedisClaims(redis_url) if redis_url else MemoryClaims()


CLAIM_ERRORS = (RedisError, OSError, TimeoutError)
