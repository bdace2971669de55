"""The set of live rooms: load on first use, unload when idle, flush everything on shutdown.

Loading is single-flight per board: clients that join a board while it loads all wait for the
same load (pycrdt-websocket's start lock hangs every joiner but the first). Every room task is
owned here; `close()` stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis

from server.fanout import Fanout, FanoutMessage, MemoryFanout
from server.live.refusals import make_budgets
from server.live.room import Room, RoomServices, board_state_from
from server.live.tasks import TaskSet
from server.memtrim import release_memory
from server.metrics import Metrics
from server.scale.claims import Claims, make_claims
from server.scale.quotas import make_quotas
from server.settings import Settings
from server.store.base import Store

# Fan-out messages that arrive while their board loads wait here (then are applied: idempotent).
LOADING_BUFFER_MAX = 1000
# Seconds after the last unload before memory is handed back to the OS (a sweep unloads many).
MEMORY_RELEASE_DELAY = 2.0
# A joiner waits at most this for the catch-up from the log (then joins with what the room has).
JOIN_CATCH_UP_SECONDS = 5.0

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
        claims: Claims | None = None,
        redis: Redis | None = None,
    ) -> None:
        """`redis`: the process's pool (server/scale/redis.py), when several processes serve the
        boards; then `fanout` uses it too."""
        self.store = store
        self.metrics = metrics or Metrics()
        self.fanout = fanout or MemoryFanout()
        # Shared across processes with REDIS_URL (who first used a client id, a note id)
        shared = redis if self.fanout.shared else None
        self.claims = claims or make_claims(shared)
        # Refusals per participant, shared by every process (server/live/refusals.py)
        self.budgets = make_budgets(shared)
        # Note quotas per participant, shared by every process (server/scale/quotas.py)
        self.quotas = make_quotas(shared)
        self.services = RoomServices(
            store, settings, self.metrics, self.fanout, self.claims, self.budgets, self.quotas
        )
        self._loading: dict[str, list[FanoutMessage]] = {}
        self._catch_ups: dict[str, asyncio.Task[None]] = {}  # board id -> its catch-up
        self._catch_up_again: set[str] = set()  # a gap came while its catch-up ran: once more
        # Joiners waiting for the next catch-up of a board (it starts after they asked).
        self._catch_up_waiters: dict[str, asyncio.Future[None]] = {}
        self._gaps_while_loading: set[str] = set()
        self.gaps = 0  # fan-out gaps seen (metrics: cobord_fanout_gaps_total)
        self.catch_ups = 0  # catch-ups from the log completed
        self.recovered = 0  # catch-ups that found updates the fan-out had lost
        self._release_timer: asyncio.TimerHandle | None = None
        self.settings = settings
        self.rooms: dict[str, Room] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}  # board id -> handlers holding the room
        self._unload_timers: dict[str, asyncio.TimerHandle] = {}
        self._unloads = TaskSet()
        self._background = TaskSet()  # catch-ups (one per board at a time: `_catch_ups`)
        # Called with each room once it is loaded, before it goes live (e.g. machine translation
        # observes its document): features hook in here instead of into the room.
        self.on_room_loaded: list[Callable[[Room], None]] = []
        # Receives "control" fan-out messages (server/closing.py), live room or not.
        self.control: Callable[[str, FanoutMessage], None] | None = None
        # Told of every fan-out gap (a board's id, or None: every board), which may have lost a
        # control message (server/http/standings.py forgets what it remembered).
        self.on_gap: list[Callable[[str | None], None]] = []

    def _lock(self, board_id: str) -> asyncio.Lock:
        lock = self._locks.get(board_id)
        if lock is None:
            lock = self._locks[board_id] = asyncio.Lock()
        return lock

    async def acquire(self, board_id: str, fresh: bool = False) -> Room:
        """The live room of a board, loading it if needed. Pair with `release`.

        `fresh` (a joining client): with other processes, first catch up from the log. A message
        another process had not yet published when it died is detected by no gap; its clients
        reconnect here, and must find everything it acknowledged."""
        self._cancel_unload(board_id)
        self._users[board_id] = self._users.get(board_id, 0) + 1
        try:
            room = await self._get(board_id)
            if fresh and self.fanout.shared:
                await self.catch_up_now(room)
            return room
        except BaseException:
            self.release_id(board_id)
            raise

    async def catch_up_now(self, room: Room) -> None:
        """Returns once a catch-up that started after this call has finished (joiners arriving
        together share one; bounded in time: the join goes on with what the room has)."""
        board_id = room.board_id
        waiter = self._catch_up_waiters.get(board_id)
        if waiter is None:
            waiter = self._catch_up_waiters[board_id] = asyncio.get_running_loop().create_future()
            self._start_catch_up(room)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), JOIN_CATCH_UP_SECONDS)

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
        board = await self.store.boards.get_board(board_id)
        if board is None:
            raise UnknownBoard(board_id)
        # Subscribe first, then read the log: whatever another process commits after our read
        # reaches us through the subscription (buffered until the room exists).
        self._loading[board_id] = []
        self._gaps_while_loading.discard(board_id)
        try:
            await self.fanout.subscribe(board_id)
            # Authors before the log: a note another process commits between the two reads is
            # then in the log (live) though not yet in `authors`, never in `authors` but absent
            # from the log, which would read as deleted and free its quota slot (87 of 50 kept).
            authors = await self.store.log.note_authors(board_id)
            snapshot, tail = await self.store.log.load(board_id)
        except BaseException:
            self._loading.pop(board_id, None)
            await self.fanout.unsubscribe(board_id)
            raise
        room = Room(board_id, self.services, board_state_from(board.settings, authors))
        room.load(snapshot, tail)
        for hook in self.on_room_loaded:
            hook(room)
        buffered = self._loading.pop(board_id)
        for message in buffered:
            room.receive_remote(message)
        room.start()
        gap = board_id in self._gaps_while_loading
        self._gaps_while_loading.discard(board_id)
        if len(buffered) >= LOADING_BUFFER_MAX or gap:
            # Messages beyond the buffer were dropped, or a gap was seen: read the log.
            log.warning("board %s: fan-out gap while loading; catching up", board_id)
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
        self._unloads.start(self._unload(board_id), f"unload:{board_id}")

    async def _unload(self, board_id: str) -> None:
        async with self._lock(board_id):
            if self._users.get(board_id):
                return  # someone joined while we waited for the lock
            await self._drop(board_id)
        # No await since the check above, and joiners count themselves in `_users` before they
        # take the lock: nobody waits on it, so it can go.
        if not self._users.get(board_id):
            self._locks.pop(board_id, None)

    async def drop(self, board_id: str) -> None:
        """Stop serving a board now (it was deleted): its room flushes and goes."""
        async with self._lock(board_id):
            await self._drop(board_id)

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
        if message.kind == "control":
            if self.control is not None:
                self.control(board_id, message)
            return
        room = self.rooms.get(board_id)
        if room is not None:
            room.receive_remote(message)
            return
        buffer = self._loading.get(board_id)
        if buffer is not None and len(buffer) < LOADING_BUFFER_MAX:
            buffer.append(message)

    def _resync(self, board_id: str | None) -> None:
        """Fan-out had a gap (on one board, or on all after a reconnect): read the log."""
        self.gaps += 1
        for listener in self.on_gap:
            listener(board_id)
        if board_id is None:
            self._gaps_while_loading.update(self._loading)
            for live in list(self.rooms.values()):
                self._start_catch_up(live)
            return
        room = self.rooms.get(board_id)
        if room is not None:
            self._start_catch_up(room)
        elif board_id in self._loading:
            self._gaps_while_loading.add(board_id)

    def _start_catch_up(self, room: Room) -> None:
        """One catch-up per board at a time; a gap seen during one asks for another after it."""
        board_id = room.board_id
        if board_id in self._catch_ups:
            self._catch_up_again.add(board_id)
            return
        waiter = self._catch_up_waiters.pop(board_id, None)
        task = self._background.start(self._catch_up(room, waiter), f"catch-up:{board_id}")
        self._catch_ups[board_id] = task
        task.add_done_callback(lambda t: self._catch_up_done(board_id, t))

    async def _catch_up(self, room: Room, waiter: asyncio.Future[None] | None) -> None:
        try:
            if await room.catch_up():
                self.recovered += 1
        finally:
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _catch_up_done(self, board_id: str, task: asyncio.Task[None]) -> None:
        self._catch_ups.pop(board_id, None)
        if task.cancelled():
            return
        # A failure is logged by the TaskSet (task "catch-up:{board_id}").
        self.catch_ups += 1
        room = self.rooms.get(board_id)
        if board_id in self._catch_up_again:
            self._catch_up_again.discard(board_id)
            if room is not None:
                self._start_catch_up(room)
                return
        waiter = self._catch_up_waiters.pop(board_id, None) if room is None else None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)  # the room is gone: nothing to wait for

    async def unload_idle_now(self) -> None:
        """Unload every room nobody holds (tests and the memory benchmark)."""
        for board_id in list(self._unload_timers):
            self._cancel_unload(board_id)
            await self._unload(board_id)
        await self._unloads.join()

    async def close(self) -> None:
        """Graceful shutdown: commit everything queued and write final keyframes."""
        if self._release_timer is not None:
            self._release_timer.cancel()
        for timer in self._unload_timers.values():
            timer.cancel()
        self._unload_timers.clear()
        await self._unloads.join()
        await self._background.close()  # catch-ups: cancelled, and awaited before the store goes
        for board_id in list(self.rooms):
            await self._drop(board_id)
        await self.fanout.close()
        await self.claims.close()
        await self.budgets.close()
        await self.quotas.close()
