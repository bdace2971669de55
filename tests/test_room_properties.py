"""A property of the room core: random actions by random roles, in random interleavings (updates
held back and sent later, so many cross on the wire), end with every client equal to a fresh
joiner, no forbidden effect visible anywhere (final docs, any frame received, any byte stored),
every allowed effect visible, and no allowed action ever refused.

In process (tests/roomnet.py), with hypothesis: ~100 boards of up to 40 steps in a few seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from crdt import protocol
from tests.roomnet import Client, Net
from tests.yclient import add_note

ROLES = ("facilitator", "participant", "participant", "viewer")
ACTIONS = ("create", "edit", "move", "delete", "forbidden", "send", "flush")
FORBIDDEN = "FORBIDDEN"

Step = tuple[int, str, int, bool]
steps = st.lists(
    st.tuples(
        st.integers(0, len(ROLES) - 1),
        st.sampled_from(ACTIONS),
        st.integers(0, 1000),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@dataclass(frozen=True)
class Delete:
    """A `deleted: true` write: by whom (Yjs client id), at which clock, knowing what."""

    note: str
    allowed: bool
    client: int
    clock: int
    seen: dict[int, int]  # the sender's state vector when it wrote it

    def lost_to(self, other: Delete) -> bool:
        """Yjs keeps one of two concurrent writes of a key, the higher client id's: an allowed
        delete is lost when a forbidden one of the same note it had not seen reached the
        server first and won the key (the server's undo then leaves the key empty)."""
        return (
            other.note == self.note
            and not other.allowed
            and other.client > self.client
            and self.seen.get(other.client, 0) <= other.clock
        )


@dataclass
class Model:
    author: dict[str, str] = field(default_factory=dict)  # notes created by allowed creations
    texts: dict[str, set[str]] = field(default_factory=dict)  # allowed texts per note
    xs: dict[str, set[float]] = field(default_factory=dict)  # allowed x per note
    deleted: set[str] = field(default_factory=set)  # by an allowed delete
    forbidden_deleted: set[str] = field(default_factory=set)  # refused, so undone
    deletes: list[Delete] = field(default_factory=list)  # in the order the server got them
    counter: int = 0

    def fresh_id(self, who: int) -> str:
        self.counter += 1
        return f"n{who}-{self.counter}"


def notes(doc: Doc) -> Map[Any]:
    return doc.get("notes", type=Map)


class Board:
    def __init__(self) -> None:
        self.net = Net(max_refusals=10**6)  # this test sends many forbidden edits on purpose
        self.clients: list[Client] = []
        for i, role in enumerate(ROLES):
            actor_id = role if role != "participant" else f"p{i}"
            self.clients.append(self.net.client(role, actor_id, name=f"P{i}"))
        # (update, allowed, the delete it writes)
        self.held: list[list[tuple[bytes, bool, Delete | None]]] = [[] for _ in ROLES]
        self.model = Model()

    def actor_id(self, who: int) -> str:
        return self.clients[who].peer.actor.id

    def may_edit(self, who: int, note_id: str) -> bool:
        role = ROLES[who]
        return role == "facilitator" or (
            role == "participant" and self.model.author.get(note_id) == self.actor_id(who)
        )

    def targets(self, who: int) -> list[str]:
        """Notes this client sees that an allowed creation made (its own refused ones aside)."""
        local = self.clients[who].notes()
        return sorted(n for n in local if n in self.model.author)

    def step(self, who: int, action: str, pick: int, hold: bool) -> None:
        client, model = self.clients[who], self.model
        if action == "flush":
            self.net.settle()
            return
        if action == "send":
            self.send_one(who)
            return
        role = ROLES[who]
        targets = self.targets(who)
        delete: Delete | None = None
        if action in ("edit", "move", "delete") and not targets:
            action = "create"
        if action == "create":
            note_id = model.fresh_id(who)
            allowed = role != "viewer"
            text = f"ok-{note_id}" if allowed else f"{FORBIDDEN}-{note_id}"
            update = client.build(add_note(note_id, text, x=float(pick)))
            if allowed:
                model.author[note_id] = self.actor_id(who)
                model.texts[note_id] = {text}
                model.xs[note_id] = {float(pick)}
        elif action == "edit":
            note_id = targets[pick % len(targets)]
            allowed = self.may_edit(who, note_id)
            text = f"ok-edit-{pick}" if allowed else f"{FORBIDDEN}-edit-{pick}"
            update = client.build(lambda d: notes(d)[note_id].__setitem__("text", text))
            if allowed:
                model.texts[note_id].add(text)
        elif action == "move":
            note_id = targets[pick % len(targets)]
            allowed = role != "viewer"
            x = float(pick) if allowed else -1.0 - pick
            update = client.build(lambda d: notes(d)[note_id].__setitem__("x", x))
            if allowed:
                model.xs[note_id].add(x)
        elif action == "delete":
            note_id = targets[pick % len(targets)]
            allowed = self.may_edit(who, note_id)
            # As the web client deletes: by writing the field (the server removes the entry).
            seen = protocol.decode_state_vector(client.doc.get_state())
            own = client.doc.client_id
            delete = Delete(note_id, allowed, own, seen.get(own, 0), seen)
            update = client.build(lambda d: notes(d)[note_id].__setitem__("deleted", True))
            (model.deleted if allowed else model.forbidden_deleted).add(note_id)
        else:  # a forbidden write for each role
            allowed = False
            mark = f"{FORBIDDEN}-{pick}"
            if role == "facilitator":
                update = client.build(
                    lambda d: d.get("results", type=Map).__setitem__("data", mark)
                )
            elif role == "participant":
                update = client.build(lambda d: d.get("meta", type=Map).__setitem__("title", mark))
            else:
                update = client.build(add_note(f"v-{pick}", mark))
        self.held[who].append((update, allowed, delete))
        if not hold:
            self.send_one(who)

    def send_one(self, who: int) -> None:
        if not self.held[who]:
            return
        update, allowed, delete = self.held[who].pop(0)
        if delete is not None:
            self.model.deletes.append(delete)
        refused = len(self.net.refusals)
        self.clients[who].send(protocol.Update(update))
        if allowed:
            assert len(self.net.refusals) == refused, self.net.refusals[refused:]

    def finish(self) -> None:
        while any(self.held):
            for who in range(len(ROLES)):
                self.send_one(who)
        self.net.settle()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps)
