"""What a room settles with the other processes of its board (`REDIS_URL`), sans I/O.

Two things are decided across processes (server/scale/claims.py, server/scale/quotas.py, by the
driver between `take_batch` and the store): which token first wrote under a Yjs client id, and which
creation of a note id came first; and each participant's note quota. `claims_of` and
`quota_asks` say what a batch asks; `settle_claims` and `over_quota` apply the answers: a
connection writing under another token's client id loses what it sent and is closed; a creation
that lost its note id, or is over the quota, is undone on its sender (and, for a lost id, marked
`lost` in the fan-out, so the process holding the winner puts the winner's note back if the
loser's structs displaced it: Yjs resolves two creations of one key by client id, not by who came
first). Remote apply: what another process committed (fan-out) or what the log holds (catch-up)
goes into the real doc and the shadow, and into the board's bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pycrdt import Map

from crdt import protocol, schema
from crdt.judge import EMPTY_UPDATE, FOREIGN_CLIENT
from crdt.protocol import CloseCode
from crdt.rules import BoardState
from crdt.shadow import ShadowDoc
from server.fanout.base import FanoutMessage
from server.live.effects import Accepted, ClaimRequest, Effects, P, QuotaAsk
from server.store.base import UpdateRecord

if TYPE_CHECKING:
    from server.live.core import RoomCore

NOTE_ID_USED = "that note id was already used"


def claims_of(batch: Sequence[Accepted[P]]) -> ClaimRequest | None:
    """What this batch must claim across processes (None: nothing new)."""
    clients = {c: a.actor_id for a in batch if a.sender is not None for c in a.new_clients}
    notes = {n: a.actor_id for a in batch for n in a.created_notes}
    return ClaimRequest(clients, notes) if clients or notes else None


def settle_claims(
    core: RoomCore[P],
    batch: list[Accepted[P]],
    lost_clients: dict[int, str],
    lost_notes: dict[str, str],
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
            core.client_owners[client] = owner
        dropped = [a for a in (*batch, *core.pending) if a.sender in intruders]
        batch[:] = [a for a in batch if a.sender not in intruders]
        core.pending = [a for a in core.pending if a.sender not in intruders]
        core.committing = batch
        for accepted in dropped:
            _forget(core, accepted)
        core.rebuild_shadow()
        for peer in intruders:
            assert peer is not None
            out.refuse(peer, FOREIGN_CLIENT)
            out.close(peer, CloseCode.FORBIDDEN, FOREIGN_CLIENT)
    if lost_notes:
        _undo_creations(core, batch, lost_notes, NOTE_ID_USED, out)
    return out


def quota_requests(batch: Sequence[Accepted[P]]) -> dict[str, list[str]]:
    """The notes each participant's updates in `batch` create (what the quota counts)."""
    requests: dict[str, list[str]] = {}
    for accepted in batch:
        sender = accepted.sender
        if sender is not None and sender.actor.role == "participant" and accepted.created_notes:
            requests.setdefault(accepted.actor_id, []).extend(accepted.created_notes)
    return requests


def quota_asks(
    batch: Sequence[Accepted[P]], board: BoardState, live: Container[str]
) -> list[QuotaAsk]:
    """What each participant's new notes in `batch` ask of the shared quota; `live`: the notes
    as the board will have them once what is queued is stored."""
    limit = int(board.settings.get("max_notes_per_participant", 50))
    return [
        QuotaAsk(actor_id, notes, limit, gone_notes(board, live, actor_id))
        for actor_id, notes in quota_requests(batch).items()
    ]


def gone_notes(board: BoardState, live: Container[str], actor_id: str) -> list[str]:
    """The actor's notes this process saw deleted and that are not on the board (not "every
    note it knows of and does not hold": a note committed elsewhere may be known here before
    its update arrives, and its slot must stay taken)."""
    authors = board.note_authors
    return [n for n in board.deleted_notes if authors.get(n) == actor_id and n not in live]


def over_quota(core: RoomCore[P], batch: list[Accepted[P]], note_ids: Sequence[str]) -> Effects[P]:
    """Creations beyond the participant's quota across processes (server/scale/quotas.py):
    undone on their sender (compensation queued in `batch`) with the quota's reason."""
    out: Effects[P] = Effects()
    limit = int(core.board.settings.get("max_notes_per_participant", 50))
    _undo_creations(core, batch, dict.fromkeys(note_ids), f"at most {limit} notes per person", out)
    return out


