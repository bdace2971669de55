"""crdt/crossing.py, pure: what an old entry's items were, read from bytes, and which writes of a
later update were aimed at them."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map

from crdt import crossing
from crdt.crossing import Carry, ItemIndex, Recreated, Target
from crdt.shadow import Change, Shared
from crdt.updates import Item, read_items
from server.fanout.base import FanoutMessage
from tests import support


def own_update(doc: Doc, change: Any) -> bytes:
    return support.own_update(doc, lambda d: change(d.get("notes", type=Map)))


def item(client: int, clock: int, length: int = 1) -> Item:
    return Item((client, clock), length, None, None, "notes", "n", 8, (1.0,))


def test_an_id_inside_a_longer_item_finds_it() -> None:
    index = ItemIndex()
    for it in (item(1, 10, 5), item(1, 0, 3), item(2, 4)):
        index.add(it)
    assert index.find((1, 12)) == item(1, 10, 5)
    assert index.find((1, 2)) == item(1, 0, 3)
    assert index.find((1, 5)) is None and index.find((1, 15)) is None
    assert index.find((3, 0)) is None
    assert index.within(1, 2, 9) == [item(1, 0, 3), item(1, 10, 5)]
    assert index.within(1, 3, 7) == []


def board_with_history() -> tuple[Doc, Doc, str]:
    """Ana writes note n among a hundred others; Eva and the facilitator move it in turns."""
    ana, eva, fac = Doc(client_id=1), Doc(client_id=2), Doc(client_id=3)
    own_update(ana, lambda notes: [notes.__setitem__(f"a{i}", Map({"x": 0.0})) for i in range(50)])
    own_update(ana, lambda notes: notes.__setitem__("n", Map({"text": "idée", "x": 0.0})))
    own_update(ana, lambda notes: [notes.__setitem__(f"b{i}", Map({"x": 0.0})) for i in range(50)])
    for doc in (eva, fac):
        doc.apply_update(ana.get_update())
    for i in range(12):
        mover, other = (eva, fac) if i % 2 else (fac, eva)
        update = own_update(mover, lambda notes, i=i: notes["n"].__setitem__("x", float(i)))
        for doc in (other, ana):
            doc.apply_update(update)
    return ana, eva, "n"


def test_the_items_of_an_old_entry_are_read_back_through_their_chains() -> None:
    ana, bob, note = board_with_history()
    forbidden = own_update(bob, lambda notes: notes.pop(note))
    found = crossing.read_note_items(ana, [], read_items(forbidden)[1], {note})
    fields = {target.field for _, target in found}
    assert fields == {None, "text", "x"}
    # every x value of the chain is placed, down to the first one
    assert sum(1 for _, t in found if t.field == "x") == 13


def test_a_crossing_move_is_carried_and_a_whole_doc_delete_set_is_not() -> None:
    ana, bob, note = board_with_history()
    forbidden = own_update(bob, lambda notes: notes.pop(note))
    recreated = Recreated()
    # the re-creation (as the room's undo makes it), with its mark
    server = Doc(client_id=99)
    server.apply_update(ana.get_update())
    server.apply_update(forbidden)
    before = server.get_state()
    with server.transaction():
        entry = Map({"text": "idée", "x": 11.0})
        server.get("notes", type=Map)[note] = entry
        entry["_recreated"] = 0
        del entry["_recreated"]
    recreating = server.get_update(before)
    recreated.track(
        crossing.read_note_items(ana, [], read_items(forbidden)[1], {note}),
        read_items(forbidden)[1],
        recreating,
    )
    move = own_update(ana, lambda notes: notes[note].__setitem__("x", 321.0))
    assert recreated.carried(move, {}) == [Carry("set", Target(note, "x"), 321.0)]
    # what it already had is not made twice
    assert recreated.carried(move, {1: 10**6}) == []
    removal = own_update(ana, lambda notes: notes.pop(note))
    assert recreated.carried(removal, {}) == [Carry("delete", Target(note))]
    # A doc that has the re-created note lists the refused delete in its whole delete set,
    # with the re-creation's mark: not a removal.
    witness = Doc(client_id=7)
    witness.apply_update(server.get_update())
    assert recreated.carried(witness.get_update(b"\x00"), {}) == []


def test_accepted_changes_are_laid_over_the_committed_entry() -> None:
    committed = {"text": "idée", "x": 0.0, "translations": {"fr": {"text": "idée"}}}
    changes = [
        Change("notes", "set", "n", "x", 5.0, 0.0, True),
        Change("notes", "set", "n", "translations", {"text": "idea"}, None, False, sub="en"),
        Change("notes", "set", "n", "color", None, "blue", True, deleted=True),
    ]
    assert crossing.overlaid(committed, changes) == {
        "text": "idée",
        "x": 5.0,
        "translations": {"fr": {"text": "idée"}, "en": {"text": "idea"}},
    }
    created = Change("notes", "create", "n", value={"text": "t", "translations": Shared({})})
    assert crossing.overlaid(None, [created]) == {"text": "t", "translations": {}}
    assert crossing.overlaid(committed, [Change("notes", "delete", "n")]) is None


def test_the_fanout_message_carries_the_recreated_notes() -> None:
    message = FanoutMessage("A", "update", b"\x02\x00", 3, recreated=(("n",), ((1, 2, 3),)))
    assert FanoutMessage.decode(message.encode()) == message
    plain = FanoutMessage("A", "update", b"\x02\x00", 3)
    assert FanoutMessage.decode(plain.encode()).recreated == ((), ())
