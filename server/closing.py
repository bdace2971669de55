"""Closing a board's sockets on every process: board deletion, erasure, revocation, rotation.

The process that handles the request closes its own sockets, then publishes a "control" message
on the board's fan-out channel; every other process that serves the board (it is subscribed while
the board is live there) closes its matching sockets with the same code and reason. A deleted
board's room is also dropped there, and the rows its final flush wrote are deleted once more.
Alone (no `REDIS_URL`), the publish is a no-op.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from crdt.protocol import CloseCode, ProtocolError
from crdt.rules import Actor
from server.fanout import FanoutMessage
from server.live.hub import Hub
from server.live.tasks import TaskSet
from server.store.base import Store

log = logging.getLogger("cobord.closing")


@dataclass(frozen=True, slots=True)
class CloseOrder:
    code: int  # WebSocket close code (4404 board deleted, 4401 token no longer valid)
    reason: str
    actor: str | None = None  # only this participant's sockets
    role: str | None = None  # only sockets of this role (e.g. "facilitator" on rotation)
    board_gone: bool = False  # the board was deleted: its room goes too

    def selects(self, actor: Actor) -> bool:
        if self.actor is not None and actor.id != self.actor:
            return False
        return self.role is None or actor.role == self.role

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> CloseOrder:
        try:
            raw = json.loads(data)
            order = cls(
                int(raw["code"]),
                str(raw["reason"]),
                None if raw.get("actor") is None else str(raw["actor"]),
                None if raw.get("role") is None else str(raw["role"]),
                bool(raw.get("board_gone", False)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"bad close order: {exc}") from exc
        if not 4000 <= order.code <= 4999:
            raise ProtocolError(f"bad close code {order.code}")
        return order


async def erase_board(store: Store, closer: Closer, board_id: str, reason: str) -> bool:
    """Delete the board everywhere and close its live rooms, on every process (4404); False if
    it did not exist."""
    existed = await store.boards.delete_board(board_id)
    await closer.close(board_id, CloseOrder(CloseCode.UNKNOWN_BOARD, reason, board_gone=True))
    return existed


class Closer:
    def __init__(self, store: Store, hub: Hub) -> None:
        self.store = store
        self.hub = hub
        self._tasks = TaskSet()  # drops of deleted boards' rooms, awaited by `aclose`
        # Told of every order on a board, here or from another process, before its sockets
        # close (the sockets' token checks forget what they remembered of the board).
        self.on_order: list[Callable[[str], None]] = []
        hub.control = self.receive

    async def close(self, board_id: str, order: CloseOrder) -> int:
        """Close the selected sockets here and on every other process; how many were here."""
        self._tell(board_id)
        closed = self._close_here(board_id, order)
        if order.board_gone:
            await self._drop(board_id)
        fanout = self.hub.fanout
        await fanout.publish(board_id, FanoutMessage(fanout.instance_id, "control", order.encode()))
        return closed

    def receive(self, board_id: str, message: FanoutMessage) -> None:
        """A control message from another process (synchronous: fan-out delivery)."""
        try:
            order = CloseOrder.decode(message.frame)
        except ProtocolError:
            log.warning("board %s: ignoring a malformed close order", board_id)
            self._tell(board_id)  # whatever it was, it may have changed someone's standing
            return
        self._tell(board_id)
        closed = self._close_here(board_id, order)
        log.info(
            "board %s: %d socket(s) closed (%d) for another process", board_id, closed, order.code
        )
        if order.board_gone and board_id in self.hub.rooms:
            self._tasks.start(self._drop(board_id), f"drop:{board_id}")

    def _tell(self, board_id: str) -> None:
        for listener in self.on_order:
            listener(board_id)

    def _close_here(self, board_id: str, order: CloseOrder) -> int:
        room = self.hub.rooms.get(board_id)
        if room is None:
            return 0
        chosen = [conn for conn in room.connections if order.selects(conn.actor)]
        for conn in chosen:
            conn.close(order.code, order.reason)
        return len(chosen)

    async def _drop(self, board_id: str) -> None:
        if board_id not in self.hub.rooms:
            return
        try:
            await self.hub.drop(board_id)
            await self.store.boards.delete_board(
                board_id
            )  # what the stopping room flushed on its way out
        except Exception:
            log.exception("board %s: dropping the deleted board's room failed", board_id)

    async def aclose(self) -> None:
        await self._tasks.close()
