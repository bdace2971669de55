"""Allowed changes that cross a forbidden delete of the same note, in process (tests/roomnet.py).

A participant's forbidden delete of another's note is undone by re-creating the note: a new Yjs
entry, since a delete cannot be taken back. A change built before its sender saw that (the
author's move, edit or delete, a translation) is aimed at the old entry, which Yjs then drops
as a write into something deleted. The room must carry it over to the re-created note, under
its sender's rules, and lose nothing that was allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import protocol
from tests.roomnet import Client, Net, two_processes
from tests.yclient import add_note

FORBIDDEN = "you can only change or delete notes you wrote"


def notes(doc: Doc) -> Map:
    return doc.get("notes", type=Map)


def note(doc: Doc) -> Map:
    return notes(doc)["n"]


def workshop() -> tuple[Net, dict[str, Client]]:
    net = Net()
    clients = {
        "fac": net.client("facilitator"),
        "ana": net.client("participant", "p-ana", name="Ana"),
        "bob": net.client("participant", "p-bob", name="Bob"),
        "eva": net.client("participant", "p-eva", name="Eva"),
    }
    clients["ana"].change(add_note("n", "une idée"))
    net.settle()
    # a translation map exists, as the web client makes it on the first translation
    clients["eva"].change(lambda d: note(d).__setitem__("translations", Map({})))
    net.settle()
    return net, clients


def move(doc: Doc) -> None:
    note(doc)["x"] = 321.0
    note(doc)["y"] = 123.0


def edit(doc: Doc) -> None:
    note(doc)["text"] = "une idée précisée"


def delete(doc: Doc) -> None:
    del notes(doc)["n"]


def translate(doc: Doc) -> None:
    note(doc)["translations"]["nl"] = {"text": "een idee", "by": "Eva", "machine": False}


CROSSINGS: dict[str, tuple[str, Callable[[Doc], None], Callable[[dict[str, Any]], bool]]] = {
    "the author moves it": ("ana", move, lambda n: n["n"]["x"] == 321.0 and n["n"]["y"] == 123.0),
    "the author edits it": ("ana", edit, lambda n: n["n"]["text"] == "une idée précisée"),
    "the author deletes it": ("ana", delete, lambda n: "n" not in n),
    "someone translates it": (
        "eva",
        translate,
        lambda n: n["n"]["translations"]["nl"]["text"] == "een idee",
    ),
    "the facilitator moves it": ("fac", move, lambda n: n["n"]["x"] == 321.0),
}


def converged(net: Net, clients: dict[str, Client]) -> dict[str, Any]:
    joiner = net.client("viewer")
    for name, client in clients.items():
        assert client.board() == joiner.board(), name
    return joiner.notes()


@pytest.mark.parametrize("case", list(CROSSINGS))
@pytest.mark.parametrize("undo_committed", [True, False], ids=["undo-committed", "undo-pending"])
def test_an_allowed_change_crossing_a_forbidden_delete_is_not_lost(
    case: str, undo_committed: bool
) -> None:
    net, c = workshop()
    who, change, holds = CROSSINGS[case]
    forbidden = c["bob"].build(delete)
    allowed = c[who].build(change)  # neither has seen the other's
    c["bob"].send(protocol.Update(forbidden))
    if undo_committed:
        net.commit()  # the re-created note is stored (and sent) before the crossing change arrives
    c[who].send(protocol.Update(allowed))
    net.settle()
    assert c["bob"].denied == [FORBIDDEN]
    assert all(client.denied == [] for name, client in c.items() if name != "bob")
    final = converged(net, c)
    assert holds(final), final
    if "n" in final:
        assert final["n"]["text"].startswith("une idée")  # the note is still Ana's
    # The re-created note goes on like any other: its author can move it again.
    if "n" in final:
        c["ana"].change(lambda d: note(d).__setitem__("x", 7.0))
        net.settle()
        assert converged(net, c)["n"]["x"] == 7.0


def test_a_change_pending_when_the_forbidden_delete_arrives_is_kept() -> None:
    """The author's move is accepted but not yet stored when the forbidden delete comes in:
    the re-created note carries the move (before, it was re-created from the stored board)."""
    net, c = workshop()
    c["ana"].change(move)  # accepted, not committed
    c["bob"].change(delete)
    net.settle()
    assert c["bob"].denied == [FORBIDDEN]
    final = converged(net, c)
    assert (final["n"]["x"], final["n"]["y"]) == (321.0, 123.0)


def test_a_crossing_change_is_judged_by_its_senders_rules() -> None:
    """Carrying a change over is no way around the rules: a third participant's rewrite aimed at
    the old entry is refused like any rewrite of another's note, and never stored."""
    net, c = workshop()
    forbidden = c["bob"].build(delete)
    rewrite = c["eva"].build(lambda d: note(d).__setitem__("text", "EVA-REWROTE"))
    c["bob"].send(protocol.Update(forbidden))
    net.commit()
    c["eva"].send(protocol.Update(rewrite))
    net.settle()
    assert c["bob"].denied == [FORBIDDEN]
    assert c["eva"].denied == [FORBIDDEN]
    final = converged(net, c)
    assert final["n"]["text"] == "une idée"
    assert all(b"EVA-REWROTE" not in data for data in net.stored)


