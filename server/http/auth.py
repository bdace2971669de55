"""One `authenticate()` for every door: the HTTP API, the board WebSocket and media reads.

A token opens a board when (in this order) it is present, correctly signed, names this board, the
board exists, and its standing holds (`server.tokens.standing`: not revoked or erased, not a
replaced facilitator link). Each door says it its own way (`ApiError` over HTTP, a close code on
the socket): `AccessRefused.kind` is what they map.

Where the board and participant records come from is the caller's `Records`: the store itself
(HTTP, which needs the board's settings fresh anyway) or the sockets' `LiveStandings`
(server/http/standings.py: remembered while the board is live here, without a database round
trip per connection).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from server.store.base import BoardRecord, ParticipantRecord, Store
from server.tokens import InvalidToken, TokenClaims, TokenSigner, standing


class Refusal(enum.Enum):
    MISSING = "missing"  # no token
    INVALID = "invalid"  # not ours (signature, format)
    OTHER_BOARD = "other_board"  # a good token of another board
    UNKNOWN_BOARD = "unknown_board"  # the board does not exist (or was deleted)
    REVOKED = "revoked"  # its standing no longer holds (reason: `standing`)


class AccessRefused(Exception):
    def __init__(self, kind: Refusal, reason: str = "") -> None:
        super().__init__(reason or kind.value)
        self.kind = kind
        self.reason = reason


class Records(Protocol):
    """Where `authenticate` reads the board and the token's person."""

    async def board(self, board_id: str) -> BoardRecord | None: ...

    async def participant(self, board_id: str, participant_id: str) -> ParticipantRecord | None: ...


class StoreRecords:
    """Read from the store on every call."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def board(self, board_id: str) -> BoardRecord | None:
        return await self.store.boards.get_board(board_id)

    async def participant(self, board_id: str, participant_id: str) -> ParticipantRecord | None:
        return await self.store.boards.get_participant(participant_id)


@dataclass(frozen=True, slots=True)
class Access:
    """What a token opened: its claims, the board, and its person (participants only)."""

    claims: TokenClaims
    board: BoardRecord
    person: ParticipantRecord | None


def verify(signer: TokenSigner, token: str, board_id: str) -> TokenClaims:
    """The claims of a token for this board (signature and board only: no record read)."""
    if not token:
        raise AccessRefused(Refusal.MISSING)
    try:
        claims = signer.verify(token)
    except InvalidToken as exc:
        raise AccessRefused(Refusal.INVALID) from exc
    if claims.board_id != board_id:
        raise AccessRefused(Refusal.OTHER_BOARD)
    return claims


async def authenticate(
    signer: TokenSigner,
    token: str,
    board_id: str,
    records: Records,
    board: BoardRecord | None = None,
) -> Access:
    """The access `token` gives to `board_id`, or AccessRefused. `board`: already read by the
    caller (HTTP reads it first, so that a missing board says so before the token is looked at)."""
    claims = verify(signer, token, board_id)
    if board is None:
        board = await records.board(board_id)
        if board is None:
            raise AccessRefused(Refusal.UNKNOWN_BOARD)
    person = None
    if claims.role == "participant" and claims.participant_id is not None:
        person = await records.participant(board_id, claims.participant_id)
    reason = standing(board, claims, person)
    if reason is not None:
        raise AccessRefused(Refusal.REVOKED, reason)
    return Access(claims, board, person)


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None when the header is not that."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()