def _undo_creations(
    core: RoomCore[P],
    batch: list[Accepted[P]],
    undone: Mapping[str, str | None],
    reason: str,
    out: Effects[P],
) -> None:
    """Undo these creations in `batch` (note id -> the owner who won its id elsewhere, or
    None when it is simply refused), telling each sender why."""
    notes: Map[Any] = core.shadow.doc.get(schema.NOTES, type=Map)
    # id of an undone creation -> its undo (None: nothing of it was visible to delete)
    undone_by: dict[int, Accepted[P] | None] = {}
    for accepted in list(batch):
        mine = [n for n in accepted.created_notes if n in undone]
        if not mine:
            continue
        loser = accepted.actor_id
        accepted.created_notes = tuple(n for n in accepted.created_notes if n not in mine)
        accepted.lost = tuple((n, loser) for n in mine if undone[n] is not None)
        for note_id in mine:
            core.board.record_deleted(note_id)
            winner = undone[note_id]
            if winner is not None:
                core.board.record_created([note_id], winner)
        # Delete only what is this creation's: the winner's may already be visible here.
        visible = [
            n
            for n in mine
            if isinstance(notes.get(n), Map) and _plain(notes[n]) == accepted.created_values[n]
        ]
        compensation = core.shadow_write(_deleting(visible))
        undo: Accepted[P] | None = None
        if compensation is not None:
            undo = Accepted(accepted.sender, "server", compensation, echo=True)
            batch.insert(batch.index(accepted) + 1, undo)
        undone_by[id(accepted)] = undo
        if accepted.sender is not None:
            peer = accepted.sender
            out.refuse(peer, reason)
            out.send(peer, protocol.encode(protocol.Auth(reason)))
    core.committing = batch
    if undone_by:
        _collect_undone(core, batch, undone_by)


def _collect_undone(
    core: RoomCore[P], batch: list[Accepted[P]], undone_by: dict[int, Accepted[P] | None]
) -> None:
    """Store and send each undone creation as it stands once undone: its content
    garbage-collected. Encoded on a doc that holds the batch up to it and its undo, and
    nothing after: the live shadow also holds what its sender sent since (queued, not judged
    yet), which must not go out with this batch (their notes were stored and sent visible
    one batch early, and a creation among them that loses its note id would reach the other
    processes without its `lost` mark)."""
    replay = ShadowDoc(core.doc.get_update())
    try:
        for accepted in batch:
            replay.doc.apply_update(accepted.data)
            if id(accepted) not in undone_by or accepted.writers_before is None:
                continue
            undo = undone_by[id(accepted)]
            if undo is not None:
                replay.doc.apply_update(undo.data)
            accepted.data = replay.written_since(accepted.writers_before)
            accepted.echo = True
    finally:
        replay.close()


def _forget(core: RoomCore[P], accepted: Accepted[P]) -> None:
    """Take a dropped update out of the board's bookkeeping."""
    board = core.board
    for note_id in accepted.created_notes:
        if board.note_authors.get(note_id) == accepted.actor_id:
            board.record_deleted(note_id)
            del board.note_authors[note_id]
    for note_id in accepted.deleted_notes:
        author = board.note_authors.get(note_id)
        if author is not None:
            board.notes_by_actor[author] = board.notes_by_actor.get(author, 0) + 1
            board.live_notes += 1


def receive_remote_update(
    core: RoomCore[P], message: FanoutMessage, update: bytes, out: Effects[P]
) -> None:
    """An update another process committed: into the docs, relayed to our clients; and the
    lost-note repair: creations that lost their note id elsewhere, if their structs displace the
    winner's note here (a higher Yjs client id wins a key), put the winner's back."""
    notes: Map[Any] = core.shadow.doc.get(schema.NOTES, type=Map)
    contested = {
        n: _plain(notes[n])
        for n, loser in message.lost
        if core.board.note_authors.get(n, loser) != loser and isinstance(notes.get(n), Map)
    }
    apply_remote_updates(core, [update], message.last_seq, dict(message.created))
    out.broadcast(message.frame, None)
    displaced = {
        n: before
        for n, before in contested.items()
        if not isinstance(notes.get(n), Map) or _plain(notes[n]) != before
    }
    if displaced:
        core.server_change(_restoring(displaced))


def apply_remote_updates(
    core: RoomCore[P],
    updates: Sequence[bytes],
    last_seq: int,
    authors: dict[str, str] | None = None,
) -> None:
    """Committed elsewhere: into the real doc and the shadow (idempotent: Yjs ignores what it
    has). The shadow skips the missing-dependency check: the other process checked. Notes
    created and deleted there count here too (`authors`: note id -> creator)."""
    with core.doc.transaction(origin="fanout"):
        for update in updates:
            core.doc.apply_update(update)
    core.refresh_settings()
    authors = authors or {}
    board = core.board
    for note_id, actor in authors.items():
        if note_id not in board.note_authors:
            board.record_created([note_id], actor)
    for update in updates:
        board.record_bytes(len(update))
        board.record_changes(core.shadow.apply_trusted(update))
    core.last_seq = max(core.last_seq, last_seq)


def apply_log(
    core: RoomCore[P], records: Sequence[UpdateRecord], authors: dict[str, str]
) -> Effects[P]:
    """A catch-up: committed updates read from the log; clients get what was new to us."""
    out: Effects[P] = Effects()
    if not records:
        return out
    before = core.doc.get_state()
    apply_remote_updates(core, [r.data for r in records], records[-1].seq, authors)
    core.caught_up_seq = max(core.caught_up_seq, records[-1].seq)
    missed = core.doc.get_update(before)
    if missed != EMPTY_UPDATE:
        out.broadcast(protocol.encode(protocol.Update(missed)), None)
    return out


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
