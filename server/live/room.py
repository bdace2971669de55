"""Live boards: the drivers around one board's sans-I/O core (server/live/core.py).

`RoomCore` decides (decode, shadow, rules, compensation, awareness, claims' answers) and returns
effects; a `Room` carries them out: frames into each connection's outbox, messages to the
fan-out, closes, logs and metrics. It owns the tasks and the I/O:
  - the committer (one task per room) takes everything the core queued, claims across processes
    what is new in it (server/scale/claims.py, only with a shared fan-out), commits it in ONE
    transaction (group commit), and only then lets the core apply it to the real doc and encode
    ONE merged frame for everyone. Persist before broadcast: nothing a client received is lost;
  - keyframes (from the live doc alone, from the log with several processes);
  - catch-up from the log after a fan-out gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc

from crdt import schema
from crdt.board_state import BoardState
from crdt.rules import Actor
from server.fanout import Fanout, FanoutMessage
from server.live.core import Accepted, Effects, Peer, RoomCore, board_state_from
from server.live.outbox import Outbox, binary_frame
from server.live.refusals import BUDGET_ERRORS, MemoryBudgets, SharedBudgets
from server.metrics import Metrics
from server.scale.claims import CLAIM_ERRORS, Claims, MemoryClaims, claim_writers
from server.scale.quotas import MemoryQuotas, Quotas
from server.settings import Settings
from server.store.base import Store
from server.store.log import NewUpdate, SnapshotRecord, UpdateRecord

log = logging.getLogger("cobord.rooms")
rules_log = logging.getLogger("cobord.rules")
# Frames to everyone held back to share the next commit's write (`Room._held`): past this many
# (a commit that takes long while other processes keep relaying), they go out at once.
MAX_HELD_FRAMES = 256

__all__ = [
    "Connection",
    "Room",
    "RoomServices",
    "StorageFailed",
    "board_state_from",
]


class StorageFailed(Exception):
    """The board's store failed: the room stopped serving it from memory."""


class Connection(Peer):
    """One WebSocket client of a room: the core's peer, with its outbox."""

    __slots__ = ("outbox",)

    def __init__(self, actor: Actor, outbox: Outbox, budget_key: str | None = None) -> None:
        super().__init__(actor, budget_key)
        self.outbox = outbox

    def close(self, code: int, reason: str) -> None:
        self.outbox.close(code, reason)


@dataclass(frozen=True, slots=True)
class RoomServices:
    """What every room shares: chosen once by the composition root."""

    store: Store
    settings: Settings
    metrics: Metrics
    fanout: Fanout
    claims: Claims = field(default_factory=MemoryClaims)
    budgets: SharedBudgets = field(default_factory=MemoryBudgets)  # refusals, across processes
    quotas: Quotas = field(default_factory=MemoryQuotas)  # notes per participant, across them
    on_commit: Callable[[str], None] | None = None  # after each group commit (server/events.py)


