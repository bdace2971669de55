"""A participant sends nested shared types the schema does not have (Arrays of Maps, Maps of
Arrays, a Y.Text body with multi-byte characters), creates, rewrites and deletes them, while
another edits concurrently: the room applies each to its shadow doc before judging it (then
undoes it), so this is where a pycrdt memory fault would take the server down. None of it
reaches the board, and every client converges with a fresh joiner (tests/roomnet.py, in
process: a crash fails the whole run, as it should)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text

from crdt import protocol
from server.live.refusals import RefusalBudget, RefusalBudgets
from tests.roomnet import Client, Net


class Unlimited(RefusalBudget):
    def spend(self, now: float | None = None) -> bool:
        return True


def nested(rng: random.Random, depth: int) -> Any:
    if depth == 0:
        return rng.choice([1.0, "ü😀", None])
    return rng.choice(
        [
            Array([nested(rng, depth - 1), nested(rng, depth - 1)]),
            Map({"k": nested(rng, depth - 1)}),
            Array([Map({"m": nested(rng, depth - 1)})]),
        ]
    )


def hostile_step(rng: random.Random, who: Client, step: int) -> None:
    evil = who.peer.actor.id == "p-evil"

    def edit(doc: Doc) -> None:
        notes = doc.get("notes", type=Map)
        keys = [k for k in list(notes) if isinstance(notes.get(k), Map)]
        action = rng.randrange(6)
        if action == 0 or not keys:
            fields: dict[str, Any] = {"text": "idée", "x": 1.0, "y": 2.0}
            if evil:
                fields["tags"] = nested(rng, rng.randrange(1, 4))
            notes[f"{who.peer.actor.id}-{step}"] = Map(fields)
        elif action == 1:
            notes[rng.choice(keys)]["tags"] = nested(rng, rng.randrange(1, 4))
        elif action == 2:
            del notes[rng.choice(keys)]
        elif action == 3:
            notes[rng.choice(keys)]["x"] = rng.random()
        elif action == 4:
            note = notes[rng.choice(keys)]
            tags = note.get("tags")
            if isinstance(tags, Array) and len(tags):
                del tags[0]
            else:
                note["body"] = Text("ü😀")
        else:
            notes[rng.choice(keys)]["text"] = "r" * rng.randrange(1, 5)

    who.send(protocol.Update(who.build(edit)))


@pytest.mark.parametrize("seed", range(12))
def test_hostile_nested_content_never_reaches_the_board(seed: int) -> None:
    rng = random.Random(seed)
    budgets = RefusalBudgets()
    budgets["p-evil"] = Unlimited()
    net = Net(max_refusals=10**6, refusal_budgets=budgets)  # keep the hostile client connected
    net.client("facilitator")
    ana = net.client("participant", "p-ana", name="Ana")
    evil = net.client("participant", "p-evil", name="Eve")
    for step in range(40):
        hostile_step(rng, rng.choice([evil, evil, ana]), step)
        if rng.random() < 0.5:
            net.commit()
        for client in list(net.clients.values()):
            client.deliver()
    net.settle()
    joiner = net.client("viewer")
    board = joiner.board()
    for client in net.clients.values():
        assert client.board() == board
    for note in board["notes"].values():
        assert "tags" not in note and "body" not in note
    # The hostile writes were judged and refused, each for what it is, and for nothing else.
    assert "a note has no field 'tags'" in evil.denied
    assert set(evil.denied) | set(ana.denied) <= {
        "a note has no field 'tags'",  # a new note holding a nested type
        "participants cannot make this change",  # a nested type set on a note
        "you can only change or delete notes you wrote",  # someone else's note
    }
    net.core.close()
