"""What every HTTP route module uses, given explicitly: the store, the live rooms, the token
signer, the rate limiter; and the steps they share (the board of a URL, the caller's access,
work on the live room, a per-address rate limit)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from server.http.auth import (
    Access,
    AccessRefused,
    Refusal,
    StoreRecords,
    authenticate,
    bearer_token,
)
from server.http.errors import ApiError
from server.http.inputs import ID_PATTERN
from server.live.hub import Hub, Overloaded, UnknownBoard
from server.live.room import Room
from server.scale.limits import RateLimiter, client_ip
from server.store.base import BoardRecord, Store
from server.tokens import TokenSigner

# How the HTTP API says each refusal of a token (the socket says them with close codes: ws.py).
_REFUSALS: dict[Refusal, tuple[int, str, str]] = {
    Refusal.MISSING: (401, "unauthorized", "Invalid token."),  # "Bearer " and blanks
    Refusal.INVALID: (401, "unauthorized", "Invalid token."),
    Refusal.OTHER_BOARD: (403, "forbidden", "This token belongs to another board."),
    Refusal.UNKNOWN_BOARD: (404, "unknown_board", "No board with this id."),
}


@dataclass(frozen=True, slots=True)
class HttpContext:
    store: Store
    hub: Hub
    signer: TokenSigner
    limiter: RateLimiter | None = None
    trusted_proxies: frozenset[str] = frozenset()

    async def board(self, board_id: str) -> BoardRecord:
        """The board of this id, or 404."""
        # Ids are ours (url-safe); anything else (NUL, which PostgreSQL refuses) cannot exist.
        if not ID_PATTERN.fullmatch(board_id):
            raise ApiError(404, "unknown_board", "No board with this id.")
        board = await self.store.boards.get_board(board_id)
        if board is None:
            raise ApiError(404, "unknown_board", "No board with this id.")
        return board

    async def access(self, request: Request, *roles: str) -> Access:
        """The board of the URL and the caller's verified token; 401/403/404 otherwise."""
        # The board first: a link to a board that does not exist (or was deleted) says so, rather
        # than "no access" (board ids are random, so this tells a guesser nothing useful).
        board = await self.board(request.path_params["board_id"])
        token = bearer_token(request)
        if token is None:
            raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")
        try:
            access = await authenticate(
                self.signer, token, board.id, StoreRecords(self.store), board
            )
        except AccessRefused as exc:
            if exc.kind is Refusal.REVOKED:
                raise ApiError(401, "revoked", exc.reason) from exc
            raise ApiError(*_REFUSALS[exc.kind]) from exc
        if roles and access.claims.role not in roles:
            raise ApiError(403, "forbidden", f"Only a {' or '.join(roles)} can do this.")
        return access

    async def with_room(self, board_id: str, use: Callable[[Room], Any]) -> Any:
        """Run `use(room)` on the live board (loading it if needed); await it if it is async."""
        try:
            room = await self.hub.acquire(board_id)
        except UnknownBoard as exc:
            raise ApiError(404, "unknown_board", "No board with this id.") from exc
        except Overloaded as exc:
            raise ApiError(
                503, "overloaded", "This server holds too many live boards; try again later."
            ) from exc
        try:
            # A failed commit (StorageFailed) becomes 503 storage_unavailable (http/errors.py).
            result = use(room)
            return await result if inspect.isawaitable(result) else result
        finally:
            self.hub.release(room)

    async def limit(self, request: Request, action: str) -> None:
        """Per-address rate limit (raises RateLimited -> 429 with Retry-After)."""
        if self.limiter is None:
            return
        peer = request.client.host if request.client else None
        ip = client_ip(peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        await self.limiter.check(action, ip)
