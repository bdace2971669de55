"""One board's decisions, sans I/O (as h11 and websockets' protocol objects): bytes in, effects out.

`RoomCore` takes (connection, frame) and returns `Effects`: frames to send to one connection,
frames to send to every connection (but one), messages to publish to the other processes,
connections to close (code, reason), refusals to log. What must be stored waits in `pending`;
the driver takes a batch (`take_batch`), stores it, and reports back (`committed`, or
`commit_failed`). No asyncio, no storage, no sockets here: server/rooms.py drives it.

The path of an incoming update (`receive`, synchronous):
  1. apply it to the shadow doc and read what it writes (crdt.shadow);
  2. judge it for the sender's role (crdt.rules); a forbidden write is undone, not dropped: the
     server's compensation is queued with it, and the net result goes to everyone, the sender
     included, so every client converges by itself; the sender is told why (auth message);
  3. queue it (`pending`) for the driver's group commit.
`committed` applies a stored batch to the real doc and encodes ONE merged frame per chunk, for
every connection and for the fan-out. The real doc holds committed state only.

With several processes, two things are decided across them (server/scale/claims.py, by the driver,
between `take_batch` and the store): which token first wrote under a Yjs client id, and which
creation of a note id came first. `claims_of` says what a batch claims; `settle` applies the
answers: a connection writing under another token's client id loses what it sent and is closed;
a creation that lost its note id is undone on its sender and marked `lost` in the fan-out, so the
process holding the winner puts the winner's note back if the loser's structs displaced it
(Yjs resolves two creations of one key by client id, not by who came first).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pycrdt import Doc, Map, merge_updates

from crdt import protocol, rules, schema, updates
from crdt.protocol import CloseCode
from crdt.rules import Actor, BoardState
from crdt.shadow import CannotUndo, Change, ForeignDelete, PendingUpdate, ShadowDoc, overlaid
from crdt.sync import SyncFrames
from server.fanout.base import FanoutMessage
from server.refusals import RefusalBudgets
from server.store.base import SnapshotRecord, UpdateRecord

log = logging.getLogger(__name__)

EMPTY_UPDATE = b"\x00\x00"
# Updates committed together go out as one merged frame, up to this size (then several frames),
# so a burst never becomes one frame larger than clients accept.
MERGED_FRAME_BYTES = 256 * 1024
# A browser tab speaks for one awareness client id (a few after reloads); a state is a cursor, a
# name, a colour. Bounds keep one connection from filling the server's awareness table.
MAX_AWARENESS_IDS = 8
MAX_AWARENESS_BYTES = 64 * 1024
MAX_AWARENESS_STATE_BYTES = 4096  # one client's presence (cursor, name, colour), as JSON

FOREIGN_CLIENT = "that Yjs client id belongs to someone else"
TOO_MANY_REFUSED = "too many refused changes"
NOTE_ID_USED = "that note id was already used"


class Peer:
    """What the core knows of one connection. The driver's connection class extends it."""

    __slots__ = ("actor", "awareness_ids", "budget_key", "refusals")

    def __init__(self, actor: Actor, budget_key: str | None = None) -> None:
        self.actor = actor
        # Whose refusal budget this connection spends: its participant's (or the facilitator's);
        # every viewer shares one token, so the driver gives viewers one per address instead,
        # or one hostile viewer would cut off every projector.
        self.budget_key = budget_key or actor.id
        self.awareness_ids: set[int] = set()  # awareness client ids this connection speaks for
        self.refusals = 0  # refused updates in a row (over time: the actor's RefusalBudget)


P = TypeVar("P", bound=Peer)


