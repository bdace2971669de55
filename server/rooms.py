"""Live boards: one pycrdt Doc per board, its connections, validation, persistence and fan-out.

The path of an incoming update (all in `Room.receive`, synchronous, no await):
  1. apply it to the shadow doc and read what it changes (crdt.shadow);
  2. check the rules for the sender's role (crdt.rules); refused -> rebuild the shadow, tell the
     sender (auth permission-denied), never store or relay it;
  3. queue it for the room's committer task.
The committer (one task per room) takes everything queued, commits it in ONE transaction (group
commit), and only then applies it to the real doc and sends ONE merged Update frame, encoded once,
to every connection's outbox. Persist before broadcast: nothing a client received can be lost.
The real doc holds committed state only, so a joiner's SyncStep2 never shows uncommitted data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map, merge_updates

from crdt import protocol, rules, schema, updates
from crdt.protocol import CloseCode
from crdt.rules import Actor, BoardState
from crdt.shadow import CannotUndo, ForeignDelete, PendingUpdate, ShadowDoc
from server.fanout import Fanout, FanoutMessage
from server.metrics import Metrics
from server.outbox import Outbox
from server.refusals import RefusalBudget
from server.settings import Settings
from server.store.base import NewUpdate, SnapshotRecord, Store

log = logging.getLogger("cobord.rooms")
rules_log = logging.getLogger("cobord.rules")

EMPTY_UPDATE = b"\x00\x00"
# Updates committed together go out as one merged frame, up to this size (then several frames),
# so a burst never becomes one frame larger than clients accept.
MERGED_FRAME_BYTES = 256 * 1024
# A browser tab speaks for one awareness client id (a few after reloads); a state is a cursor, a
# name, a colour. Bounds keep one connection from filling the server's awareness table.
MAX_AWARENESS_IDS = 8
MAX_AWARENESS_BYTES = 64 * 1024
MAX_AWARENESS_STATE_BYTES = 4096  # one client's presence (cursor, name, colour), as JSON


class StorageFailed(Exception):
    """The board's store failed: the room stopped serving it from memory."""


class Connection:
    """One WebSocket client of a room."""

    __slots__ = (
        "actor",
        "awareness_ids",
        "outbox",
        "refusal_budget",
        "refusals",
        "tokens",
        "tokens_at",
    )

    def __init__(self, actor: Actor, outbox: Outbox) -> None:
        self.actor = actor
        self.outbox = outbox
        self.awareness_ids: set[int] = set()  # awareness client ids this connection speaks for
        self.refusals = 0  # refused updates in a row
        self.refusal_budget = RefusalBudget()  # and refused updates over time
        self.tokens = 0.0  # rate limit bucket
        self.tokens_at = 0.0

    def close(self, code: int, reason: str) -> None:
        self.outbox.close(code, reason)


@dataclass(slots=True)
class _Accepted:
    sender: Connection | None
    actor_id: str
    data: bytes
    created_notes: tuple[str, ...]
    ts: float = field(default_factory=time.time)
    committed: asyncio.Future[None] | None = None  # for server changes: resolved once durable
    echo: bool = False  # also send it to its sender (a compensated update: the sender lacks it)


@dataclass(frozen=True, slots=True)
class RoomServices:
    """What every room shares: chosen once by the composition root."""

    store: Store
    settings: Settings
    metrics: Metrics
    fanout: Fanout
    on_commit: Callable[[str], None] | None = None  # after each group commit (server/events.py)


