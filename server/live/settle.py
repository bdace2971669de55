"""What a room settles with the other processes of its board (`REDIS_URL`), sans I/O.

Two things are decided across processes (server/scale/claims.py, server/scale/quotas.py, by the
driver between `take_batch` and the store): which token first wrote under a Yjs client id, and which
creation of a note id came first; and each participant's note quota. `claims_of` and
`quota_asks` say what a batch asks; `drop_foreign_writers`, `undo_creations` and `over_quota`
apply the answers: a connection writing under another token's client id loses what it sent and
is closed; a creation that lost its note id, or is over the quota, is undone on its sender (and,
for a lost id, marked `lost` in the fan-out, so the process holding the winner puts the winner's
note back if the loser's structs displaced it (`contested`, `displaced`): Yjs resolves two
creations of one key by client id, not by who came first). Remote apply: what another process
committed (fan-out) or what the log holds (catch-up) goes into the real doc and the shadow (by
the core), and into the board's bookkeeping (`count_remote`).

Nothing here holds or reads the room core: each function is given the parts it reads and writes
(the batch, the board's bookkeeping, the shadow's notes, a write into the shadow); the core
(server/live/core.py) keeps its state to itself and calls these.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

from pycrdt import Doc, Map

from crdt import protocol, schema
from crdt.board_state import BoardState
from crdt.judge import FOREIGN_CLIENT
from crdt.protocol import CloseCode
from crdt.shadow import ShadowDoc
from server.live.effects import Accepted, ClaimRequest, Effects, P, QuotaAsk

NOTE_ID_USED = "that note id was already used"

BoardChange = Callable[[schema.Board], None]
# A server write into the shadow: its update, None when it changes nothing.
Write = Callable[[BoardChange], bytes | None]


def claims_of(batch: Sequence[Accepted[P]]) -> ClaimRequest | None:
    """What this batch must claim across processes (None: nothing new)."""
    clients = {c: a.actor_id for a in batch if a.sender is not None for c in a.new_clients}
    notes = {n: a.actor_id for a in batch for n in a.created_notes}
    return ClaimRequest(clients, notes) if clients or notes else None


def drop_foreign_writers(
    batch: list[Accepted[P]],
    pending: Sequence[Accepted[P]],
    lost_clients: Mapping[int, str],
    board: BoardState,
    out: Effects[P],
) -> list[Accepted[P]]:
    """A Yjs client id another token claimed first: everything its connection sent since is
    dropped (its structs never reach anyone: `batch` is changed in place, what stays pending
    is returned), taken out of the board's bookkeeping, and the connection closed. The core
    then rebuilds its shadow without it."""
    intruders = {a.sender for a in batch if set(a.new_clients) & set(lost_clients)}
    intruders.discard(None)
    for accepted in (*batch, *pending):
        if accepted.sender in intruders:
            _forget(board, accepted)
    batch[:] = [a for a in batch if a.sender not in intruders]
    for peer in intruders:
        assert peer is not None
        out.refuse(peer, FOREIGN_CLIENT)
        out.close(peer, CloseCode.FORBIDDEN, FOREIGN_CLIENT)
    return [a for a in pending if a.sender not in intruders]


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


def over_quota(
    batch: list[Accepted[P]],
    note_ids: Sequence[str],
    board: BoardState,
    live: Map[Any],
    write: Write,
    committed: Doc[Any],
    out: Effects[P],
) -> None:
    """Creations beyond the participant's quota across processes (server/scale/quotas.py):
    undone on their sender (compensation queued in `batch`) with the quota's reason."""
    limit = int(board.settings.get("max_notes_per_participant", 50))
    reason = f"at most {limit} notes per person"
    undo_creations(batch, dict.fromkeys(note_ids), reason, board, live, write, committed, out)


