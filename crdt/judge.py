"""The judging pipeline: an incoming update's bytes + the board -> a verdict.

A verdict is one of: accept (store and send `data`), compensate (the update is kept but undone:
store and send `data`, its structs deleted with the server's compensation, and tell the sender
why), refuse (nothing of it is kept; the shadow must be rebuilt when `rebuild`), malformed
(close the sender). Pure: pycrdt and crdt only, no I/O; the room core (server/live/core.py)
turns verdicts into effects and keeps the queue the shadow counts.

The path of an update:
  1. from its bytes alone (crdt/updates.py): missing dependencies, deletes of clocks nobody
     holds, another's Yjs client id, so such a refusal needs no O(board) rebuild;
  2. applied to the shadow doc, which says what it changes (crdt/shadow.py);
  3. judged for the sender's role (crdt/rules.py); a forbidden write is undone, not dropped;
  4. a note or cluster marked `deleted: true` goes in the same step (a server-origin delete).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pycrdt import Doc, Map

from crdt import protocol, rules, schema, updates
from crdt.board_state import BoardState
from crdt.rules import Actor
from crdt.shadow import CannotUndo, Change, ForeignDelete, PendingUpdate, ShadowDoc

EMPTY_UPDATE = b"\x00\x00"
FOREIGN_CLIENT = "that Yjs client id belongs to someone else"

Kind = Literal["accept", "compensate", "refuse", "malformed"]
# An entry as the board had it before the update being judged (to put back what it deleted).
EntryBefore = Callable[[str, str], dict[str, Any] | None]


@dataclass(slots=True)
class Verdict:
    kind: Kind
    reason: str | None = None  # refuse, compensate, malformed: what the sender is told
    data: bytes = b""  # accept, compensate: what is stored and sent
    echo: bool = False  # also send `data` to its sender (it lacks part of it)
    rebuild: bool = False  # the shadow holds what was refused: rebuild it before any use
    created: tuple[str, ...] = ()  # note ids created
    values: dict[str, Any] = field(default_factory=dict)  # note id -> content as created
    deleted: tuple[str, ...] = ()  # note ids deleted
    new_clients: tuple[int, ...] = ()  # Yjs client ids first used here (now the sender's)
    writers_before: dict[int, int] | None = None  # for creations: writers' clocks before it
    changes: Sequence[Change] = ()  # what it changed


def judge(
    shadow: ShadowDoc,
    update: bytes,
    actor: Actor,
    board: BoardState,
    owners: Mapping[int, str],
    entry_before: EntryBefore,
) -> Verdict:
    """Judge `update` from `actor`. The shadow is left holding the verdict's result (or, when
    `rebuild`, the refused update: the caller rebuilds it). `owners`: Yjs client id -> the actor
    that first wrote with it. Never raises for bad input."""
    actor_id = actor.id
    info: updates.UpdateInfo | None
    try:
        info = updates.parse(update)
    except protocol.ProtocolError:
        info = None  # yrs decides below (a malformed update is closed)
    if info is not None and info.empty_section:
        return Verdict("malformed", "malformed update: a client section with no structs")
    # (On the shadow's clocks, which may lag for its own client: a refusal is decided again on
    # exact ones, O(clients), a cost only refusals pay.)
    reason: str | None = None
    for exact in (False, True):
        if info is None:
            break
        reason, precheck_writers = updates.judge(info, shadow.state_vector(exact))
        if reason is None and any(owners.get(c, actor_id) != actor_id for c in precheck_writers):
            reason = FOREIGN_CLIENT
        if reason is None:
            break
    if reason is not None:
        return Verdict("refuse", reason)
    try:
        changes = shadow.apply(update, info)
    except (PendingUpdate, ForeignDelete) as exc:
        return Verdict("refuse", str(exc), rebuild=True)
    except (ValueError, RuntimeError):  # (a yrs panic comes as MalformedUpdate)
        return Verdict("malformed", "malformed update", rebuild=True)
    writers = shadow.writers
    if any(owners.get(client, actor_id) != actor_id for client in writers):
        return Verdict("refuse", FOREIGN_CLIENT, rebuild=True)
    new_clients = tuple(client for client in writers if client not in owners)
    refusal = rules.check(actor, changes, board, len(update))
    if refusal is not None:
        # Undo it rather than drop it: the update's structs are kept (deleted, their content
        # garbage-collected) with a server compensation, so the sender converges by itself
        # and its later updates do not depend on anything missing.
        try:
            net = shadow.undo(changes, entry_before)
        except CannotUndo:
            return Verdict("refuse", refusal.reason, rebuild=True, new_clients=new_clients)
        return Verdict("compensate", refusal.reason, net, echo=True, new_clients=new_clients)
    removed = rules.soft_deleted(changes)
    if removed:
        # Deleting is a field: the entry itself goes in the same step, so its content is
        # garbage-collected out of what is stored and sent from now on.
        changes = [*changes, *shadow.write(_removing(removed))]
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
    data, echo = update, False
    if shadow.unseen or not changes or removed:
        # Writes that lost a concurrent write, or went into something already deleted, are
        # harmless no-ops but their bytes hold their content: store and send the shadow's
        # encoding instead (that content garbage-collected), to the sender too (who also
        # lacks the removal of what it marked deleted).
        data, echo = shadow.net_update(), True
    return Verdict(
        "accept",
        data=data,
        echo=echo,
        created=tuple(created),
        values=values,
        deleted=tuple(deleted),
        new_clients=new_clients,
        writers_before=dict(shadow.writers_before) if created else None,
        changes=changes,
    )


def _removing(entries: Sequence[tuple[str, str]]) -> Callable[[Doc[Any]], None]:
    def remove(doc: Doc[Any]) -> None:
        for root, item in entries:
            parent: Map[Any] = doc.get(root, type=Map)
            if item in parent:
                del parent[item]

    return remove


__all__ = ["EMPTY_UPDATE", "FOREIGN_CLIENT", "Verdict", "judge"]