@dataclass(slots=True)
class Accepted(Generic[P]):
    """An update to store, then send. `waiter` is the driver's (e.g. a future), opaque here."""

    sender: P | None
    actor_id: str
    data: bytes
    created_notes: tuple[str, ...] = ()
    ts: float = field(default_factory=time.time)
    echo: bool = False  # also send it to its sender (a compensated update: the sender lacks it)
    waiter: Any = None
    created_values: dict[str, Any] = field(default_factory=dict)  # note id -> content as created
    deleted_notes: tuple[str, ...] = ()
    new_clients: tuple[int, ...] = ()  # Yjs client ids this update is the first to use here
    lost: tuple[tuple[str, str], ...] = ()  # (note id, creator): creations that lost the id
    writers_before: dict[int, int] | None = None  # for creations: writers' clocks before it
    changes: Sequence[Change] = ()  # what it changed (an entry re-created later starts from it)


class Effects(Generic[P]):
    """What the driver must do, in this order: sends, broadcasts, publishes, closes. Each list
    is created on its first entry (most frames need one effect or none): test for emptiness."""

    __slots__ = ("broadcasts", "closes", "publishes", "refusals", "sends")

    def __init__(self) -> None:
        self.sends: list[tuple[P, bytes]] = _NONE
        self.broadcasts: list[tuple[bytes, P | None]] = _NONE  # (frame, connection left out)
        self.publishes: list[FanoutMessage] = _NONE
        self.closes: list[tuple[P, int, str]] = _NONE
        self.refusals: list[tuple[P, str]] = _NONE  # (connection, reason): for logs and metrics

    def send(self, peer: P, frame: bytes) -> None:
        if not self.sends:
            self.sends = []
        self.sends.append((peer, frame))

    def broadcast(self, frame: bytes, exclude: P | None) -> None:
        if not self.broadcasts:
            self.broadcasts = []
        self.broadcasts.append((frame, exclude))

    def publish(self, message: FanoutMessage) -> None:
        if not self.publishes:
            self.publishes = []
        self.publishes.append(message)

    def close(self, peer: P, code: int, reason: str) -> None:
        if not self.closes:
            self.closes = []
        self.closes.append((peer, code, reason))

    def refuse(self, peer: P, reason: str) -> None:
        if not self.refusals:
            self.refusals = []
        self.refusals.append((peer, reason))


# The shared "no effect" value of every Effects list until its first entry (never appended to).
_NONE: Any = ()


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """What a batch claims: first-used Yjs client ids and created note ids, with their actor."""

    clients: dict[int, str]
    notes: dict[str, str]


