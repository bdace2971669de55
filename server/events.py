"""The "who did what" feed, decoded as updates are committed, in the background.

Rooms call `EventIndexer.notify(board_id)` after each group commit (a hook in `RoomServices`);
one task owns the decoding: it takes boards from a bounded queue (a board is queued once however
many commits it had meanwhile), decodes the log past the board's event cursor in chunks, and
stores the events (`events.save_events`, a compare-and-set on the cursor, so two processes never
store a stretch twice). The request path only reads stored events: an events page costs one
indexed read whatever the session's length.

With several processes (`REDIS_URL`) one of them indexes a board: the process that claims it
(server/scale/claims.py, scope `events:<board>`, renewed at each step, lapsing `CLAIM_SECONDS` after
the owner's last step, when another takes over). Every process is told of every commit, its own
and those relayed to it, so the owner keeps up alone; without the claim each process decoded every
update (its own turns, and the other's to bring its decoder forward). A process that waits for
the feed (`settled`) steps itself, and so does any process while Redis is down: the cursor's
compare-and-set keeps the stored events right whoever steps.

Each board's decoder (a doc holding the state at its cursor) is kept in a small LRU, so the next
commit's events cost only its own updates; when another process moved the cursor, the decoder is
brought there by the updates in between; it is rebuilt from the nearest keyframe when it is far
behind, after erasure (`forget`), or after it fell out of the LRU.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict

from crdt import replay
from server.scale.claims import CLAIM_ERRORS, Claims
from server.store.base import EventRecord, Store
from server.store.log import UpdateRecord

log = logging.getLogger("cobord.events")

DECODE_CHUNK = 500  # updates per step: a long backlog never holds the task on one board
QUEUE_BOARDS = 1024  # boards waiting to be decoded; beyond, a notification is dropped (counted)
CACHED_DECODERS = 32  # boards whose decoder stays in memory between commits
# A busy board commits ~100 times a second: decoding after each commit costs a log read, a
# decode and an events write each time. Waiting this long after a board is queued lets its next
# commits join the same step (the feed lags the board by at most about this much).
PACE_SECONDS = 0.5
CLAIM_SECONDS = 5  # a board's indexing claim lapses this long after its owner's last step
CLAIM_NAME = "indexer"


class EventIndexer:
    def __init__(
        self,
        store: Store,
        queue_boards: int = QUEUE_BOARDS,
        cached_decoders: int = CACHED_DECODERS,
        claims: Claims | None = None,
    ) -> None:
        self.store = store
        self._claims = claims  # None: the only process (nothing to share)
        self._ticket = secrets.token_hex(8)  # this indexer's name in the claims
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_boards)
        self._queued: dict[str, float] = {}  # board -> when it was queued (loop time)
        self._decoders: OrderedDict[str, tuple[int, replay.EventDecoder]] = OrderedDict()
        self._cached = cached_decoders
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # notifications lost to a full queue (the next commit re-queues)
        self.decoded = 0  # updates decoded
        self.rebuilt = 0  # decoders built from a keyframe and the log (not brought forward)
        self.left = 0  # steps left to the process that holds the board's claim

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-indexer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.cancel()
        self._waiters.clear()

    def notify(self, board_id: str) -> None:
        """The board has new committed updates (synchronous, never blocks the caller)."""
        if board_id in self._queued:
            return
        try:
            self._queue.put_nowait(board_id)
        except asyncio.QueueFull:
            self.dropped += 1
            return
        self._queued[board_id] = asyncio.get_running_loop().time()

    def forget(self, board_id: str) -> None:
        """Drop the board's decoder (its history was rewritten or deleted)."""
        cached = self._decoders.pop(board_id, None)
        if cached is not None:
            cached[1].close()

    async def settled(self, board_id: str, timeout: float = 5.0) -> bool:
        """Wait (without decoding here) until the task has decoded the board's log as it is now;
        False on timeout. For exports, which want the phase timeline up to date."""
        if self._task is None:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(board_id, []).append(waiter)
        self.notify(board_id)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(board_id)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    self._waiters.pop(board_id, None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            board_id = await self._queue.get()
            # Boards come out in the order they were queued, so these waits overlap: no board
            # waits more than PACE_SECONDS, however many are queued. A waiter (an export, the
            # timeline) is not kept waiting.
            delay = self._queued.get(board_id, 0.0) + PACE_SECONDS - loop.time()
            if delay > 0 and board_id not in self._waiters:
                await asyncio.sleep(delay)
            self._queued.pop(board_id, None)
            try:
                more = await self.step(board_id)
            except Exception:
                log.exception("board %s: decoding events failed", board_id)
                self.forget(board_id)
                more = False
            if more:
                self.notify(board_id)  # behind the other boards waiting
            else:
                for waiter in self._waiters.pop(board_id, []):
                    if not waiter.done():
                        waiter.set_result(None)

    async def step(self, board_id: str) -> bool:
        """Decode and store up to one chunk past the board's cursor; True if more remain."""
        if not await self._indexes(board_id):
            self.left += 1
            return False
        cursor = await self.store.events.event_cursor(board_id)
        new = await self.store.log.updates_after(board_id, cursor, limit=DECODE_CHUNK)
        if not new:
            return False
        decoder = await self._decoder_at(board_id, cursor)
        found = await asyncio.to_thread(_decode, decoder, new)
        upto = new[-1].seq
        if not await self.store.events.save_events(board_id, cursor, upto, found):
            # Another process stored events first (or the board is gone). Where it stopped where
            # we did (both decoded up to the last commit), our decoder is still right: keep it.
            if await self.store.boards.get_board(board_id) is None:
                decoder.close()
                return False
            if await self.store.events.event_cursor(board_id) != upto:
                decoder.close()
                return True  # start over from its cursor, with a fresh decoder
        else:
            self.decoded += len(new)
        self._decoders[board_id] = (upto, decoder)
        while len(self._decoders) > self._cached:
            self._decoders.popitem(last=False)[1][1].close()
        return len(new) == DECODE_CHUNK

    async def _indexes(self, board_id: str) -> bool:
        """Whether this process indexes the board (see the module docstring)."""
        if self._claims is None or board_id in self._waiters:
            return True
        try:
            taken = await self._claims.claim(f"events:{board_id}", {CLAIM_NAME: self._ticket})
        except CLAIM_ERRORS as exc:
            log.warning("board %s: events claim unanswered (%r); indexing here", board_id, exc)
            return True
        return not taken

    async def _decoder_at(self, board_id: str, cursor: int) -> replay.EventDecoder:
        """A decoder holding the board as of `cursor`. The cached one is brought there by the
        updates between (another process stored their events: with several processes the
        cursor moves by turns, and rebuilding from the keyframe each time cost a whole board
        per step); a far one, or none, is rebuilt from the nearest keyframe."""
        cached = self._decoders.pop(board_id, None)
        if cached is not None and cached[0] == cursor:
            return cached[1]
        if cached is not None and cached[0] < cursor <= cached[0] + DECODE_CHUNK:
            seq, decoder = cached
            missed = await self.store.log.updates_after(board_id, seq, limit=cursor - seq)
            if missed and missed[-1].seq >= cursor:
                await asyncio.to_thread(_decode, decoder, [u for u in missed if u.seq <= cursor])
                return decoder
        if cached is not None:
            cached[1].close()
        keyframe, tail = await self.store.log.load_until_seq(board_id, cursor)
        self.rebuilt += 1
        # Loading a big keyframe into a doc takes ~100 ms: off the event loop (rooms).
        return await asyncio.to_thread(
            _decoder_at, keyframe.state if keyframe else None, [u.data for u in tail]
        )


def _decoder_at(keyframe: bytes | None, tail: list[bytes]) -> replay.EventDecoder:
    return replay.EventDecoder(replay.state_at(keyframe, tail))


def _decode(decoder: replay.EventDecoder, new: list[UpdateRecord]) -> list[EventRecord]:
    return [
        EventRecord(e.seq, e.idx, e.ts, e.kind, e.actor, e.target)
        for u in new
        for e in decoder.apply(u.seq, u.ts, u.actor, u.data)
    ]