class Room:
    def __init__(self, board_id: str, services: RoomServices, board: BoardState) -> None:
        self.board_id = board_id
        self.metrics = services.metrics
        self.store = services.store
        self.settings = services.settings
        self.fanout = services.fanout
        self._on_commit = services.on_commit
        self.board = board
        self.doc: Doc[Any] = Doc()
        for root in schema.ROOTS:
            self.doc.get(root, type=Map)
        # The rules read the settings the server wrote into `meta` (on every process alike).
        meta: Map[Any] = self.doc.get(schema.META, type=Map)
        # (Reading the doc inside an observer would re-enter its transaction: just mark it.)
        self._meta_changed = False
        self._meta_subscription = (meta, meta.observe(self._on_meta_change))
        self.shadow = ShadowDoc(roots=schema.ROOTS)
        self.connections: set[Connection] = set()
        # Yjs client id -> the actor that first wrote with it (nobody may write under another's)
        self.client_owners: dict[int, str] = {self.shadow.doc.client_id: "server"}
        # awareness client id -> (clock, state JSON); the server's own state is never set
        self.awareness: dict[int, tuple[int, Any]] = {}
        self._pending: list[_Accepted] = []  # accepted, waiting for the next commit
        self._committing: list[_Accepted] = []  # in the commit under way
        self._wake = asyncio.Event()
        self._capacity = asyncio.Event()
        self._capacity.set()
        self._committer: asyncio.Task[None] | None = None
        self._failed = False
        self.last_seq = 0
        # Every update with seq <= this is in the doc: a catch-up reads the log after it (not
        # after last_seq: our own commits during a fan-out outage move last_seq past the others').
        self.caught_up_seq = 0
        self.snapshot_seq = 0
        self.updates_since_snapshot = 0

    # ------------------------------------------------------------------ life cycle

    def load(self, snapshot: SnapshotRecord | None, tail: list[Any]) -> None:
        with self.doc.transaction(origin="load"):
            if snapshot is not None:
                self.doc.apply_update(snapshot.state)
                self.snapshot_seq = self.last_seq = snapshot.seq
            for record in tail:
                self.doc.apply_update(record.data)
                self.last_seq = record.seq
        self.caught_up_seq = self.last_seq
        self.updates_since_snapshot = len(tail)
        state = self.doc.get_update()
        self.shadow.close()
        self.shadow = ShadowDoc(state, roots=schema.ROOTS)
        self._own_shadow_client()
        self._refresh_settings()
        self.board.max_bytes = self.settings.max_board_bytes or None
        self.board.measure = lambda: len(self.shadow.doc.get_update())
        notes, clusters = (self.doc.get(root, type=Map) for root in schema.ROOTS[:2])
        self.board.loaded(len(state), notes.keys(), len(clusters))

    def _on_meta_change(self, _event: object) -> None:
        self._meta_changed = True

    def _refresh_settings(self) -> None:
        """After a transaction on the real doc: take the settings the server wrote into meta."""
        if not self._meta_changed:
            return
        self._meta_changed = False
        meta = self.doc.get(schema.META, type=Map)
        settings = meta.get("settings")
        if isinstance(settings, dict):
            # The phase rides along: posting follows it (crdt/rules.py `posting_phase`).
            phase = meta.get("phase")
            self.board.settings = {**schema.DEFAULT_SETTINGS, **settings, "phase": phase}

    def start(self) -> None:
        self._committer = asyncio.create_task(self._commit_loop(), name=f"commit:{self.board_id}")

    async def stop(self) -> None:
        """Commit what is queued, write a final keyframe, stop the committer."""
        if self._committer is not None:
            self._wake.set()
            await self._flush()
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
            self._committer = None
        for accepted in (*self._committing, *self._pending):  # never leave a request waiting
            if accepted.committed is not None and not accepted.committed.done():
                accepted.committed.set_exception(StorageFailed(self.board_id))
        if self.updates_since_snapshot and not self._failed:
            await self._snapshot()
        # Observers live in yrs and hold the room and its shadow: drop them, or neither is freed.
        meta, subscription = self._meta_subscription
        meta.unobserve(subscription)
        self.shadow.close()

    # ------------------------------------------------------------------ connections

    def join(self, conn: Connection) -> None:
        self.connections.add(conn)
        conn.outbox.put(protocol.encode(protocol.SyncStep1(self.doc.get_state())))
        if self.awareness:
            conn.outbox.put(self._awareness_frame(list(self.awareness)))

    def leave(self, conn: Connection) -> None:
        self.connections.discard(conn)
        gone = [cid for cid in conn.awareness_ids if cid in self.awareness]
        if gone:
            states = []
            for cid in gone:
                clock, _ = self.awareness.pop(cid)
                states.append(protocol.AwarenessState(cid, clock + 1, None))
            frame = protocol.encode(protocol.Awareness(protocol.encode_awareness(states)))
            self._broadcast(frame, exclude=conn)
            self._publish(FanoutMessage(self.fanout.instance_id, "awareness", frame))

    @property
    def empty(self) -> bool:
        return not self.connections

    async def wait_capacity(self) -> None:
        """Readers call this before each message: backpressure when commits fall behind."""
        if not self._capacity.is_set():
            await self._capacity.wait()

    # ------------------------------------------------------------------ incoming messages

    def receive(self, conn: Connection, frame: bytes) -> None:
        """Handle one frame from `conn`. Never raises for bad input: closes `conn` instead."""
        try:
            message = protocol.decode(frame)
        except protocol.ProtocolError as exc:
            conn.close(CloseCode.MALFORMED, f"malformed message: {exc}")
            return
        match message:
            case protocol.SyncStep1(state_vector=sv):
                try:
                    update = self.doc.get_update(sv)
                except ValueError:
                    conn.close(CloseCode.MALFORMED, "malformed state vector")
                    return
                conn.outbox.put(protocol.encode(protocol.SyncStep2(update)))
            case protocol.SyncStep2(update=update) | protocol.Update(update=update):
                self._receive_update(conn, update)
            case protocol.Awareness(payload=payload):
                self._receive_awareness(conn, frame, payload)
            case protocol.QueryAwareness():
                if self.awareness:
                    conn.outbox.put(self._awareness_frame(list(self.awareness)))
            case protocol.Auth():
                conn.close(CloseCode.MALFORMED, "auth messages go from server to client")

    def _receive_update(self, conn: Connection, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return  # e.g. the SyncStep2 answer of a client that has nothing new
        if conn.actor.role == "viewer":
            self._refuse(conn, "viewers cannot change the board", rebuild=False)
            return
        actor_id = conn.actor.id
        # Missing dependencies, deletes of clocks nobody holds, another's client id: decided from
        # the update's bytes before the shadow sees it, so such a refusal needs no O(board)
        # rebuild (a storm of them would stall the board). The checks after `apply` stay as a net.
        try:
            reason, writers = updates.precheck(update, self.shadow.state_vector())
        except protocol.ProtocolError:
            reason, writers = None, []  # yrs decides below (a malformed update is closed)
        if reason is None and any(self.client_owners.get(c, actor_id) != actor_id for c in writers):
            reason = "that Yjs client id belongs to someone else"
        if reason is not None:
            self._refuse(conn, reason, rebuild=False)
            return
        try:
            changes = self.shadow.apply(update)
        except (PendingUpdate, ForeignDelete) as exc:
            self._refuse(conn, str(exc))
            return
        except (ValueError, RuntimeError):
            self._rebuild_shadow()
            conn.close(CloseCode.MALFORMED, "malformed update")
            return
        owners = self.client_owners
        if any(owners.get(client, actor_id) != actor_id for client in self.shadow.writers):
            self._refuse(conn, "that Yjs client id belongs to someone else")
            return
        for client in self.shadow.writers:
            owners.setdefault(client, actor_id)
        refusal = rules.check(conn.actor, changes, self.board, len(update))
        if refusal is not None:
            # Undo it rather than drop it: the update's structs are kept (deleted, their content
            # garbage-collected) with a server compensation, so the sender converges by itself
            # and its later updates do not depend on anything missing.
            try:
                net = self.shadow.undo(changes, self._committed_entry)
            except CannotUndo:
                self._refuse(conn, refusal.reason)
                return
            self._refuse(conn, refusal.reason, rebuild=False)
            self._enqueue(_Accepted(conn, actor_id, net, (), echo=True))
            return
        conn.refusals = 0
        created = rules.created_notes(changes)
        if created:
            self.board.record_created(created, actor_id)
        self.board.record_changes(changes)
        if self.shadow.unseen or not changes:
            # Writes that lost a concurrent write, or went into something already deleted, are
            # harmless no-ops but their bytes hold their content: store and send the shadow's
            # encoding instead (that content garbage-collected), to the sender too.
            net = self.shadow.net_update()
            self._enqueue(_Accepted(conn, actor_id, net, tuple(created), echo=True))
            return
        self._enqueue(_Accepted(conn, actor_id, update, tuple(created)))

    def _committed_entry(self, root: str, item: str) -> dict[str, Any] | None:
        value = self.doc.get(root, type=Map).get(item)
        if isinstance(value, Map):
            data = value.to_py()
            return dict(data) if isinstance(data, dict) else None
        return None

    async def apply_server_change(self, change: Callable[[schema.Board], None]) -> None:
        """A change made by the server itself (meta, results): same log, same fan-out.
        Returns once it is committed and sent."""
        shadow_board = schema.Board(self.shadow.doc)
        state = self.shadow.doc.get_state()
        change(shadow_board)
        update = self.shadow.doc.get_update(state)
        if update == EMPTY_UPDATE:
            return
        if self._failed:
            raise StorageFailed(self.board_id)
        committed = asyncio.get_running_loop().create_future()
        self._enqueue(_Accepted(None, "server", update, (), committed=committed))
        await committed

    def _enqueue(self, accepted: _Accepted) -> None:
        self._pending.append(accepted)
        self.board.record_bytes(len(accepted.data))
        if len(self._pending) >= self.settings.max_pending_updates:
            self._capacity.clear()
        self._wake.set()

    def _refuse(self, conn: Connection, reason: str, rebuild: bool = True) -> None:
        if rebuild:
            self._rebuild_shadow()
        conn.refusals += 1
        self.metrics.updates_refused += 1
        rules_log.info(
            "refused update: board=%s actor=%s:%s reason=%s",
            self.board_id,
            conn.actor.role,
            conn.actor.id,
            reason,
        )
        conn.outbox.put(protocol.encode(protocol.Auth(reason)))
        if conn.refusals >= self.settings.max_refusals or not conn.refusal_budget.spend():
            conn.close(CloseCode.FORBIDDEN, "too many refused changes")

    def _rebuild_shadow(self) -> None:
        """Shadow = committed doc + accepted-but-uncommitted updates, without the refused one."""
        shadow = ShadowDoc(self.doc.get_update(), roots=schema.ROOTS)
        for accepted in (*self._committing, *self._pending):
            shadow.apply(accepted.data)
        self.shadow.close()
        self.shadow = shadow
        self._own_shadow_client()

    def _own_shadow_client(self) -> None:
        """The shadow writes the server's changes and compensations: no client may use its id."""
        self.client_owners.setdefault(self.shadow.doc.client_id, "server")

    def _receive_awareness(self, conn: Connection, frame: bytes, payload: bytes) -> None:
        if len(payload) > MAX_AWARENESS_BYTES:
            conn.close(CloseCode.TOO_LARGE, f"awareness over {MAX_AWARENESS_BYTES} bytes")
            return
        try:
            states = protocol.decode_awareness(payload)
        except protocol.ProtocolError as exc:
            conn.close(CloseCode.MALFORMED, f"malformed awareness: {exc}")
            return
        states = [self._stamp(conn, entry) for entry in states]
        if any(
            entry.state is not None and len(json.dumps(entry.state)) > MAX_AWARENESS_STATE_BYTES
            for entry in states
        ):
            conn.close(CloseCode.TOO_LARGE, f"presence over {MAX_AWARENESS_STATE_BYTES} bytes")
            return
        relayed = []
        for entry in states:
            if entry.client_id not in conn.awareness_ids:
                if entry.client_id in self.awareness:
                    continue  # another connection speaks for this id: ignore it
                if len(conn.awareness_ids) >= MAX_AWARENESS_IDS:
                    conn.close(CloseCode.MALFORMED, "too many awareness client ids")
                    return
                conn.awareness_ids.add(entry.client_id)
            current = self.awareness.get(entry.client_id)
            if current is not None and entry.clock < current[0]:
                continue
            relayed.append(entry)
            if entry.state is None:
                self.awareness.pop(entry.client_id, None)
                conn.awareness_ids.discard(entry.client_id)
            else:
                self.awareness[entry.client_id] = (entry.clock, entry.state)
        if not relayed:
            return
        # Always re-encoded: what goes out is the stamped states, never the sender's bytes.
        frame = protocol.encode(protocol.Awareness(protocol.encode_awareness(relayed)))
        self._broadcast(frame, exclude=conn)
        self._publish(FanoutMessage(self.fanout.instance_id, "awareness", frame))

    def _stamp(self, conn: Connection, entry: protocol.AwarenessState) -> protocol.AwarenessState:
        """The server, not the client, says who is present: `user.role` comes from the token,
        and on an anonymous board a participant's presence carries no name or group."""
        state = entry.state
        if not isinstance(state, dict):
            return entry
        user = state.get("user")
        user = dict(user) if isinstance(user, dict) else {}
        if self.board.settings.get("anonymous") and conn.actor.role != "facilitator":
            user.pop("name", None)
            user.pop("group", None)
        elif conn.actor.name is not None:
            user["name"] = conn.actor.name
        elif conn.actor.role == "viewer":
            user.pop("name", None)  # a viewer has no name (it cannot pass for the facilitator)
            user.pop("group", None)
        user["role"] = conn.actor.role
        return protocol.AwarenessState(entry.client_id, entry.clock, {**state, "user": user})

    def _awareness_frame(self, client_ids: list[int]) -> bytes:
        states = [
            protocol.AwarenessState(cid, *self.awareness[cid])
            for cid in client_ids
            if cid in self.awareness
        ]
        return protocol.encode(protocol.Awareness(protocol.encode_awareness(states)))

    def _broadcast(self, frame: bytes, exclude: Connection | None = None) -> None:
        for conn in self.connections:
            if conn is not exclude:
                conn.outbox.put(frame)

    # ------------------------------------------------------------------ other processes

    def receive_remote(self, message: FanoutMessage) -> None:
        """A frame another process committed (update) or received (awareness): apply and relay.
        Never stored, never republished."""
        try:
            decoded = protocol.decode(message.frame)
        except protocol.ProtocolError:
            log.warning("board %s: malformed frame from instance %s", self.board_id, message.origin)
            return
        if isinstance(decoded, protocol.Update) and message.kind == "update":
            self.apply_remote_updates([decoded.update], message.last_seq)
            for note_id, actor in message.created:
                self.board.record_created([note_id], actor)
            self._broadcast(message.frame)
        elif isinstance(decoded, protocol.Awareness) and message.kind == "awareness":
            try:
                states = protocol.decode_awareness(decoded.payload)
            except protocol.ProtocolError:
                return
            for entry in states:
                current = self.awareness.get(entry.client_id)
                if current is not None and entry.clock < current[0]:
                    continue
                if entry.state is None:
                    self.awareness.pop(entry.client_id, None)
                else:
                    self.awareness[entry.client_id] = (entry.clock, entry.state)
            self._broadcast(message.frame)

    def apply_remote_updates(self, updates: list[bytes], last_seq: int) -> None:
        """Committed elsewhere: into the real doc and the shadow (idempotent: Yjs ignores what it
        has). The shadow skips the missing-dependency check: the other process checked."""
        with self.doc.transaction(origin="fanout"):
            for update in updates:
                self.doc.apply_update(update)
                self.board.record_bytes(len(update))
        self._refresh_settings()
        for update in updates:
            self.shadow.doc.apply_update(update)
        self.last_seq = max(self.last_seq, last_seq)

    async def catch_up(self) -> None:
        """After a fan-out gap: read every committed update not known to be in the doc (the log
        after `caught_up_seq`), apply it, and send clients only what was new to us."""
        start = self.caught_up_seq
        records = await self.store.updates_after(self.board_id, start)
        if not records:
            return
        before = self.doc.get_state()
        self.apply_remote_updates([r.data for r in records], records[-1].seq)
        self.caught_up_seq = max(self.caught_up_seq, records[-1].seq)
        authors = await self.store.note_authors(self.board_id)
        for note_id, actor in authors.items():
            if note_id not in self.board.note_authors:
                self.board.record_created([note_id], actor)
        missed = self.doc.get_update(before)
        if missed != EMPTY_UPDATE:
            self._broadcast(protocol.encode(protocol.Update(missed)))

    def _publish(self, message: FanoutMessage) -> None:
        self.fanout.send(self.board_id, message)  # never waits (bounded queues in the fan-out)

    # ------------------------------------------------------------------ group commit

    async def _commit_loop(self) -> None:
        # At most one commit (and one merged frame per client) per window. An update that comes
        # after a quiet spell is committed at once; on a busy board the updates of the rest of
        # the window join the next commit, so each client gets one frame (one writer wake-up)
        # instead of several.
        window = self.settings.batch_window_ms / 1000
        loop = asyncio.get_running_loop()
        last_commit = -window
        while True:
            await self._wake.wait()
            wait = last_commit + window - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._wake.clear()
            if self._pending:
                last_commit = loop.time()
                await self._commit_batch()

    async def _flush(self) -> None:
        while self._pending and not self._failed:
            await self._commit_batch()

    async def _commit_batch(self) -> None:
        batch, self._pending = self._pending, []
        self._committing = batch
        started = time.perf_counter()
        try:
            seqs = await self.store.append_updates(
                self.board_id,
                [NewUpdate(a.ts, a.actor_id, a.data, a.created_notes) for a in batch],
            )
        except Exception:
            # Nothing of this batch reached anyone. Close every client so they resync against
            # the store, and stop serving this board from memory.
            log.exception("board %s: commit failed; closing its connections", self.board_id)
            self._failed = True
            for conn in list(self.connections):
                conn.close(CloseCode.INTERNAL_ERROR, "storage error: please reconnect")
            for accepted in batch:
                if accepted.committed is not None:
                    accepted.committed.set_exception(StorageFailed(self.board_id))
            return
        finally:
            self._capacity.set()
        metrics = self.metrics
        metrics.commit_seconds.append(time.perf_counter() - started)
        metrics.commit_sizes.append(len(batch))
        metrics.commits += 1
        metrics.updates_accepted += len(batch)
        self.last_seq = seqs[-1]
        self.updates_since_snapshot += len(batch)
        with self.doc.transaction(origin="commit"):
            for accepted in batch:
                self.doc.apply_update(accepted.data)
        self._refresh_settings()
        self._committing = []
        if self._on_commit is not None:
            self._on_commit(self.board_id)
        instance = self.fanout.instance_id
        for chunk in _chunks(batch, MERGED_FRAME_BYTES):
            data = chunk[0].data if len(chunk) == 1 else merge_updates(*(a.data for a in chunk))
            senders = {a.sender for a in chunk}
            # A sender has its own update already; a frame merged from several senders goes to all.
            echo = any(a.echo for a in chunk)
            exclude = chunk[0].sender if len(senders) == 1 and not echo else None
            frame = protocol.encode(protocol.Update(data))
            self._broadcast(frame, exclude=exclude)
            created = tuple((note, a.actor_id) for a in chunk for note in a.created_notes)
            self._publish(FanoutMessage(instance, "update", frame, self.last_seq, created))
        for accepted in batch:
            if accepted.committed is not None and not accepted.committed.done():
                accepted.committed.set_result(None)
        if self.updates_since_snapshot >= self.settings.snapshot_every:
            await self._snapshot()

    async def _snapshot(self) -> None:
        try:
            keyframe = await self._keyframe()
            if keyframe is not None:
                await self.store.save_snapshot(self.board_id, keyframe)
        except Exception:
            log.exception("board %s: keyframe failed", self.board_id)
            return
        if keyframe is not None:
            self.snapshot_seq = keyframe.seq
            queued = (*self._committing, *self._pending)
            self.board.measured(len(keyframe.state) + sum(len(a.data) for a in queued))
        self.updates_since_snapshot = 0

    async def _keyframe(self) -> SnapshotRecord | None:
        """Alone, a room's live doc is exactly its committed log. With several processes the
        live doc may lack a committed update still on its way through Redis, and a keyframe must
        never drop one: then it is built from the log itself (latest keyframe + tail)."""
        if not self.fanout.shared:
            return SnapshotRecord(self.last_seq, time.time(), self.doc.get_update())
        previous, tail = await self.store.load(self.board_id)
        if not tail:
            return None
        doc: Doc[Any] = Doc()
        if previous is not None:
            doc.apply_update(previous.state)
        for record in tail:
            doc.apply_update(record.data)
        return SnapshotRecord(tail[-1].seq, time.time(), doc.get_update())

    @property
    def failed(self) -> bool:
        return self._failed

    def has_note(self, note_id: str) -> bool:
        return note_id in self.doc.get(schema.NOTES, type=Map)


def _chunks(batch: list[_Accepted], max_bytes: int) -> list[list[_Accepted]]:
    chunks: list[list[_Accepted]] = [[]]
    size = 0
    for accepted in batch:
        if chunks[-1] and size + len(accepted.data) > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(accepted)
        size += len(accepted.data)
    return chunks


def board_state_from(settings: dict[str, Any], note_authors: dict[str, str]) -> BoardState:
    state = BoardState(settings={**schema.DEFAULT_SETTINGS, **settings})
    for note_id, actor in note_authors.items():
        state.record_created([note_id], actor)
    return state