class RoomCore(Generic[P]):
    def __init__(
        self,
        board_id: str,
        board: BoardState,
        instance_id: str = "local",
        max_refusals: int = 10,
    ) -> None:
        self.board_id = board_id
        self.board = board
        self.instance_id = instance_id
        self.max_refusals = max_refusals
        self.doc: Doc[Any] = Doc()
        for root in schema.ROOTS:
            self.doc.get(root, type=Map)
        # The rules read the settings the server wrote into `meta` (on every process alike).
        meta: Map[Any] = self.doc.get(schema.META, type=Map)
        # (Reading the doc inside an observer would re-enter its transaction: just mark it.)
        self._meta_changed = False
        self._meta_subscription = (meta, meta.observe(self._on_meta_change))
        self.shadow = ShadowDoc(roots=schema.ROOTS)
        # What joiners get is encoded once per change of the doc, not once per joiner.
        self.sync_frames = SyncFrames(self.doc)
        self.connections: set[P] = set()
        # Yjs client id -> the actor that first wrote with it (nobody may write under another's)
        self.client_owners: dict[int, str] = {self.shadow.doc.client_id: "server"}
        # awareness client id -> (clock, state JSON); the server's own state is never set
        self.awareness: dict[int, tuple[int, Any]] = {}
        self.pending: list[Accepted[P]] = []  # accepted, waiting for the next commit
        self.committing: list[Accepted[P]] = []  # taken by the driver, not yet committed
        self.failed = False
        self.last_seq = 0
        # Every update with seq <= this is in the doc: a catch-up reads the log after it (not
        # after last_seq: our own commits during a fan-out outage move last_seq past the others').
        self.caught_up_seq = 0
        self.snapshot_seq = 0
        self.updates_since_snapshot = 0
        # Refused updates over time, per actor (a participant, not a socket: reconnecting does
        # not refill it). With several processes the driver also spends a shared one.
        self.refusal_budgets = RefusalBudgets()

    # ------------------------------------------------------------------ life cycle

    def load(self, snapshot: SnapshotRecord | None, tail: Sequence[UpdateRecord]) -> None:
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
        # The byte bound: exact now, then estimated from above (crdt/rules.py BoardState).
        self.board.measure = lambda: len(self.shadow.doc.get_update())
        notes, clusters = (self.doc.get(root, type=Map) for root in schema.ROOTS[:2])
        self.board.loaded(len(state), list(notes), len(clusters))
        self.board.live_terms = len(self.doc.get(schema.GLOSSARY, type=Map))

    def close(self) -> None:
        """Observers live in yrs and hold the core and its shadow: drop them, or neither is
        freed."""
        meta, subscription = self._meta_subscription
        meta.unobserve(subscription)
        self.shadow.close()
        self.sync_frames.close()

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

    # ------------------------------------------------------------------ connections

    def join(self, peer: P) -> Effects[P]:
        out: Effects[P] = Effects()
        if not self.refusal_budgets.allows(peer.budget_key):
            out.close(peer, CloseCode.FORBIDDEN, TOO_MANY_REFUSED)
            return out
        self.connections.add(peer)
        out.send(peer, self.sync_frames.step1())
        if self.awareness:
            out.send(peer, self._awareness_frame(list(self.awareness)))
        return out

    def leave(self, peer: P) -> Effects[P]:
        out: Effects[P] = Effects()
        self.connections.discard(peer)
        gone = [cid for cid in peer.awareness_ids if cid in self.awareness]
        if gone:
            states = []
            for cid in gone:
                clock, _ = self.awareness.pop(cid)
                states.append(protocol.AwarenessState(cid, clock + 1, None))
            frame = protocol.encode(protocol.Awareness(protocol.encode_awareness(states)))
            out.broadcast(frame, peer)
            out.publish(FanoutMessage(self.instance_id, "awareness", frame))
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
                    answer = self.sync_frames.step2(sv)
                except ValueError:
                    out.close(peer, CloseCode.MALFORMED, "malformed state vector")
                    return out
                out.send(peer, answer)
            case protocol.SyncStep2(update=update) | protocol.Update(update=update):
                self._receive_update(peer, update, out)
            case protocol.Awareness(payload=payload):
                self._receive_awareness(peer, payload, out)
            case protocol.QueryAwareness():
                if self.awareness:
                    out.send(peer, self._awareness_frame(list(self.awareness)))
            case protocol.Auth():
                out.close(peer, CloseCode.MALFORMED, "auth messages go from server to client")
        return out

    def _receive_update(self, peer: P, update: bytes, out: Effects[P]) -> None:
        if update == EMPTY_UPDATE:
            return  # e.g. the SyncStep2 answer of a client that has nothing new
        actor_id = peer.actor.id
        # Missing dependencies, deletes of clocks nobody holds, another's client id: decided from
        # the update's bytes before the shadow sees it, so such a refusal needs no O(board)
        # rebuild (a storm of them would stall the board). The checks after `apply` stay as a net.
        info: updates.UpdateInfo | None
        try:
            info = updates.parse(update)
        except protocol.ProtocolError:
            info = None  # yrs decides below (a malformed update is closed)
        if info is not None and info.empty_section:
            self._malformed(peer, out, "malformed update: a client section with no structs")
            return
        # (On the shadow's clocks, which may lag for its own client: a refusal is decided again
        # on exact ones, O(clients), a cost only refusals pay.)
        owners = self.client_owners
        reason: str | None = None
        for exact in (False, True):
            if info is None:
                break
            reason, precheck_writers = updates.judge(info, self.shadow.state_vector(exact))
            if reason is None and any(
                owners.get(c, actor_id) != actor_id for c in precheck_writers
            ):
                reason = FOREIGN_CLIENT
            if reason is None:
                break
        if reason is not None:
            self._refuse(peer, reason, out, rebuild=False)
            return
        try:
            changes = self.shadow.apply(update, info)
        except (PendingUpdate, ForeignDelete) as exc:
            self._refuse(peer, str(exc), out)
            return
        except (ValueError, RuntimeError):  # (a yrs panic comes as MalformedUpdate)
            self._rebuild_shadow()
            self._malformed(peer, out, "malformed update")
            return
        writers = self.shadow.writers
        if any(owners.get(client, actor_id) != actor_id for client in writers):
            self._refuse(peer, FOREIGN_CLIENT, out)
            return
        new_clients: tuple[int, ...] = ()
        if any(client not in owners for client in writers):
            new_clients = tuple(client for client in writers if client not in owners)
            for client in new_clients:
                owners[client] = actor_id
        refusal = rules.check(peer.actor, changes, self.board, len(update))
        if refusal is not None:
            # Undo it rather than drop it: the update's structs are kept (deleted, their content
            # garbage-collected) with a server compensation, so the sender converges by itself
            # and its later updates do not depend on anything missing.
            try:
                net = self.shadow.undo(changes, self._entry_before)
            except CannotUndo:
                self._refuse(peer, refusal.reason, out)
                return
            self._refuse(peer, refusal.reason, out, rebuild=False)
            self._enqueue(Accepted(peer, actor_id, net, echo=True, new_clients=new_clients))
            return
        peer.refusals = 0
        removed = rules.soft_deleted(changes)
        if removed:
            # Deleting is a field: the entry itself goes in the same step, so its content is
            # garbage-collected out of what is stored and sent from now on.
            changes = [*changes, *self.shadow.write(_removing(removed))]
        created: list[str] = []
        values: dict[str, Any] = {}
        deleted: list[str] = []
        for change in changes:
            if change.root != schema.NOTES or not change.item:
                continue
            if change.action == "create":
                created.append(change.item)
                values[change.item] = change.value
            elif change.action == "delete":
                deleted.append(change.item)
        if created:
            self.board.record_created(created, actor_id)
        self.board.record_changes(changes)  # deleted notes, created and deleted clusters
        data, echo = update, False
        if self.shadow.unseen or not changes or removed:
            # Writes that lost a concurrent write, or went into something already deleted, are
            # harmless no-ops but their bytes hold their content: store and send the shadow's
            # encoding instead (that content garbage-collected), to the sender too (who also
            # lacks the removal of what it marked deleted).
            data, echo = self.shadow.net_update(), True
        self._enqueue(
            Accepted(
                peer,
                actor_id,
                data,
                tuple(created),
                echo=echo,
                created_values=values,
                deleted_notes=tuple(deleted),
                new_clients=new_clients,
                writers_before=dict(self.shadow.writers_before) if created else None,
                changes=changes,
            )
        )

    def _entry_before(self, root: str, item: str) -> dict[str, Any] | None:
        """An entry as the board had it before the refused update: committed, with what was
        accepted since on top."""
        since = (
            c
            for a in (*self.committing, *self.pending)
            for c in a.changes
            if c.item == item and c.root == root
        )
        entry = overlaid(self._committed_entry(root, item), since)
        if entry is not None and isinstance(entry.get("translations"), dict):
            entry["translations"] = Map(entry["translations"])  # a nested map, as clients write it
        return entry

    def _committed_entry(self, root: str, item: str) -> dict[str, Any] | None:
        value = self.doc.get(root, type=Map).get(item)
        if isinstance(value, Map):
            data = value.to_py()
            return dict(data) if isinstance(data, dict) else None
        return None

    def server_change(self, change: Callable[[schema.Board], None]) -> Accepted[P] | None:
        """A change made by the server itself (meta, results), queued like any update; None
        when it changes nothing."""
        update = self._shadow_write(change)
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
        before = self.shadow.doc.get_state()
        changes = self.shadow.write(lambda doc: change(schema.Board(doc)))
        update = self.shadow.doc.get_update(before)
        if update == EMPTY_UPDATE:
            return None, None
        refusal = rules.check(actor, changes, self.board, len(update))
        if refusal is not None:
            self._rebuild_shadow()  # yrs has no rollback: the shadow forgets the write
            return None, refusal.reason
        self.board.record_changes(changes)
        accepted: Accepted[P] = Accepted(None, actor.id, update, changes=changes)
        self._enqueue(accepted)
        return accepted, None

    def _shadow_write(self, change: Callable[[schema.Board], None]) -> bytes | None:
        state = self.shadow.doc.get_state()
        change(schema.Board(self.shadow.doc))
        update = self.shadow.doc.get_update(state)
        return None if update == EMPTY_UPDATE else update

    def _enqueue(self, accepted: Accepted[P]) -> None:
        self.pending.append(accepted)
        self.board.record_bytes(len(accepted.data))

    def _refuse(self, peer: P, reason: str, out: Effects[P], rebuild: bool = True) -> None:
        if rebuild:
            self._rebuild_shadow()
        peer.refusals += 1
        out.refuse(peer, reason)
        out.send(peer, protocol.encode(protocol.Auth(reason)))
        # (Every refusal spends, the one that closes too: a reconnect gets nothing for free.)
        within = self.refusal_budgets.of(peer.budget_key).spend()
        if peer.refusals >= self.max_refusals or not within:
            out.close(peer, CloseCode.FORBIDDEN, TOO_MANY_REFUSED)

    def cut_off(self, budget_key: str) -> Effects[P]:
        """A shared refusal budget is spent (on this process or others): close the connections
        that spend it here, and let the next refusal or socket here close at once."""
        out: Effects[P] = Effects()
        self.refusal_budgets.empty(budget_key)
        for peer in self.connections:
            if peer.budget_key == budget_key:
                out.close(peer, CloseCode.FORBIDDEN, TOO_MANY_REFUSED)
        return out

    def _malformed(self, peer: P, out: Effects[P], reason: str) -> None:
        log.info(
            "board %s: %s from %s:%s: closed",
            self.board_id,
            reason,
            peer.actor.role,
            peer.actor.id,
        )
        out.close(peer, CloseCode.MALFORMED, reason)

    def _rebuild_shadow(self) -> None:
        """Shadow = committed doc + accepted-but-uncommitted updates, without the refused one."""
        shadow = ShadowDoc(self.doc.get_update(), roots=schema.ROOTS)
        for accepted in (*self.committing, *self.pending):
            shadow.apply(accepted.data)
        self.shadow.close()
        self.shadow = shadow
        self._own_shadow_client()

    def _own_shadow_client(self) -> None:
        """The shadow writes the server's changes and compensations: no client may use its id."""
        self.client_owners.setdefault(self.shadow.doc.client_id, "server")

    # ------------------------------------------------------------------ awareness

    def _receive_awareness(self, peer: P, payload: bytes, out: Effects[P]) -> None:
        if len(payload) > MAX_AWARENESS_BYTES:
            out.close(peer, CloseCode.TOO_LARGE, f"awareness over {MAX_AWARENESS_BYTES} bytes")
            return
        try:
            states = protocol.decode_awareness(payload)
        except protocol.ProtocolError as exc:
            out.close(peer, CloseCode.MALFORMED, f"malformed awareness: {exc}")
            return
        states = [self._stamp(peer, entry) for entry in states]
        if any(
            entry.state is not None and len(json.dumps(entry.state)) > MAX_AWARENESS_STATE_BYTES
            for entry in states
        ):
            out.close(peer, CloseCode.TOO_LARGE, f"presence over {MAX_AWARENESS_STATE_BYTES} bytes")
            return
        relayed = []
        for entry in states:
            if entry.client_id not in peer.awareness_ids:
                if entry.client_id in self.awareness:
                    continue  # another connection speaks for this id: ignore it
                if len(peer.awareness_ids) >= MAX_AWARENESS_IDS:
                    out.close(peer, CloseCode.MALFORMED, "too many awareness client ids")
                    return
                peer.awareness_ids.add(entry.client_id)
            current = self.awareness.get(entry.client_id)
            if current is not None and entry.clock < current[0]:
                continue
            relayed.append(entry)
            if entry.state is None:
                self.awareness.pop(entry.client_id, None)
                peer.awareness_ids.discard(entry.client_id)
            else:
                self.awareness[entry.client_id] = (entry.clock, entry.state)
        if not relayed:
            return
        # Always re-encoded: what goes out is the stamped states, never the sender's bytes.
        frame = protocol.encode(protocol.Awareness(protocol.encode_awareness(relayed)))
        out.broadcast(frame, peer)
        out.publish(FanoutMessage(self.instance_id, "awareness", frame))

    def _stamp(self, peer: P, entry: protocol.AwarenessState) -> protocol.AwarenessState:
        """The server, not the client, says who is present: `user.role` comes from the token,
        and on an anonymous board a participant's presence carries no name or group."""
        state = entry.state
        if not isinstance(state, dict):
            return entry
        actor = peer.actor
        user = state.get("user")
        user = dict(user) if isinstance(user, dict) else {}
        if self.board.settings.get("anonymous") and actor.role != "facilitator":
            user.pop("name", None)
            user.pop("group", None)
        elif actor.name is not None:
            user["name"] = actor.name
        elif actor.role == "viewer":
            user.pop("name", None)  # a viewer has no name (it cannot pass for the facilitator)
            user.pop("group", None)
        user["role"] = actor.role
        return protocol.AwarenessState(entry.client_id, entry.clock, {**state, "user": user})

    def _awareness_frame(self, client_ids: list[int]) -> bytes:
        states = [
            protocol.AwarenessState(cid, *self.awareness[cid])
            for cid in client_ids
            if cid in self.awareness
        ]
        return protocol.encode(protocol.Awareness(protocol.encode_awareness(states)))

    # ------------------------------------------------------------------ group commit

    def take_batch(self) -> list[Accepted[P]]:
        """Everything pending, now being committed (the shadow still counts it)."""
        batch, self.pending = self.pending, []
        self.committing = batch
        return batch

    def claims_of(self, batch: Sequence[Accepted[P]]) -> ClaimRequest | None:
        """What this batch must claim across processes (None: nothing new)."""
        clients = {c: a.actor_id for a in batch if a.sender is not None for c in a.new_clients}
        notes = {n: a.actor_id for a in batch for n in a.created_notes}
        return ClaimRequest(clients, notes) if clients or notes else None

    def settle(
        self, batch: list[Accepted[P]], lost_clients: dict[int, str], lost_notes: dict[str, str]
    ) -> Effects[P]:
        """Apply the claims' answers to `batch` (changed in place) before it is stored.

        A client id another token claimed first: everything its connection sent since is
        dropped (its structs never reach anyone) and the connection closed. A note id created
        first elsewhere: this creation is undone (compensation queued in the batch, echoed to
        the sender, marked `lost` for the winner's process); the note is the winner's."""
        out: Effects[P] = Effects()
        if lost_clients:
            intruders = {a.sender for a in batch if set(a.new_clients) & set(lost_clients)}
            intruders.discard(None)
            for client, owner in lost_clients.items():
                self.client_owners[client] = owner
            dropped = [a for a in (*batch, *self.pending) if a.sender in intruders]
            batch[:] = [a for a in batch if a.sender not in intruders]
            self.pending = [a for a in self.pending if a.sender not in intruders]
            self.committing = batch
            for accepted in dropped:
                self._forget(accepted)
            self._rebuild_shadow()
            for peer in intruders:
                assert peer is not None
                out.refuse(peer, FOREIGN_CLIENT)
                out.close(peer, CloseCode.FORBIDDEN, FOREIGN_CLIENT)
        if lost_notes:
            self._undo_creations(batch, lost_notes, NOTE_ID_USED, out)
        return out

    def quota_requests(self, batch: Sequence[Accepted[P]]) -> dict[str, list[str]]:
        """The notes each participant's updates in `batch` create (what the quota counts)."""
        requests: dict[str, list[str]] = {}
        for accepted in batch:
            sender = accepted.sender
            if sender is not None and sender.actor.role == "participant" and accepted.created_notes:
                requests.setdefault(accepted.actor_id, []).extend(accepted.created_notes)
        return requests

    def live_notes(self) -> Map[Any]:
        """The notes as the board will have them once what is queued is stored."""
        notes: Map[Any] = self.shadow.doc.get(schema.NOTES, type=Map)
        return notes

    def over_quota(self, batch: list[Accepted[P]], note_ids: Sequence[str]) -> Effects[P]:
        """Creations beyond the participant's quota across processes (server/scale/quotas.py):
        undone on their sender (compensation queued in `batch`) with the quota's reason."""
        out: Effects[P] = Effects()
        limit = int(self.board.settings.get("max_notes_per_participant", 50))
        self._undo_creations(
            batch, dict.fromkeys(note_ids), f"at most {limit} notes per person", out
        )
        return out

    def _undo_creations(
        self,
        batch: list[Accepted[P]],
        undone: Mapping[str, str | None],
        reason: str,
        out: Effects[P],
    ) -> None:
        """Undo these creations in `batch` (note id -> the owner who won its id elsewhere, or
        None when it is simply refused), telling each sender why."""
        notes: Map[Any] = self.shadow.doc.get(schema.NOTES, type=Map)
        for accepted in list(batch):
            mine = [n for n in accepted.created_notes if n in undone]
            if not mine:
                continue
            loser = accepted.actor_id
            accepted.created_notes = tuple(n for n in accepted.created_notes if n not in mine)
            accepted.lost = tuple((n, loser) for n in mine if undone[n] is not None)
            for note_id in mine:
                self.board.record_deleted(note_id)
                winner = undone[note_id]
                if winner is not None:
                    self.board.record_created([note_id], winner)
            # Delete only what is this creation's: the winner's may already be visible here.
            visible = [
                n
                for n in mine
                if isinstance(notes.get(n), Map) and _plain(notes[n]) == accepted.created_values[n]
            ]
            compensation = self._shadow_write(_deleting(visible))
            # Stored and sent as the shadow now holds it: the loser's content collected.
            if accepted.writers_before is not None:
                accepted.data = self.shadow.written_since(accepted.writers_before)
                accepted.echo = True
            if compensation is not None:
                batch.insert(
                    batch.index(accepted) + 1,
                    Accepted(accepted.sender, "server", compensation, echo=True),
                )
            if accepted.sender is not None:
                peer = accepted.sender
                out.refuse(peer, reason)
                out.send(peer, protocol.encode(protocol.Auth(reason)))
        self.committing = batch

    def _forget(self, accepted: Accepted[P]) -> None:
        """Take a dropped update out of the board's bookkeeping."""
        board = self.board
        for note_id in accepted.created_notes:
            if board.note_authors.get(note_id) == accepted.actor_id:
                board.record_deleted(note_id)
                del board.note_authors[note_id]
        for note_id in accepted.deleted_notes:
            author = board.note_authors.get(note_id)
            if author is not None:
                board.notes_by_actor[author] = board.notes_by_actor.get(author, 0) + 1
                board.live_notes += 1

    def committed(self, batch: Sequence[Accepted[P]], last_seq: int) -> Effects[P]:
        """`batch` is stored (its last seq given): into the real doc, then to everyone."""
        out: Effects[P] = Effects()
        self.last_seq = last_seq
        self.updates_since_snapshot += len(batch)
        with self.doc.transaction(origin="commit"):
            for accepted in batch:
                self.doc.apply_update(accepted.data)
        self._refresh_settings()
        self.committing = []
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
                FanoutMessage(self.instance_id, "update", frame, last_seq, created, lost=lost)
            )
        return out

    def commit_failed(self, batch: Sequence[Accepted[P]]) -> Effects[P]:
        """Nothing of `batch` reached anyone: every client must resync against the store."""
        out: Effects[P] = Effects()
        self.failed = True
        self.committing = []
        for peer in self.connections:
            out.close(peer, CloseCode.INTERNAL_ERROR, "storage error: please reconnect")
        return out

    def keyframe(self) -> SnapshotRecord:
        """Alone, a room's live doc is exactly its committed log."""
        return SnapshotRecord(self.last_seq, time.time(), self.doc.get_update())

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
            notes: Map[Any] = self.shadow.doc.get(schema.NOTES, type=Map)
            # Creations that lost their note id elsewhere: if their structs displace the
            # winner's note here (a higher Yjs client id wins a key), put the winner's back.
            contested = {
                n: _plain(notes[n])
                for n, loser in message.lost
                if self.board.note_authors.get(n, loser) != loser and isinstance(notes.get(n), Map)
            }
            self.apply_remote_updates([decoded.update], message.last_seq, dict(message.created))
            out.broadcast(message.frame, None)
            displaced = {
                n: before
                for n, before in contested.items()
                if not isinstance(notes.get(n), Map) or _plain(notes[n]) != before
            }
            if displaced:
                self.server_change(_restoring(displaced))
        elif isinstance(decoded, protocol.Awareness) and message.kind == "awareness":
            try:
                states = protocol.decode_awareness(decoded.payload)
            except protocol.ProtocolError:
                return out
            for entry in states:
                current = self.awareness.get(entry.client_id)
                if current is not None and entry.clock < current[0]:
                    continue
                if entry.state is None:
                    self.awareness.pop(entry.client_id, None)
                else:
                    self.awareness[entry.client_id] = (entry.clock, entry.state)
            out.broadcast(message.frame, None)
        return out

    def apply_remote_updates(
        self, updates: Sequence[bytes], last_seq: int, authors: dict[str, str] | None = None
    ) -> None:
        """Committed elsewhere: into the real doc and the shadow (idempotent: Yjs ignores what it
        has). The shadow skips the missing-dependency check: the other process checked. Notes
        created and deleted there count here too (`authors`: note id -> creator)."""
        with self.doc.transaction(origin="fanout"):
            for update in updates:
                self.doc.apply_update(update)
        self._refresh_settings()
        authors = authors or {}
        board = self.board
        for note_id, actor in authors.items():
            if note_id not in board.note_authors:
                board.record_created([note_id], actor)
        for update in updates:
            board.record_bytes(len(update))
            board.record_changes(self.shadow.apply_trusted(update))
        self.last_seq = max(self.last_seq, last_seq)

    def apply_log(self, records: Sequence[UpdateRecord], authors: dict[str, str]) -> Effects[P]:
        """A catch-up: committed updates read from the log; clients get what was new to us."""
        out: Effects[P] = Effects()
        if not records:
            return out
        before = self.doc.get_state()
        self.apply_remote_updates([r.data for r in records], records[-1].seq, authors)
        self.caught_up_seq = max(self.caught_up_seq, records[-1].seq)
        missed = self.doc.get_update(before)
        if missed != EMPTY_UPDATE:
            out.broadcast(protocol.encode(protocol.Update(missed)), None)
        return out

    def has_note(self, note_id: str) -> bool:
        return note_id in self.doc.get(schema.NOTES, type=Map)


def _removing(entries: Sequence[tuple[str, str]]) -> Callable[[Doc[Any]], None]:
    def remove(doc: Doc[Any]) -> None:
        for root, item in entries:
            parent: Map[Any] = doc.get(root, type=Map)
            if item in parent:
                del parent[item]

    return remove


def _deleting(note_ids: Sequence[str]) -> Callable[[schema.Board], None]:
    def delete(board: schema.Board) -> None:
        for note_id in note_ids:
            del board.notes_map[note_id]

    return delete


def _restoring(notes: dict[str, Any]) -> Callable[[schema.Board], None]:
    def restore(board: schema.Board) -> None:
        for note_id, content in notes.items():
            board.notes_map[note_id] = Map(content)

    return restore


def _plain(value: Any) -> Any:
    return value.to_py() if isinstance(value, Map) else value


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