class Room:
    def __init__(self, board_id: str, services: RoomServices, board: BoardState) -> None:
        self.board_id = board_id
        self.metrics = services.metrics
        self.store = services.store
        self.settings = services.settings
        self.fanout = services.fanout
        self.claims = services.claims
        self.budgets = services.budgets
        self.quotas = services.quotas
        self._refused: dict[str, int] = {}  # budget key -> refusals not yet spent in `budgets`
        self._on_commit = services.on_commit
        self.core: RoomCore[Connection] = RoomCore(
            board_id, board, services.fanout.instance_id, services.settings.max_refusals
        )
        self._wake = asyncio.Event()
        self._capacity = asyncio.Event()
        self._capacity.set()
        self._committer: asyncio.Task[None] | None = None
        # Frames to everyone (relayed from other processes, presence) that came while a commit
        # was in flight or within a window of the last frames out: they go out with the next
        # commit's frame, or at the window's end, in one write per connection.
        self._held: list[tuple[bytes, Connection | None]] = []
        self._committing = False
        self._last_out = -1e9  # loop time frames last went out to everyone
        self._window = services.settings.batch_window_ms / 1000  # between commits
        # how long frames that are not our commits may wait for one (never less than the above)
        self._hold = max(self._window, services.settings.relay_window_ms / 1000)

    # ------------------------------------------------------------------ what readers see
    # (the committed doc, the board's bookkeeping, who is connected: for HTTP routes and hooks)

    @property
    def doc(self) -> Doc[Any]:
        return self.core.committed_doc()

    @property
    def board(self) -> BoardState:
        return self.core.board_state()

    @property
    def connections(self) -> set[Connection]:
        return self.core.peers()

    @property
    def last_seq(self) -> int:
        return self.core.committed_seq()

    @property
    def failed(self) -> bool:
        return self.core.has_failed()

    def has_note(self, note_id: str) -> bool:
        return self.core.has_note(note_id)

    # ------------------------------------------------------------------ life cycle

    def load(self, snapshot: SnapshotRecord | None, tail: list[Any]) -> None:
        self.core.load(snapshot, tail, self.settings.max_board_bytes or None)

    def start(self) -> None:
        self._committer = asyncio.create_task(self._commit_loop(), name=f"commit:{self.board_id}")

    async def stop(self) -> None:
        """Commit what is queued, write a final keyframe, stop the committer."""
        core = self.core
        if self._committer is not None:
            self._wake.set()
            await self._flush()
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
            self._committer = None
        self._release_held()
        for accepted in core.queued():  # never leave a request waiting
            waiter = accepted.waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(StorageFailed(self.board_id))
        if core.unsaved():
            await self._snapshot()
        core.close()

    # ------------------------------------------------------------------ carrying out effects

    def _run(self, effects: Effects[Connection], commit: bool = False) -> None:
        """`commit`: these are a commit's effects; what was held goes out with them."""
        if effects.sends:
            for conn, frame in effects.sends:
                conn.outbox.put(frame, binary_frame(frame))
        if effects.broadcasts or (commit and self._held):
            if commit:
                held, self._held = self._held, []  # the window counts from the commit's start
                self._broadcast([*held, *effects.broadcasts])
            elif self._holds():
                self._held += effects.broadcasts
                if len(self._held) >= MAX_HELD_FRAMES:  # a long commit: do not let them pile up
                    self._release_held()
                else:
                    self._wake.set()
            else:
                self._broadcast(effects.broadcasts)
        if effects.publishes:
            for message in effects.publishes:
                self.fanout.send(self.board_id, message)  # never waits (bounded queues)
        if effects.closes:
            for conn, code, reason in effects.closes:
                conn.close(code, reason)
        if not effects.refusals:
            return
        shared = self.fanout.shared
        for conn, reason in effects.refusals:
            if shared:  # spent by the committer (one Redis call per budget per window)
                key = conn.budget_key
                self._refused[key] = self._refused.get(key, 0) + 1
                self._wake.set()
            self.metrics.updates_refused += 1
            rules_log.info(
                "refused update: board=%s actor=%s:%s reason=%s",
                self.board_id,
                conn.actor.role,
                conn.actor.id,
                reason,
            )

    def _holds(self) -> bool:
        """Whether a frame to everyone must wait for the committer (see `_held`)."""
        if self._committer is None:
            return False
        if self._committing or self._held:
            return True
        now = asyncio.get_running_loop().time()
        if now - self._last_out < self._hold:
            return True
        self._last_out = now
        return False

    def _release_held(self) -> None:
        held, self._held = self._held, []
        if held:
            self._last_out = asyncio.get_running_loop().time()
            self._broadcast(held)

    def _broadcast(self, broadcasts: list[tuple[bytes, Connection | None]]) -> None:
        """Frames to every connection (but the one each leaves out), encoded once: several
        frames go to a connection in one write."""
        connections = self.core.peers()
        metrics = self.metrics
        metrics.fanout_writes += len(connections)  # one per connection (less the left out)
        metrics.fanout_frames += len(connections) * len(broadcasts)
        if len(broadcasts) == 1:
            frame, exclude = broadcasts[0]
            wire = binary_frame(frame)  # encoded once, the same bytes for everyone
            for conn in connections:
                if conn is not exclude:
                    conn.outbox.put(frame, wire)
            return
        frames = [frame for frame, _ in broadcasts]
        wires = [binary_frame(frame) for frame in frames]
        everything = b"".join(wires)
        excluded = {exclude for _, exclude in broadcasts if exclude is not None}
        for conn in connections:
            if conn not in excluded:
                conn.outbox.put_many(frames, everything)
                continue
            mine = [i for i, (_, exclude) in enumerate(broadcasts) if exclude is not conn]
            if mine:
                conn.outbox.put_many([frames[i] for i in mine], b"".join(wires[i] for i in mine))

    def _queued(self) -> None:
        pending = self.core.pending_count()
        if pending:
            if pending >= self.settings.max_pending_updates:
                self._capacity.clear()
            self._wake.set()

    # ------------------------------------------------------------------ connections

    def join(self, conn: Connection) -> None:
        self._run(self.core.join(conn))

    def leave(self, conn: Connection) -> None:
        self._run(self.core.leave(conn))

    @property
    def empty(self) -> bool:
        return not self.core.peers()

    async def wait_capacity(self) -> None:
        """Readers call this before each message: backpressure when commits fall behind."""
        if not self._capacity.is_set():
            await self._capacity.wait()

    def receive(self, conn: Connection, frame: bytes) -> None:
        """Handle one frame from `conn`. Never raises for bad input: closes `conn` instead."""
        core = self.core
        pending = core.pending_count()
        self._run(core.receive(conn, frame))
        if core.pending_count() != pending:
            self._queued()

    async def apply_server_change(self, change: Callable[[schema.Board], None]) -> None:
        """A change made by the server itself (meta, results): same log, same fan-out.
        Returns once it is committed and sent."""
        accepted = self.core.server_change(change)
        if accepted is None:
            return
        if self.core.has_failed():
            self.core.withdraw(accepted)
            raise StorageFailed(self.board_id)
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        accepted.waiter = committed
        self._queued()
        await committed

    async def apply_client_change(
        self, actor: Actor, change: Callable[[schema.Board], None]
    ) -> str | None:
        """A change the server makes for a client (`actor`), judged like the client's own
        writes (RoomCore.client_change). Returns the refusal's reason (nothing written), or
        None once it is committed and sent."""
        accepted, refusal = self.core.client_change(actor, change)
        if accepted is None:
            return refusal
        if self.core.has_failed():
            self.core.withdraw(accepted)
            raise StorageFailed(self.board_id)
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        accepted.waiter = committed
        self._queued()
        await committed
        return None

    # ------------------------------------------------------------------ other processes

    def receive_remote(self, message: FanoutMessage) -> None:
        """A frame another process committed (update) or received (awareness): apply and relay.
        Never stored, never republished."""
        pending = self.core.pending_count()
        self._run(self.core.receive_remote(message))
        if self.core.pending_count() != pending:
            self._queued()  # the core put back a note a lost creation displaced
        if message.kind == "update" and self._on_commit is not None:
            self._on_commit(self.board_id)  # committed by another process: the feed follows it

    def apply_remote_updates(self, updates: list[bytes], last_seq: int) -> None:
        self.core.apply_remote_updates(updates, last_seq)

    async def catch_up(self) -> bool:
        """After a fan-out gap: read every committed update not known to be in the doc (the log
        after `caught_up_seq`), apply it, and send clients only what was new to us. True when
        the log held something the fan-out had not brought (a message was lost)."""
        records = await self.store.log.updates_after(self.board_id, self.core.caught_up_to())
        if not records:
            return False
        authors = await self.store.log.note_authors(self.board_id)
        effects = self.core.apply_log(records, authors)
        self._run(effects)
        return bool(effects.broadcasts)

    # ------------------------------------------------------------------ group commit

    async def _commit_loop(self) -> None:
        # Natural group commit (window 0, the default): an update that comes after a quiet
        # spell is committed at once; what arrives while a commit (its fsync, then its
        # broadcast) is in flight is the next batch. Before taking that batch the loop gets two
        # turns (a socket's bytes reach its reader task on the second): updates that reached
        # our sockets during the broadcast join it instead of waiting for one more commit, so
        # a busy board commits (and writes to each client) fewer times, with no timer.
        # A window (> 0) further spaces commits: at most one per window.
        # Frames to everyone that are not our commits (relays from other processes, presence)
        # wait for the next commit or at most `_hold` (`_held`), so a client gets one write
        # per commit whatever the number of processes and of people moving their pointer.
        loop = asyncio.get_running_loop()
        busy = False  # something arrived while the last commit was in flight
        while True:
            if not self._wake.is_set():
                busy = False  # idle: what comes next is committed at once
                await self._wake.wait()
            wait = self._last_out + self._window - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif busy:
                await asyncio.sleep(0)  # the loop polls the sockets (their callbacks run)
                await asyncio.sleep(0)  # the reader tasks they woke hand us their frames
            self._wake.clear()
            if self._refused:
                await self._spend_refusals()
            if self.core.pending_count():
                self._last_out = loop.time()
                await self._commit_batch()
                busy = True
                continue
            busy = False
            if self._held:
                due = self._last_out + self._hold - loop.time()
                if due > 0:
                    try:
                        async with asyncio.timeout(due):
                            await self._wake.wait()
                        continue  # an update (it takes the held frames along) or refusals
                    except TimeoutError:
                        pass
                self._release_held()

    async def _flush(self) -> None:
        while self.core.pending_count() and not self.core.has_failed():
            await self._commit_batch()

    async def _commit_batch(self) -> None:
        core = self.core
        batch = core.take_batch()
        started = time.perf_counter()
        self._committing = True
        try:
            if self.fanout.shared:
                await self._settle(batch)
            seqs = (
                await self.store.log.append_updates(
                    self.board_id,
                    [NewUpdate(a.ts, a.actor_id, a.data, a.created_notes) for a in batch],
                )
                if batch
                else []
            )
        except Exception:
            # Nothing of this batch reached anyone. Close every client so they resync against
            # the store, and stop serving this board from memory.
            log.exception("board %s: commit failed; closing its connections", self.board_id)
            self._committing = False
            self._release_held()
            self._run(core.commit_failed(batch))
            for accepted in batch:
                if accepted.waiter is not None:
                    accepted.waiter.set_exception(StorageFailed(self.board_id))
            return
        finally:
            self._committing = False
            self._capacity.set()
        if not batch:
            core.nothing_committed()
            self._release_held()
            return
        metrics = self.metrics
        metrics.commit_seconds.append(time.perf_counter() - started)
        metrics.commit_sizes.append(len(batch))
        metrics.commits += 1
        metrics.updates_accepted += len(batch)
        self._run(core.committed(batch, seqs[-1]), commit=True)
        if self._on_commit is not None:
            self._on_commit(self.board_id)
        for accepted in batch:
            waiter = accepted.waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if core.keyframe_due(self.settings.snapshot_every):
            await self._snapshot()

    async def _settle(self, batch: list[Accepted[Connection]]) -> None:
        """With other processes: claim the batch's new client ids and note ids, first come
        first owned. Redis unreachable: this process's own checks stand (logged)."""
        request = self.core.claims_of(batch)
        if request is None:
            return
        try:
            lost = await claim_writers(
                self.claims, self.board_id, request.clients, request.notes
            )
        except CLAIM_ERRORS as exc:
            log.warning("board %s: claims unavailable, local checks only: %r", self.board_id, exc)
            return
        if lost:
            self._run(self.core.settle(batch, lost.clients, lost.notes))
        await self._reserve_quota(batch)

    async def _reserve_quota(self, batch: list[Accepted[Connection]]) -> None:
        """With other processes: each participant's new notes take slots of their quota in
        the shared set (server/scale/quotas.py); those beyond it are undone on their senders."""
        asks = self.core.quota_asks(batch)
        if not asks:
            return
        over: list[str] = []
        try:
            for ask in asks:
                over += await self.quotas.reserve(
                    self.board_id, ask.actor_id, ask.notes, ask.limit, ask.gone
                )
        except CLAIM_ERRORS as exc:
            log.warning("board %s: quota unavailable, local checks only: %r", self.board_id, exc)
            return
        if over:
            self._run(self.core.over_quota(batch, over))

    async def _spend_refusals(self) -> None:
        """With other processes: spend this window's refusals in the budgets every process
        shares; an actor whose budget is spent is cut off here (the others do the same for
        their own refusals). Redis unreachable: this process's budgets stand (logged)."""
        refused, self._refused = self._refused, {}
        for actor_id, count in refused.items():
            try:
                within = await self.budgets.spend(self.board_id, actor_id, count)
            except BUDGET_ERRORS as exc:
                log.warning("board %s: shared refusal budget unavailable: %r", self.board_id, exc)
                return
            if not within:
                self._run(self.core.cut_off(actor_id))

    async def _snapshot(self) -> None:
        core = self.core
        try:
            if self.fanout.shared:
                keyframe = await self.store.log.save_keyframe_from_log(self.board_id, _keyframe_of)
            else:
                keyframe = core.keyframe()
                if keyframe is not None:
                    await self.store.log.save_snapshot(self.board_id, keyframe)
        except Exception:
            log.exception("board %s: keyframe failed", self.board_id)
            return
        core.keyframe_saved(keyframe)


def _keyframe_of(
    previous: SnapshotRecord | None, tail: list[UpdateRecord]
) -> SnapshotRecord | None:
    """Alone, a room's live doc is exactly its committed log. With several processes the live
    doc may lack a committed update still on its way through Redis, and a keyframe must never
    drop one: then it is built from the log itself (latest keyframe + tail), read and saved by
    the store in one go so that an erasure cannot come between (`log.save_keyframe_from_log`)."""
    if not tail:
        return None
    doc: Doc[Any] = Doc()
    if previous is not None:
        doc.apply_update(previous.state)
    for record in tail:
        doc.apply_update(record.data)
    return SnapshotRecord(tail[-1].seq, time.time(), doc.get_update())
