"""`/ws/{board_id}?token=…`: the y-websocket endpoint, as a raw ASGI app.

Raw ASGI rather than Starlette's WebSocket wrapper: the hot path (one send per delivery) then costs
one reused dict and one await (the wrapper adds a call and a dict per delivery).
The handler task reads; the connection's Outbox task writes; both end with the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from redis.asyncio import Redis

from crdt.protocol import CloseCode
from crdt.rules import Actor
from server.http.auth import Access, AccessRefused, Refusal
from server.http.standings import LiveStandings, Mark
from server.http.wire import EXTENSION as WIRE
from server.live.hub import Hub, Overloaded, UnknownBoard
from server.live.outbox import Outbox, WireWrite
from server.live.room import Connection, Room
from server.scale.bucket import TokenBucket
from server.scale.limits import client_ip
from server.scale.presence import Presence
from server.scale.slots import Caps, make_slots, refusal, slot_for
from server.settings import Settings
from server.tokens import TokenSigner

log = logging.getLogger("cobord.ws")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CLOSE_WAIT_SECONDS = 10.0  # how long a closing connection may take to flush its outbox
# A token is checked again before joining while privacy orders keep coming (each may concern it);
# past this many checks the socket is told to come back.
MAX_CHECKS = 8

# How the socket says each refusal of a token (the HTTP API says them its own way).
REFUSALS: dict[Refusal, tuple[int, str]] = {
    Refusal.MISSING: (CloseCode.UNAUTHORIZED, "missing token"),
    Refusal.INVALID: (CloseCode.UNAUTHORIZED, "invalid token"),
    Refusal.OTHER_BOARD: (CloseCode.FORBIDDEN, "token of another board"),
    Refusal.UNKNOWN_BOARD: (CloseCode.UNKNOWN_BOARD, "unknown board"),
}


class BoardSocket:
    def __init__(
        self,
        hub: Hub,
        signer: TokenSigner,
        settings: Settings,
        standings: LiveStandings,
        redis: Redis | None = None,
    ) -> None:
        self.hub = hub
        self.signer = signer
        self.settings = settings
        # The records token checks read, remembered while a board is live here (no database
        # round trip per socket): server/http/standings.py says why that stays exact.
        self.standings = standings
        # Who is online, on every process (with Redis); `online.local` counts this process only.
        self.online = Presence(hub.fanout.instance_id, redis, settings.presence_ttl_seconds)
        self.shutting_down = False  # set on SIGTERM: new sockets are told to reconnect elsewhere
        # Sockets per token, address and board, on every process (with Redis): server/scale/slots.py
        self.slots = make_slots(redis, settings.presence_ttl_seconds)
        self.caps = Caps(
            settings.max_connections_per_token,
            settings.max_connections_per_address,
            settings.max_connections_per_board,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        board_id = scope["path_params"]["board_id"]
        if self.shutting_down:
            await send({"type": "websocket.close", "code": 1012, "reason": "server restart"})
            return
        token = _query_token(scope)
        mark = self.standings.mark(board_id)
        try:
            access = await self.standings.check(self.signer, token, board_id)
        except AccessRefused as exc:
            await _refuse(send, exc)
            return
        role, actor_id = access.claims.role, access.claims.actor_id
        slot = slot_for(board_id, uuid.uuid4().hex, role, actor_id, self._address(scope), self.caps)
        full = await self.slots.take(slot, self.caps)
        if full is not None:
            await send(
                {
                    "type": "websocket.close",
                    "code": CloseCode.TRY_AGAIN_LATER,
                    "reason": refusal(full, self.caps, slot),
                }
            )
            return
        try:
            # uvicorn with server/http/wire.py: frames encoded once go straight to the socket
            wire: WireWrite | None = scope.get("extensions", {}).get(WIRE)
            await self._join(board_id, token, access, mark, slot.address, receive, send, wire)
        finally:
            await self.slots.give_back(slot)

    def _address(self, scope: Scope) -> str:
        peer = scope.get("client")
        forwarded = None
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
        return client_ip(peer[0] if peer else None, forwarded, self.settings.trusted_proxies)

    async def _join(
        self,
        board_id: str,
        token: str,
        access: Access,
        mark: Mark,
        address: str | None,
        receive: Receive,
        send: Send,
        wire: WireWrite | None = None,
    ) -> None:
        try:
            room = await self.hub.acquire(board_id, fresh=True)
        except Overloaded:
            await send(
                {
                    "type": "websocket.close",
                    "code": CloseCode.TRY_AGAIN_LATER,
                    "reason": "server busy: too many live boards",
                }
            )
            return
        except UnknownBoard:
            await send(
                {
                    "type": "websocket.close",
                    "code": CloseCode.UNKNOWN_BOARD,
                    "reason": "unknown board",
                }
            )
            return
        try:
            # A privacy order (or a fan-out gap) since the check may concern this token: check
            # again, now that the room is live here. From the last check to `room.join` nothing
            # awaits, so an order after it finds this socket in the room and closes it.
            checks = 1
            while not self.standings.current(board_id, mark):
                if checks == MAX_CHECKS:
                    await send(
                        {
                            "type": "websocket.close",
                            "code": CloseCode.TRY_AGAIN_LATER,
                            "reason": "access changing: try again",
                        }
                    )
                    return
                checks += 1
                mark = self.standings.mark(board_id)
                try:
                    access = await self.standings.check(self.signer, token, board_id)
                except AccessRefused as exc:
                    await _refuse(send, exc)
                    return
            claims, person = access.claims, access.person
            actor = Actor(claims.role, claims.actor_id)
            if person is not None:  # the name the server stamps on presence and checks in `author`
                actor = Actor(actor.role, actor.id, person.name)
            # Viewers share one token: their refusal budget is per address (server/live/refusals.py)
            budget_key = f"viewer@{address}" if actor.role == "viewer" else actor.id
            await self._serve(room, actor, budget_key, receive, send, wire)
        finally:
            self.hub.release(room)

    async def _serve(
        self,
        room: Room,
        actor: Actor,
        budget_key: str,
        receive: Receive,
        send: Send,
        wire: WireWrite | None = None,
    ) -> None:
        settings = self.settings
        outbox = Outbox(send, settings.outbox_max_messages, settings.outbox_max_bytes, wire)
        conn = Connection(actor, outbox, budget_key)
        writer = asyncio.create_task(outbox.run(), name=f"writer:{room.board_id}")
        self.online.count(room.board_id, actor.id, +1)
        room.join(conn)
        metrics = self.hub.metrics
        metrics.connections_opened += 1
        try:
            await self._read(room, conn, receive)
        except Exception:
            log.exception("board %s: connection handler failed", room.board_id)
            conn.close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            room.leave(conn)
            self.online.count(room.board_id, actor.id, -1)
            if not outbox.closed:
                outbox.close(CloseCode.GOING_AWAY, "")
            metrics.closed(outbox.close_code or CloseCode.GOING_AWAY)
            # On timeout wait_for cancels the writer: the peer is gone or stuck.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer, CLOSE_WAIT_SECONDS)

    async def _read(self, room: Room, conn: Connection, receive: Receive) -> None:
        settings = self.settings
        limit = settings.max_message_bytes
        rate = settings.rate_per_second
        bucket = TokenBucket(settings.rate_burst, rate)  # this socket's messages
        outbox = conn.outbox
        while not outbox.closed:
            await room.wait_capacity()
            event = await receive()
            kind = event["type"]
            if kind == "websocket.disconnect":
                outbox.close(CloseCode.GOING_AWAY, "")
                return
            frame = event.get("bytes")
            if frame is None:
                conn.close(CloseCode.MALFORMED, "text frames are not part of the protocol")
                return
            if len(frame) > limit:
                conn.close(CloseCode.TOO_LARGE, f"message over {limit} bytes")
                return
            if rate > 0 and not bucket.take():
                conn.close(CloseCode.RATE_LIMITED, "too many messages: slow down")
                return
            room.receive(conn, frame)


def _query_token(scope: Scope) -> str:
    raw: bytes = scope.get("query_string", b"")
    tokens: list[str] = parse_qs(raw.decode("latin-1")).get("token") or [""]
    return tokens[0]


async def _refuse(send: Send, exc: AccessRefused) -> None:
    code, reason = REFUSALS.get(exc.kind, (CloseCode.UNAUTHORIZED, exc.reason))
    await send({"type": "websocket.close", "code": code, "reason": reason})