def test_random_roles_and_interleavings_converge_and_keep_the_rules(plan: list[Step]) -> None:
    board = Board()
    for step in plan:
        board.step(*step)
    board.finish()
    model = board.model
    joiner = board.net.client("viewer", "late")
    expected = joiner.board()
    for client in board.clients:
        assert client.closed is None
        assert client.board() == expected
    # No forbidden effect, anywhere.
    assert FORBIDDEN not in json.dumps(expected)
    assert all(FORBIDDEN.encode() not in data for data in board.net.stored)
    for client in (*board.clients, joiner):
        assert all(FORBIDDEN.encode() not in frame for frame in client.received)
    final = expected["notes"]
    assert all(note["x"] >= 0 for note in final.values())  # forbidden moves are negative
    # Every allowed effect.
    # (A refused delete only takes its field away: allowed changes crossing it land in the same
    # live map.)
    for note_id in model.author:
        if note_id in final and note_id in model.deleted:
            # Only Yjs's rule for one key keeps a note an allowed delete aimed at: every one of
            # them lost the `deleted` key to a forbidden one (no refusal; the author sees the
            # note back and deletes it again).
            for i, mine in enumerate(model.deletes):
                if mine.note == note_id and mine.allowed:
                    assert any(mine.lost_to(d) for d in model.deletes[:i]), (note_id, mine)
        else:
            assert (note_id in final) == (note_id not in model.deleted), note_id
        if note_id in final:
            assert final[note_id]["text"] in model.texts[note_id]
            assert final[note_id]["x"] in model.xs[note_id]
    assert set(final) <= set(model.author)
