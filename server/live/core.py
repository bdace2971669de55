"""One board's decisions, sans I/O (as h11 and websockets' protocol objects): bytes in, effects out.

`RoomCore` takes (connection, frame) and returns `Effects` (server/live/effects.py): frames to
send to one connection, frames to send to every connection (but one), messages to publish to the
other processes, connections to close (code, reason), refusals to log. What must be stored is
queued; the driver takes a batch (`take_batch`), stores it, and reports back (`committed`, or
`commit_failed`). The driver (server/live/room.py) sees methods, never fields. No asyncio, no
storage, no sockets here.

An incoming update is judged by crdt/judge.py (accept, compensate, refuse); a forbidden write is
undone, not dropped: the server's compensation is queued with it, and the net result goes to
everyone, the sender included, so every client converges by itself; the sender is told why
(auth message). `committed` applies a stored batch to the real doc and encodes ONE merged frame
per chunk, for every connection and for the fan-out. The real doc holds committed state only.
Presence is crdt/awareness.py's; what is settled with other processes (claims, quotas, remote
apply, lost-note repair) is server/live/settle.py's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic

from pycrdt import Doc, Map, merge_updates

from crdt import awareness, protocol, rules, schema
from crdt.awareness import AwarenessRefused, Presence
from crdt.board_state import BoardState
from crdt.judge import EMPTY_UPDATE, judge
from crdt.protocol import CloseCode
from crdt.rules import Actor
from crdt.shadow import ShadowDoc, overlaid
from crdt.sync import SyncFrames
from server.fanout.base import FanoutMessage
from server.live import settle as settlement
from server.live.effects import Accepted, ClaimRequest, Effects, P, Peer, QuotaAsk
from server.live.refusals import RefusalBudgets
from server.store.log import SnapshotRecord, UpdateRecord

log = logging.getLogger(__name__)

# Updates committed together go out as one merged frame, up to this size (then several frames),
# so a burst never becomes one frame larger than clients accept.
MERGED_FRAME_BYTES = 256 * 1024
TOO_MANY_REFUSED = "too many refused changes"


class RoomCore(Generic[P]):
    def __init__(
        self,
        board_id: str,
        board: BoardState,
        instance_id: str = "local",
        max_refusals: int = 10,
        refusal_budgets: RefusalBudgets | None = None,
    ) -> None:
        self._board_id = board_id
        self._board = board
        self._instance_id = instance_id
        self._max_refusals = max_refusals
        self._doc: Doc[Any] = Doc()
        for root in schema.ROOTS:
            self._doc.get(root, type=Map)
        # The rules read the settings the server wrote into `meta` (on every process alike).
        meta: Map[Any] = self._doc.get(schema.META, type=Map)
        # (Reading the doc inside an observer would re-enter its transaction: just mark it.)
        self._meta_changed = False
        self._meta_subscription = (meta, meta.observe(self._on_meta_change))
        self._shadow = ShadowDoc(roots=schema.ROOTS)
        # What joiners get is encoded once per change of the doc, not once per joiner.
        self._sync_frames = SyncFrames(self._doc)
        self._connections: set[P] = set()
        # Yjs client id -> the actor that first wrote with it (nobody may write under another's)
        self._client_owners: dict[int, str] = {self._shadow.doc.client_id: "server"}
        self._awareness = Presence()  # awareness client id -> (clock, state)
        self._pending: list[Accepted[P]] = []  # accepted, waiting for the next commit
        self._committing: list[Accepted[P]] = []  # taken by the driver, not yet committed
        self._failed = False
        self._last_seq = 0
        # Every update with seq <= this is in the doc: a catch-up reads the log after it (not
        # after last_seq: our own commits during a fan-out outage move last_seq past the others').
        self._caught_up_seq = 0
        self._snapshot_seq = 0
        self._updates_since_snapshot = 0
        # Refused updates over time, per actor (a participant, not a socket: reconnecting does
        # not refill it). With several processes the driver also spends a shared one.
        self._refusal_budgets = refusal_budgets or RefusalBudgets()

    # ------------------------------------------------------------------ life cycle

    def load(
        self,
        snapshot: SnapshotRecord | None,
        tail: Sequence[UpdateRecord],
        max_bytes: int | None = None,
    ) -> None:
        """`max_bytes`: the board's byte bound (None: none)."""
        self._board.max_bytes = max_bytes
        with self._doc.transaction(origin="load"):
            if snapshot is not None:
                self._doc.apply_update(snapshot.state)
                self._snapshot_seq = self._last_seq = snapshot.seq
            for record in tail:
                self._doc.apply_update(record.data)
                self._last_seq = record.seq
        self._sync_frames.release()
        self._caught_up_seq = self._last_seq
        self._updates_since_snapshot = len(tail)
        state = self._doc.get_update()
        self._shadow.close()
        self._shadow = ShadowDoc(state, roots=schema.ROOTS)
        self._own_shadow_client()
        self.refresh_settings()
        # The byte bound: exact now, then estimated from above (crdt/board_state.py).
        self._board.measure = lambda: len(self._shadow.doc.get_update())
        notes, clusters = (self._doc.get(root, type=Map) for root in schema.ROOTS[:2])
        self._board.loaded(len(state), list(notes), len(clusters))
        self._board.live_terms = len(self._doc.get(schema.GLOSSARY, type=Map))

    def close(self) -> None:
        """Observers live in yrs and hold the core and its shadow: drop them, or neither is
        freed."""
        meta, subscription = self._meta_subscription
        meta.unobserve(subscription)
        self._shadow.close()
        self._sync_frames.close()

    def _on_meta_change(self, _event: object) -> None:
        self._meta_changed = True

    def refresh_settings(self) -> None:
        """After a transaction on the real doc: take the settings the server wrote into meta."""
        if not self._meta_changed:
            return
        self._meta_changed = False
        meta = self._doc.get(schema.META, type=Map)
        settings = meta.get("settings")
        if isinstance(settings, dict):
            # The phase rides along: posting follows it (crdt/rules.py `posting_phase`).
            phase = meta.get("phase")
            self._board.settings = {**schema.DEFAULT_SETTINGS, **settings, "phase": phase}

    # ------------------------------------------------------------------ connections

    def join(self, peer: P) -> Effects[P]:
        out: Effects[P] = Effects()
        if not self._refusal_budgets.allows(peer.budget_key):
            out.close(peer, CloseCode.FORBIDDEN, TOO_MANY_REFUSED)
            return out
        self._connections.add(peer)
        out.send(peer, self._sync_frames.step1())
        if self._awareness:
            out.send(peer, self._awareness.frame())
        return out

    def leave(self, peer: P) -> Effects[P]:
        out: Effects[P] = Effects()
        self._connections.discard(peer)
        gone = self._awareness.leave(peer.awareness_ids)
        if gone:
            frame = awareness.encode(gone)
            out.broadcast(frame, peer)
            out.publish(FanoutMessage(self._instance_id, "awareness", frame))
        return out

    # ------------------------------------------------------------------ incoming messages

    def receive(self, peer: P, frame: bytes) -> Effects[P]:
        """Handle one frame from `peer`. Never raises for bad input: closes `peer` instead."""
        out: Effects[P] = Effects()
        try:
            message = protocol.decode(frame)
        except protocol.ProtocolError as exc:
            out.close(peer, CloseCode.MALFORMED, f"malformed message: {exc}")
            return out
        match message:
            case protocol.SyncStep1(state_vector=sv):
                try:
                    answer = self._sync_frames.step2(sv)
                except ValueError:
                    out.close(peer, CloseCode.MALFORMED, "malformed state vector")
                    return out
                out.send(peer, answer)
            case protocol.SyncStep2(update=update) | protocol.Update(update=update):
                self._receive_update(peer, update, out)
            case protocol.Awareness(payload=payload):
                self._receive_awareness(peer, payload, out)
            case protocol.QueryAwareness():
                if self._awareness:
                    out.send(peer, self._awareness.frame())
            case protocol.Auth():
                out.close(peer, CloseCode.MALFORMED, "auth messages go from server to client")
        return out

    def _receive_update(self, peer: P, update: bytes, out: Effects[P]) -> None:
        if update == EMPTY_UPDATE:
            return  # e.g. the SyncStep2 answer of a client that has nothing new
        actor_id = peer.actor.id
        verdict = judge(
            self._shadow, update, peer.actor, self._board, self._client_owners, self._entry_before
        )
        for client in verdict.new_clients:
            self._client_owners[client] = actor_id
        match verdict.kind:
            case "malformed":
                if verdict.rebuild:
                    self.rebuild_shadow()
                self._malformed(peer, out, verdict.reason or "malformed update")
            case "refuse":
                self._refuse(peer, verdict.reason or "refused", out, rebuild=verdict.rebuild)
            case "compensate":
                self._refuse(peer, verdict.reason or "refused", out, rebuild=False)
                self._enqueue(
                    Accepted(
                        peer, actor_id, verdict.data, echo=True, new_clients=verdict.new_clients
                    )
                )
            case "accept":
                peer.refusals = 0
                if verdict.created:
                    self._board.record_created(verdict.created, actor_id)
                # deleted notes, created and deleted clusters
                self._board.record_changes(verdict.changes)
                self._enqueue(
                    Accepted(
                        peer,
                        actor_id,
                        verdict.data,
                        verdict.created,
                        echo=verdict.echo,
                        created_values=verdict.values,
                        deleted_notes=verdict.deleted,
                        new_clients=verdict.new_clients,
                        writers_before=verdict.writers_before,
                        changes=verdict.changes,
                    )
                )

    def _entry_before(self, root: str, item: str) -> dict[str, Any] | None:
        """An entry as the board had it before the refused update: committed, with what was
        accepted since on top."""
        since = (
            c
            for a in (*self._committing, *self._pending)
            for c in a.changes
            if c.item == item and c.root == root
        )
        entry = overlaid(self._committed_entry(root, item), since)
        if entry is not None and isinstance(entry.get("translations"), dict):
            entry["translations"] = Map(entry["translations"])  # a nested map, as clients write it
        return entry

    def _committed_entry(self, root: str, item: str) -> dict[str, Any] | None:
        value = self._doc.get(root, type=Map).get(item)
        if isinstance(value, Map):
            data = value.to_py()
            return dict(data) if isinstance(data, dict) else None
        return None

    def server_change(self, change: Callable[[schema.Board], None]) -> Accepted[P] | None:
        """A change made by the server itself (meta, results), queued like any update; None
        when it changes nothing."""
        update = self.shadow_write(change)
        if update is None:
            return None
        accepted: Accepted[P] = Accepted(None, "server", update)
        self._enqueue(accepted)
        return accepted

    def client_change(
        self, actor: Actor, change: Callable[[schema.Board], None]
    ) -> tuple[Accepted[P] | None, str | None]:
        """A write the server makes for a client (a translation sent over HTTP, a machine
        translation of a note): judged by the same rules, schema, `max_note_length` and board
        bounds as the client's own writes (crdt/rules.py, `actor`'s row). Returns the queued
        update (None when it changes nothing) or the refusal's reason, with nothing written."""
        before = self._shadow.doc.get_state()
        changes = self._shadow.write(lambda doc: change(schema.Board(doc)))
        update = self._shadow.doc.get_update(before)
        if update == EMPTY_UPDATE:
            return None, None
        refusal = rules.check(actor, changes, self._board, len(update))
        if refusal is not None:
            self.rebuild_shadow()  # yrs has no rollback: the shadow forgets the write
            return None, refusal.reason
        self._board.record_changes(changes)
        accepted: Accepted[P] = Accepted(None, actor.id, update, changes=changes)
        self._enqueue(accepted)
        return accepted, None

    def shadow_write(self, change: Callable[[schema.Board], None]) -> bytes | None:
        state = self._shadow.doc.get_state()
        self._shadow.write(lambda doc: change(schema.Board(doc)))
        update = self._shadow.doc.get_update(state)
        return None if update == EMPTY_UPDATE else update

    def _enqueue(self, accepted: Accepted[P]) -> None:
        self._pending.append(accepted)
        self._board.record_bytes(len(accepted.data))

    def _refuse(self, peer: P, reason: str, out: Effects[P], rebuild: bool = True) -> None:
        if rebuild:
            self.rebuild_shadow()
        peer.refusals += 1
        out.refuse(peer, reason)
        out.send(peer, protocol.encode(protocol.Auth(reason)))
        # (Every refusal spends, the one that closes too: a reconnect gets nothing for free.)
        within = self._refusal_budgets.of(peer.budget_key).spend()
        if peer.refusals >= self._max_refusals or not within:
            out.close(peer, CloseCode.FORBIDDEN, TOO_MANY_REFUSED)

    def cut_off(self, budget_key: str) -> Effects[P]:
        """A shared refusal budget is spent (on this process or others): close the connections
        that spend it here, and let the next refusal or socket here close at once."""
        out: Effects[P] = Effects()
        self._refusal_budgets.empty(budget_key)
        for peer in self._connections:
            if peer.budget_key == budget_key:
                out.close(peer, CloseCode.FORBIDDEN, TOO_MANY_REFUSED)
        return out

    def _malformed(self, peer: P, out: Effects[P], reason: str) -> None:
        log.info(
            "board %s: %s from %s:%s: closed",
            self._board_id,
            reason,
            peer.actor.role,
            peer.actor.id,
        )
        out.close(peer, CloseCode.MALFORMED, reason)

    def rebuild_shadow(self) -> None:
        """Shadow = committed doc + accepted-but-uncommitted updates, without the refused one."""
        shadow = ShadowDoc(self._doc.get_update(), roots=schema.ROOTS)
        for accepted in (*self._committing, *self._pending):
            shadow.apply(accepted.data)
        self._shadow.close()
        self._shadow = shadow
        self._own_shadow_client()

    def _own_shadow_client(self) -> None:
        """The shadow writes the server's changes and compensations: no client may use its id."""
        self._client_owners.setdefault(self._shadow.doc.client_id, "server")

    # ------------------------------------------------------------------ awareness

    def _receive_awareness(self, peer: P, payload: bytes, out: Effects[P]) -> None:
        anonymous = bool(self._board.settings.get("anonymous"))
        try:
            relayed = self._awareness.receive(peer.awareness_ids, peer.actor, anonymous, payload)
        except AwarenessRefused as refused:
            out.close(peer, refused.code, refused.reason)
            return
        if not relayed:
            return
        # Always re-encoded: what goes out is the stamped states, never the sender's bytes.
        frame = awareness.encode(relayed)
        out.broadcast(frame, peer)
        out.publish(FanoutMessage(self._instance_id, "awareness", frame))

    # ------------------------------------------------------------------ the driver's view

    def committed_doc(self) -> Doc[Any]:
        """The committed doc, for readers (HTTP routes, exports): never write into it."""
        return self._doc

    def board_state(self) -> BoardState:
        """The board's bookkeeping (authors, counts, settings), for readers."""
        return self._board

    def shadow_doc(self) -> ShadowDoc:
        """The shadow (committed doc + what is queued), for tests and measures: never write."""
        return self._shadow

    def peers(self) -> set[P]:
        """The connections joined, for the driver's broadcasts: never change the set."""
        return self._connections

    def has_failed(self) -> bool:
        """A commit failed: the board is no longer served from memory."""
        return self._failed

    def committed_seq(self) -> int:
        """The seq of the last update in the doc."""
        return self._last_seq

    def caught_up_to(self) -> int:
        """Every update with seq <= this is in the doc: a catch-up reads the log after it."""
        return self._caught_up_seq

    def pending_count(self) -> int:
        """Updates accepted and not yet taken by a commit (the driver's backpressure)."""
        return len(self._pending)

    def queued(self) -> tuple[Accepted[P], ...]:
        """Everything accepted and not yet committed: being committed, then pending."""
        return (*self._committing, *self._pending)

    def withdraw(self, accepted: Accepted[P]) -> None:
        """Take a queued server change back (the room failed before it was committed)."""
        self._pending.remove(accepted)

    def keyframe_due(self, every: int) -> bool:
        return self._updates_since_snapshot >= every

    def unsaved(self) -> bool:
        """Committed updates no keyframe holds yet (and the room can still write one)."""
        return bool(self._updates_since_snapshot) and not self._failed

    def keyframe_saved(self, keyframe: SnapshotRecord | None) -> None:
        """A keyframe was written (None: nothing new to write): the byte estimate is exact
        again, counted from it."""
        if keyframe is not None:
            self._snapshot_seq = keyframe.seq
            self._board.measured(len(keyframe.state) + sum(len(a.data) for a in self.queued()))
        self._updates_since_snapshot = 0

    # ------------------------------------------------------------------ group commit

    def take_batch(self) -> list[Accepted[P]]:
        """Everything pending, now being committed (the shadow still counts it)."""
        batch, self._pending = self._pending, []
        self._committing = batch
        return batch

    def nothing_committed(self) -> None:
        """The batch taken was empty (or emptied by the claims' answers)."""
        self._committing = []

    def claims_of(self, batch: Sequence[Accepted[P]]) -> ClaimRequest | None:
        """What this batch must claim across processes (None: nothing new)."""
        return settlement.claims_of(batch)

    def settle(
        self, batch: list[Accepted[P]], lost_clients: dict[int, str], lost_notes: dict[str, str]
    ) -> Effects[P]:
        """Apply the claims' answers to `batch` (changed in place) before it is stored: a
        connection writing under another token's client id loses what it sent and is closed; a
        note id created first elsewhere: this creation is undone (compensation queued in the
        batch, echoed to the sender, marked `lost` for the winner's process)."""
        out: Effects[P] = Effects()
        if lost_clients:
            self._client_owners.update(lost_clients)
            self._pending = settlement.drop_foreign_writers(
                batch, self._pending, lost_clients, self._board, out
            )
            self._committing = batch
            self.rebuild_shadow()
        if lost_notes:
            self._committing = batch
            settlement.undo_creations(
                batch, lost_notes, settlement.NOTE_ID_USED, *self._undo_parts(), out
            )
        return out

    def quota_asks(self, batch: Sequence[Accepted[P]]) -> list[QuotaAsk]:
        """What each participant's new notes in `batch` ask of the shared quota."""
        return settlement.quota_asks(batch, self._board, set(self._live_notes().keys()))

    def over_quota(self, batch: list[Accepted[P]], note_ids: Sequence[str]) -> Effects[P]:
        """Creations beyond the participant's quota across processes: undone on their sender."""
        out: Effects[P] = Effects()
        self._committing = batch
        settlement.over_quota(batch, note_ids, *self._undo_parts(), out)
        return out

    def _undo_parts(self) -> tuple[BoardState, Map[Any], settlement.Write, Doc[Any]]:
        """What undoing a creation reads and writes (server/live/settle.py)."""
        return self._board, self._live_notes(), self.shadow_write, self._doc

    def committed(self, batch: Sequence[Accepted[P]], last_seq: int) -> Effects[P]:
        """`batch` is stored (its last seq given): into the real doc, then to everyone."""
        out: Effects[P] = Effects()
        self._last_seq = last_seq
        self._updates_since_snapshot += len(batch)
        with self._doc.transaction(origin="commit"):
            for accepted in batch:
                self._doc.apply_update(accepted.data)
        self._sync_frames.release()
        self.refresh_settings()
        self._committing = []
        for chunk in _chunks(batch, MERGED_FRAME_BYTES):
            data = chunk[0].data if len(chunk) == 1 else merge_updates(*(a.data for a in chunk))
            senders = {a.sender for a in chunk}
            # A sender has its own update already; a frame merged from several senders goes to all.
            echo = any(a.echo for a in chunk)
            exclude = chunk[0].sender if len(senders) == 1 and not echo else None
            frame = protocol.encode(protocol.Update(data))
            out.broadcast(frame, exclude)
            created = tuple((note, a.actor_id) for a in chunk for note in a.created_notes)
            lost = tuple(entry for a in chunk for entry in a.lost)
            out.publish(
                FanoutMessage(self._instance_id, "update", frame, last_seq, created, lost=lost)
            )
        return out

    def commit_failed(self, batch: Sequence[Accepted[P]]) -> Effects[P]:
        """Nothing of `batch` reached anyone: every client must resync against the store."""
        out: Effects[P] = Effects()
        self._failed = True
        self._committing = []
        for peer in self._connections:
            out.close(peer, CloseCode.INTERNAL_ERROR, "storage error: please reconnect")
        return out

    def keyframe(self) -> SnapshotRecord:
        """Alone, a room's live doc is exactly its committed log."""
        return SnapshotRecord(self._last_seq, time.time(), self._doc.get_update())

    # ------------------------------------------------------------------ other processes

    def receive_remote(self, message: FanoutMessage) -> Effects[P]:
        """A frame another process committed (update) or received (awareness): apply and relay.
        Never stored, never republished."""
        out: Effects[P] = Effects()
        try:
            decoded = protocol.decode(message.frame)
        except protocol.ProtocolError:
            return out
        if isinstance(decoded, protocol.Update) and message.kind == "update":
            # Lost-note repair (server/live/settle.py): what the update may displace, checked after.
            contested = (
                settlement.contested(self._live_notes(), self._board, message.lost)
                if message.lost
                else {}
            )
            self.apply_remote_updates([decoded.update], message.last_seq, dict(message.created))
            out.broadcast(message.frame, None)
            repair = settlement.displaced(self._live_notes(), contested) if contested else None
            if repair is not None:
                self.server_change(repair)
        elif (
            isinstance(decoded, protocol.Awareness)
            and message.kind == "awareness"
            and self._awareness.apply_remote(decoded.payload)
        ):
            out.broadcast(message.frame, None)
        return out

    def apply_remote_updates(
        self, updates: Sequence[bytes], last_seq: int, authors: dict[str, str] | None = None
    ) -> None:
        """Committed elsewhere: into the real doc and the shadow (idempotent: Yjs ignores what
        it has), and into the board's bookkeeping (server/live/settle.py `count_remote`)."""
        with self._doc.transaction(origin="fanout"):
            for update in updates:
                self._doc.apply_update(update)
        self._sync_frames.release()
        self.refresh_settings()
        settlement.count_remote(self._board, self._shadow, updates, authors or {})
        self._last_seq = max(self._last_seq, last_seq)

    def apply_log(self, records: Sequence[UpdateRecord], authors: dict[str, str]) -> Effects[P]:
        """A catch-up: committed updates read from the log; clients get what was new to us."""
        out: Effects[P] = Effects()
        if not records:
            return out
        before = self._doc.get_state()
        self.apply_remote_updates([r.data for r in records], records[-1].seq, authors)
        self._caught_up_seq = max(self._caught_up_seq, records[-1].seq)
        missed = self._doc.get_update(before)
        if missed != EMPTY_UPDATE:
            out.broadcast(protocol.encode(protocol.Update(missed)), None)
        return out

    def _live_notes(self) -> Map[Any]:
        """The notes as the board will have them once what is queued is stored."""
        notes: Map[Any] = self._shadow.doc.get(schema.NOTES, type=Map)
        return notes

    def has_note(self, note_id: str) -> bool:
        return note_id in self._doc.get(schema.NOTES, type=Map)


def _chunks(batch: Sequence[Accepted[P]], max_bytes: int) -> list[list[Accepted[P]]]:
    chunks: list[list[Accepted[P]]] = [[]]
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


__all__ = [
    "Accepted",
    "ClaimRequest",
    "Effects",
    "Peer",
    "RoomCore",
    "board_state_from",
]
