"""The set of live rooms: load on first use, unload when idle, flush everything on shutdown.

Loading is single-flight per board: clients that join a board while it loads all wait for the
same load (pycrdt-websocket's start lock hangs every joiner but the first). Every room task is
owned here; `close()` stops them all.
"""

from __future__ import annotations

import asyncio
import logging

from server.fanout import Fanout, FanoutMessage, MemoryFanout
from server.memtrim import release_memory
from server.metrics import Metrics
from server.rooms import Room, RoomServices, board_state_from
from server.settings import Settings
from server.store.base import Store

# Fan-out messages that arrive while their board loads wait here (then are applied: idempotent).
LOADING_BUFFER_MAX = 1000
# Seconds after the last unload before memory is handed back to the OS (a sweep unloads many).
MEMORY_RELEASE_DELAY = 2.0

log = logging.getLogger("cobord.hub")


class Overloaded(Exception):
    """This process already holds `max_live_boards` boards: load this one elsewhere or later."""


class UnknownBoard(Exception):
    pass


class Hub:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        metrics: Metrics | None = None,
        fanout: Fanout | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.fanout = fanout or MemoryFanout()
        self.services = RoomServices(store, settings, self.metrics, self.fanout)
        self._loading: dict[str, list[FanoutMessage]] = {}
        self._catch_ups: set[asyncio.Task[None]] = set()
        self._release_timer: asyncio.TimerHandle | None = None
        self.settings = settings
        self.rooms: dict[str, Room] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}  # board id -> handlers holding the room
        self._unload_timers: dict[str, asyncio.TimerHandle] = {}
        self._unloads: set[asyncio.Task[None]] = set()

    def _lock(self, board_id: str) -> asyncio.Lock:
        lock = self._locks.get(board_id)
        if lock is None:
            lock = self._locks[board_id] = asyncio.Lock()
        return lock

    async def acquire(self, board_id: str) -> Room:
        """The live room of a board, loading it if needed. Pair with `release`."""
        self._cancel_unload(board_id)
        self._users[board_id] = self._users.get(board_id, 0) + 1
        try:
            return await self._get(board_id)
        except BaseException:
            self.release_id(board_id)
            raise

    async def _get(self, board_id: str) -> Room:
        room = self.rooms.get(board_id)
        if room is not None and not room.failed:
            return room
        async with self._lock(board_id):
            room = self.rooms.get(board_id)
            if room is not None and room.failed:
                await self._drop(board_id)
                room = None
            if room is None:
                limit = self.settings.max_live_boards
                if limit and len(self.rooms) >= limit:
                    raise Overloaded(f"{len(self.rooms)} live boards (limit {limit})")
                room = await self._load(board_id)
                self.rooms[board_id] = room
            return room

    async def start(self) -> None:
        await self.fanout.start(self._deliver, self._resync)

    async def _load(self, board_id: str) -> Room:
        board = await self.store.get_board(board_id)
        if board is None:
            raise UnknownBoard(board_id)
        # Subscribe first, then read the log: whatever another process commits after our read
        # reaches us through the subscription (buffered until the room exists).
        self._loading[board_id] = []
        try:
            await self.fanout.subscribe(board_id)
            snapshot, tail = await self.store.load(board_id)
            authors = await self.store.note_authors(board_id)
        except BaseException:
            self._loading.pop(board_id, None)
            await self.fanout.unsubscribe(board_id)
            raise
        room = Room(board_id, self.services, board_state_from(board.settings, authors))
        room.load(snapshot, tail)
        buffered = self._loading.pop(board_id)
        for message in buffered:
            room.receive_remote(message)
        room.start()
        if len(buffered) >= LOADING_BUFFER_MAX:
            # Messages beyond the buffer were dropped: read what they carried from the log.
            log.warning("board %s: fan-out buffer full while loading; catching up", board_id)
            self._start_catch_up(room)
        log.info("board %s loaded (%d updates after keyframe)", board_id, len(tail))
        return room

    def release(self, room: Room) -> None:
        self.release_id(room.board_id)

    def release_id(self, board_id: str) -> None:
        users = self._users.get(board_id, 0) - 1
        if users > 0:
            self._users[board_id] = users
            return
        self._users.pop(board_id, None)
        if board_id in self.rooms:
            loop = asyncio.get_running_loop()
            self._unload_timers[board_id] = loop.call_later(
                self.settings.idle_unload_seconds, self._start_unload, board_id
            )

    def _cancel_unload(self, board_id: str) -> None:
        timer = self._unload_timers.pop(board_id, None)
        if timer is not None:
            timer.cancel()

    def _start_unload(self, board_id: str) -> None:
        self._unload_timers.pop(board_id, None)
        task = asyncio.create_task(self._unload(board_id), name=f"unload:{board_id}")
        self._unloads.add(task)
        task.add_done_callback(self._unloads.discard)

    async def _unload(self, board_id: str) -> None:
        async with self._lock(board_id):
            if self._users.get(board_id):
                return  # someone joined while we waited for the lock
            await self._drop(board_id)
        # No await since the check above, and joiners count themselves in `_users` before they
        # take the lock: nobody waits on it, so it can go.
        if not self._users.get(board_id):
            self._locks.pop(board_id, None)

    async def _drop(self, board_id: str) -> None:
        room = self.rooms.pop(board_id, None)
        if room is not None:
            await room.stop()
            await self.fanout.unsubscribe(board_id)
            log.info("board %s unloaded", board_id)
            self._schedule_memory_release()

    def _schedule_memory_release(self) -> None:
        """Once unloads have settled (debounced), give the freed memory back to the OS."""
        if self._release_timer is not None:
            self._release_timer.cancel()
        loop = asyncio.get_running_loop()
        self._release_timer = loop.call_later(MEMORY_RELEASE_DELAY, self._release_memory)

    def _release_memory(self) -> None:
        self._release_timer = None
        release_memory()
        self.metrics.memory_releases += 1

    def _deliver(self, board_id: str, message: FanoutMessage) -> None:
        room = self.rooms.get(board_id)
        if room is not None:
            room.receive_remote(message)
            return
        buffer = self._loading.get(board_id)
        if buffer is not None and len(buffer) < LOADING_BUFFER_MAX:
            buffer.append(message)

    def _resync(self) -> None:
        """Fan-out had a gap: every live room reads what it missed from the log."""
        for room in list(self.rooms.values()):
            self._start_catch_up(room)

    def _start_catch_up(self, room: Room) -> None:
        task = asyncio.create_task(room.catch_up(), name=f"catch-up:{room.board_id}")
        self._catch_ups.add(task)
        task.add_done_callback(self._catch_up_done)

    def _catch_up_done(self, task: asyncio.Task[None]) -> None:
        self._catch_ups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("catch-up failed", exc_info=task.exception())

    async def unload_idle_now(self) -> None:
        """Unload every room nobody holds (tests and the memory benchmark)."""
        for board_id in list(self._unload_timers):
            self._cancel_unload(board_id)
            await self._unload(board_id)
        for task in list(self._unloads):
            await task

    async def close(self) -> None:
        """Graceful shutdown: commit everything queued and write final keyframes."""
        if self._release_timer is not None:
            self._release_timer.cancel()
        for timer in self._unload_timers.values():
            timer.cancel()
        self._unload_timers.clear()
        for task in list(self._unloads):
            await task
        for task in list(self._catch_ups):
            task.cancel()
        for board_id in list(self.rooms):
            await self._drop(board_id)
        await self.fanout.close()
