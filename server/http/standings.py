"""The records a socket's token check reads, remembered while the board is live in this process.

A board's sockets used to read its board row and the token's participant from the database on
every connection: 200 phones joining at once, 400 round trips. Here a live board's records are
read once (the board and all its participants: two queries, shared by the sockets that arrive
while they are read) and kept while the room lives; a participant who joined since is read alone,
once. A board not live here is read as before (the socket loads it, then checks again).

Why this stays exactly as correct as reading the database each time:
- Standing only ever changes through a privacy action (revocation, erasure, facilitator-link
  rotation, board deletion), and each of them commits to the store, THEN sends a close order on
  the board's control channel (server/closing.py). Every process serving the board is subscribed
  to that channel while the room is live, and the order reaches `forget` here (the local process
  at once, the others through the fan-out) before it closes the matching sockets.
- So records are kept only for a board whose room is live (subscribed), and only if no order or
  fan-out gap came while they were read (`epoch`). A check remembers the epoch it relied on; the
  socket re-checks, right before it joins the room (no await in between), when any order came
  since (`current`). A socket either joins before an order arrives (the order then closes it, as
  it closes every earlier one) or is checked against records read after the order's commit.
- A fan-out gap (a lost message, a Redis reconnection) may have lost an order: it drops what is
  kept (`forget`, from the hub's gap hook). As a last bound, records are re-read after
  KEEP_SECONDS whatever happens.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from server.http.auth import Access, AccessRefused, Refusal, authenticate
from server.live.hub import Hub
from server.live.room import Room
from server.store.base import BoardRecord, ParticipantRecord, Store
from server.tokens import TokenSigner

KEEP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Mark:
    room: Room | None
    epoch: int


@dataclass(slots=True)
class _Kept:
    room: Room  # the live room they were read under: another (reloaded) room re-reads them
    board: BoardRecord
    people: dict[str, ParticipantRecord]
    read_at: float = field(default_factory=time.monotonic)


class LiveStandings:
    """`Records` for `authenticate`, remembered per live board (see the module's docstring)."""

    def __init__(self, store: Store, hub: Hub, keep_seconds: float = KEEP_SECONDS) -> None:
        self.store = store
        self.hub = hub
        self.keep_seconds = keep_seconds
        self.epoch = 0  # changes whenever anything kept may have become wrong
        self.reads = 0  # store reads made (tests and metrics: what the cache saves)
        self._kept: dict[str, _Kept] = {}
        # Reads under way: (board id, room, epoch) -> the board (its participants get kept)
        self._reading: dict[tuple[str, int, int], asyncio.Task[BoardRecord | None]] = {}

    def forget(self, board_id: str | None) -> None:
        """A close order or a fan-out gap on this board (None: on every board)."""
        self.epoch += 1
        if board_id is None:
            self._kept.clear()
        else:
            self._kept.pop(board_id, None)

    async def check(self, signer: TokenSigner, token: str, board_id: str) -> Access:
        """`authenticate()` against what is remembered. A refusal for standing is confirmed
        against the store: a facilitator link rotated on another process a moment ago is newer
        than the board remembered here until the rotation's order arrives."""
        try:
            return await authenticate(signer, token, board_id, self)
        except AccessRefused as exc:
            if exc.kind is not Refusal.REVOKED or self._live(board_id) is None:
                raise
        self._kept.pop(board_id, None)  # read afresh (checks made meanwhile stay valid)
        return await authenticate(signer, token, board_id, self)

    def mark(self, board_id: str) -> Mark:
        """Taken before a check: what the check's records rely on."""
        return Mark(self.hub.rooms.get(board_id), self.epoch)

    def current(self, board_id: str, mark: Mark) -> bool:
        """Whether a check that began at `mark` still holds: the board was live here (subscribed
        to its orders) all along, under the same room, and no order or gap came since. Not live
        when the check began: an order may have come before this process subscribed."""
        room = mark.room
        return (
            room is not None
            and not room.failed
            and self.hub.rooms.get(board_id) is room
            and mark.epoch == self.epoch
        )

    async def board(self, board_id: str) -> BoardRecord | None:
        kept = self._live(board_id)
        if kept is not None:
            return kept.board
        room = self.hub.rooms.get(board_id)
        if room is None or room.failed:  # not live here: nothing can be kept; read what is needed
            self.reads += 1
            return await self.store.boards.get_board(board_id)
        # Sockets arriving together share one read (200 phones at the start of a workshop). A
        # read that began before an order is not shared with checks that began after it.
        key = (board_id, id(room), self.epoch)
        reading = self._reading.get(key)
        if reading is None:
            # A task owned here (`close`): it finishes for the others if its first asker leaves.
            reading = asyncio.get_running_loop().create_task(
                self._read(board_id, room), name=f"standings:{board_id}"
            )
            self._reading[key] = reading
            reading.add_done_callback(lambda task: self._read_done(key, task))
        return await asyncio.shield(reading)

    def _read_done(self, key: tuple[str, int, int], task: asyncio.Task[BoardRecord | None]) -> None:
        self._reading.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: every asker got it already (or left)

    async def close(self) -> None:
        """Lifespan: wait for the reads under way (two queries at most each)."""
        await asyncio.gather(*self._reading.values(), return_exceptions=True)

    async def _read(self, board_id: str, room: Room) -> BoardRecord | None:
        """The board and all its participants, kept if nothing changed while they were read."""
        epoch = self.epoch
        self.reads += 2
        board = await self.store.boards.get_board(board_id)
        people = await self.store.boards.list_participants(board_id) if board is not None else []
        if board is not None and self._still(board_id, room, epoch):
            self._prune()
            self._kept[board_id] = _Kept(room, board, {p.id: p for p in people})
        return board

    async def participant(self, board_id: str, participant_id: str) -> ParticipantRecord | None:
        kept = self._live(board_id)
        if kept is not None:
            person = kept.people.get(participant_id)
            if person is not None:
                return person
        epoch = self.epoch
        self.reads += 1
        person = await self.store.boards.get_participant(participant_id)
        kept = self._live(board_id)
        if (
            person is not None
            and person.board_id == board_id
            and kept is not None
            and self.epoch == epoch
        ):
            kept.people[person.id] = person
        return person

    def joined(self, person: ParticipantRecord) -> None:
        """A participant this process just added (POST /api/join): their first socket here
        needs no read."""
        kept = self._live(person.board_id)
        if kept is not None:
            kept.people.setdefault(person.id, person)

    def _live(self, board_id: str) -> _Kept | None:
        kept = self._kept.get(board_id)
        if kept is None:
            return None
        if (
            self.hub.rooms.get(board_id) is not kept.room
            or kept.room.failed
            or time.monotonic() - kept.read_at > self.keep_seconds
        ):
            del self._kept[board_id]
            return None
        return kept

    def _prune(self) -> None:
        """Drop what was kept for boards no longer live here (they may never be asked again)."""
        rooms = self.hub.rooms
        for board_id in [b for b, kept in self._kept.items() if rooms.get(b) is not kept.room]:
            del self._kept[board_id]

    def _still(self, board_id: str, room: Room, epoch: int) -> bool:
        return self.epoch == epoch and self.hub.rooms.get(board_id) is room and not room.failed