def undo_creations(
    batch: list[Accepted[P]],
    undone: Mapping[str, str | None],
    reason: str,
    board: BoardState,
    live: Map[Any],
    write: Write,
    committed: Doc[Any],
    out: Effects[P],
) -> None:
    """Undo these creations in `batch` (note id -> the owner who won its id elsewhere, or
    None when it is simply refused), telling each sender why. `live`: the shadow's notes;
    `write`: a server write into the shadow (its update, None when it changes nothing);
    `committed`: the real doc."""
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
            board.record_deleted(note_id)
            winner = undone[note_id]
            if winner is not None:
                board.record_created([note_id], winner)
        # Delete only what is this creation's: the winner's may already be visible here.
        visible = [
            n
            for n in mine
            if isinstance(live.get(n), Map) and _plain(live[n]) == accepted.created_values[n]
        ]
        compensation = write(_deleting(visible))
        undo: Accepted[P] | None = None
        if compensation is not None:
            undo = Accepted(accepted.sender, "server", compensation, echo=True)
            batch.insert(batch.index(accepted) + 1, undo)
        undone_by[id(accepted)] = undo
        if accepted.sender is not None:
            peer = accepted.sender
            out.refuse(peer, reason)
            out.send(peer, protocol.encode(protocol.Auth(reason)))
    if undone_by:
        _collect_undone(committed, batch, undone_by)


def _collect_undone(
    committed: Doc[Any], batch: list[Accepted[P]], undone_by: dict[int, Accepted[P] | None]
) -> None:
    """Store and send each undone creation as it stands once undone: its content
    garbage-collected. Encoded on a doc that holds the batch up to it and its undo, and
    nothing after: the live shadow also holds what its sender sent since (queued, not judged
    yet), which must not go out with this batch (their notes were stored and sent visible
    one batch early, and a creation among them that loses its note id would reach the other
    processes without its `lost` mark)."""
    replay = ShadowDoc(committed.get_update())
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


def _forget(board: BoardState, accepted: Accepted[P]) -> None:
    """Take a dropped update out of the board's bookkeeping."""
    for note_id in accepted.created_notes:
        if board.note_authors.get(note_id) == accepted.actor_id:
            board.record_deleted(note_id)
            del board.note_authors[note_id]
    for note_id in accepted.deleted_notes:
        author = board.note_authors.get(note_id)
        if author is not None:
            board.notes_by_actor[author] = board.notes_by_actor.get(author, 0) + 1
            board.live_notes += 1


def contested(live: Map[Any], board: BoardState, lost: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Before a remote update is applied: the notes it names as lost creations whose winner's
    note is here (note id -> its content), for `displaced` to check after."""
    return {
        n: _plain(live[n])
        for n, loser in lost
        if board.note_authors.get(n, loser) != loser and isinstance(live.get(n), Map)
    }


def displaced(live: Map[Any], contested: Mapping[str, Any]) -> BoardChange | None:
    """The lost-note repair: creations that lost their note id elsewhere, if their structs
    displaced the winner's note here (a higher Yjs client id wins a key), put the winner's back
    (a server change); None when nothing was displaced."""
    gone = {
        n: before
        for n, before in contested.items()
        if not isinstance(live.get(n), Map) or _plain(live[n]) != before
    }
    return _restoring(gone) if gone else None


def count_remote(
    board: BoardState, shadow: ShadowDoc, updates: Sequence[bytes], authors: Mapping[str, str]
) -> None:
    """Committed elsewhere, into the shadow and the board's bookkeeping (the shadow skips the
    missing-dependency check: the other process checked). Notes created and deleted there
    count here too (`authors`: note id -> creator)."""
    for note_id, actor in authors.items():
        if note_id not in board.note_authors:
            board.record_created([note_id], actor)
    for update in updates:
        board.record_bytes(len(update))
        board.record_changes(shadow.apply_trusted(update))


def _deleting(note_ids: Sequence[str]) -> BoardChange:
    def delete(board: schema.Board) -> None:
        for note_id in note_ids:
            del board.notes_map[note_id]

    return delete


def _restoring(notes: dict[str, Any]) -> BoardChange:
    def restore(board: schema.Board) -> None:
        for note_id, content in notes.items():
            board.notes_map[note_id] = Map(content)

    return restore


def _plain(value: Any) -> Any:
    return value.to_py() if isinstance(value, Map) else value