def test_two_crossing_changes_in_a_row_both_land() -> None:
    """The author moves twice before seeing the re-created note: the second move is aimed at
    the first one's entry, which the room also dropped."""
    net, c = workshop()
    forbidden = c["bob"].build(delete)
    first = c["ana"].build(lambda d: note(d).__setitem__("x", 1.0))
    second = c["ana"].build(lambda d: note(d).__setitem__("x", 2.0))
    c["bob"].send(protocol.Update(forbidden))
    net.commit()
    c["ana"].send(protocol.Update(first))
    net.commit()
    c["ana"].send(protocol.Update(second))
    net.settle()
    assert c["ana"].denied == []
    assert converged(net, c)["n"]["x"] == 2.0


@pytest.mark.parametrize(
    "move_first", [True, False], ids=["move-reaches-B-first", "undo-reaches-B-first"]
)
async def test_a_move_on_another_process_crossing_a_forbidden_delete_is_not_lost(
    move_first: bool,
) -> None:
    """Bob's forbidden delete reaches process A, Ana's move process B; the process that
    re-created the note carries the move over when B's commit reaches it."""
    a, b = two_processes()
    ana = b.client("participant", "p-ana", name="Ana")
    bob = a.client("participant", "p-bob", name="Bob")
    await a.settle_async()
    ana.change(add_note("n", "une idée"))
    await a.settle_async()
    forbidden, allowed = bob.build(delete), ana.build(move)
    if move_first:
        ana.send(protocol.Update(allowed))  # accepted on B, not yet stored
        bob.send(protocol.Update(forbidden))
        await a.commit_async()  # A stores the undo and publishes it to B
    else:
        bob.send(protocol.Update(forbidden))
        await a.commit_async()
        ana.send(protocol.Update(allowed))  # B has the re-created note already: a no-op there
    await a.settle_async()
    assert bob.denied == [FORBIDDEN]
    assert ana.denied == []
    viewers = (a.client("viewer", "va"), b.client("viewer", "vb"))
    await a.settle_async()
    for client in (ana, bob, *viewers):
        assert client.notes()["n"]["x"] == 321.0, client.peer.actor
        assert client.board() == viewers[0].board()


def whole_doc_update(client: Client, change: Callable[[Doc], None]) -> bytes:
    """What a client that sends `get_update(state)` sends: its whole doc's delete set, which
    lists the refused delete once it has that, among the rest."""
    before = client.doc.get_state()
    with client.doc.transaction(origin="local"):
        change(client.doc)
    return client.doc.get_update(before)


def test_a_whole_doc_delete_set_after_the_undo_deletes_nothing() -> None:
    """Every client that saw the refused delete holds it in its delete set: a sync answer or a
    client sending its whole delete set names the old entry too, and must not remove the
    re-created note (nor any of its fields)."""
    net, c = workshop()
    c["bob"].change(delete)
    net.settle()
    assert c["bob"].denied == [FORBIDDEN]
    # The facilitator's next change, and Ana's sync answer, carry the whole delete set.
    c["fac"].send(protocol.Update(whole_doc_update(c["fac"], add_note("f", "facilitator"))))
    c["ana"].send(protocol.Update(whole_doc_update(c["ana"], lambda d: None)))
    c["ana"].send(protocol.SyncStep2(c["ana"].doc.get_update(b"\x00")))
    net.settle()
    final = converged(net, c)
    assert final["n"]["text"] == "une idée" and set(final["n"]) >= {"x", "y", "color"}
    assert all(client.denied == [] for name, client in c.items() if name != "bob")


async def test_the_author_deleting_on_another_process_crossing_a_forbidden_delete() -> None:
    a, b = two_processes()
    ana = b.client("participant", "p-ana", name="Ana")
    bob = a.client("participant", "p-bob", name="Bob")
    await a.settle_async()
    ana.change(add_note("n", "une idée"))
    await a.settle_async()
    forbidden, allowed = bob.build(delete), ana.build(delete)
    ana.send(protocol.Update(allowed))  # accepted on B (the note is alive there)
    bob.send(protocol.Update(forbidden))
    await a.commit_async()
    await a.settle_async()
    assert bob.denied == [FORBIDDEN] and ana.denied == []
    viewers = (a.client("viewer", "va"), b.client("viewer", "vb"))
    await a.settle_async()
    for client in (ana, bob, *viewers):
        assert "n" not in client.notes(), client.peer.actor


def test_a_field_rewritten_by_many_people_is_still_placed() -> None:
    """The old entry's x went through twenty writers' hands (an origin chain across clients,
    read back in rounds): the author's crossing move still lands."""
    net, c = workshop()
    for i in range(20):
        mover = c["fac"] if i % 2 else c["eva"]  # anyone may move a note
        mover.change(lambda d, i=i: note(d).__setitem__("x", float(i)))
        net.settle()
    forbidden = c["bob"].build(delete)
    allowed = c["ana"].build(move)
    c["bob"].send(protocol.Update(forbidden))
    net.commit()
    c["ana"].send(protocol.Update(allowed))
    net.settle()
    assert c["ana"].denied == []
    final = converged(net, c)
    assert (final["n"]["x"], final["n"]["y"]) == (321.0, 123.0)
