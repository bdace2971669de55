"""Deleting is a field (DESIGN.md "Who may do what"): a note or cluster is deleted by writing
`deleted: true`; an accepted one is removed by the server in the same step, a forbidden one is
undone like any field write, so a change that crossed it lands in the same live map.

In process (tests/roomnet.py) for the matrix; the end-to-end case over real sockets, with a
restart, is `test_soft_delete_over_real_sockets_and_a_restart` below. Old logs (hard deletes,
re-created notes) replay unchanged: `test_an_old_log_replays_unchanged`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import protocol, rules, schema
from crdt.replay import EventDecoder, state_at
from crdt.rules import Actor
from server.store.log import UpdateRecord
from tests.roomnet import Client, Net, two_processes
from tests.yclient import YClient, add_note

OWN_ONLY = "you can only change or delete notes you wrote"
ONLY_FACILITATOR = rules.ONLY_FACILITATOR_DELETES_CLUSTERS
SECRET = "a secret idea nobody should read again"
LOG_V1 = Path(__file__).parent / "data" / "board_log_v1.json"


def notes(doc: Doc) -> Map[Any]:
    return doc.get("notes", type=Map)


def clusters(doc: Doc) -> Map[Any]:
    return doc.get("clusters", type=Map)


def mark_deleted(root: str, item: str) -> Any:
    return lambda d: d.get(root, type=Map)[item].__setitem__("deleted", True)


def board_with_note(text: str = "une idée") -> tuple[Net, Client, Client, Client]:
    net = Net()
    fac = net.client("facilitator", "fac")
    ana = net.client("participant", "ana", name="Ana")
    bob = net.client("participant", "bob", name="Bob")
    ana.change(add_note("n", text, author="Ana"))
    fac.change(
        lambda d: clusters(d).__setitem__(
            "c", Map({"title": "Cluster", "x": 0.0, "y": 0.0, "color": "blue"})
        )
    )
    net.settle()
    return net, fac, ana, bob


def test_a_forbidden_soft_delete_crossing_the_authors_move_and_edit_keeps_both() -> None:
    net, fac, ana, bob = board_with_note()
    forbidden = bob.build(mark_deleted("notes", "n"))

    def move_and_edit(d: Doc) -> None:
        notes(d)["n"]["x"] = 321.0
        notes(d)["n"]["text"] = "edited by Ana"

    crossing = ana.build(move_and_edit)  # built before Ana sees Bob's write
    bob.send(protocol.Update(forbidden))
    net.commit()  # the undo is stored (and sent) before Ana's change arrives
    ana.send(protocol.Update(crossing))
    net.settle()
    assert bob.denied == [OWN_ONLY]
    assert ana.denied == [] and fac.denied == []
    joiner = net.client("viewer", "late")
    expected = joiner.board()
    assert expected["notes"]["n"]["x"] == 321.0
    assert expected["notes"]["n"]["text"] == "edited by Ana"
    assert "deleted" not in expected["notes"]["n"]
    for client in (fac, ana, bob):
        assert client.board() == expected


def test_a_participant_may_not_soft_delete_a_cluster() -> None:
    net, fac, _ana, bob = board_with_note()
    bob.change(mark_deleted("clusters", "c"))
    net.settle()
    assert bob.denied == [ONLY_FACILITATOR]
    assert fac.board()["clusters"]["c"] == {"title": "Cluster", "x": 0.0, "y": 0.0, "color": "blue"}


@pytest.mark.parametrize("who", ["ana", "fac"])
def test_an_allowed_soft_delete_crossing_a_move_removes_the_note_for_everyone(who: str) -> None:
    """The author's delete, then the facilitator's: no refusal (the move lands in a removed
    map, a harmless no-op), gone for all, and its text is in nothing sent or stored after it."""
    net, fac, ana, bob = board_with_note(SECRET)
    deleter = {"ana": ana, "fac": fac}[who]
    stored_before = len(net.stored)
    delete = deleter.build(mark_deleted("notes", "n"))
    move = bob.build(lambda d: notes(d)["n"].__setitem__("x", 40.0))
    deleter.send(protocol.Update(delete))
    bob.send(protocol.Update(move))
    net.settle()
    assert net.refusals == []
    joiner = net.client("viewer", "late")
    net.settle()
    for client in (fac, ana, bob, joiner):
        assert client.denied == []
        assert client.notes() == {}
    sync = [f for f in joiner.received if isinstance(protocol.decode(f), protocol.SyncStep2)]
    assert sync and all(SECRET.encode() not in frame for frame in sync)
    assert all(SECRET.encode() not in data for data in net.stored[stored_before:])
    assert SECRET.encode() not in net.core.keyframe().state
    assert net.core.board_state().live_notes == 0
    assert net.core.board_state().notes_by_actor["ana"] == 0  # the quota is freed


def test_the_facilitator_soft_deletes_a_cluster() -> None:
    net, fac, ana, bob = board_with_note()
    rename = bob.build(lambda d: clusters(d)["c"].__setitem__("title", "Renamed"))
    fac.change(mark_deleted("clusters", "c"))
    bob.send(protocol.Update(rename))
    net.settle()
    assert net.refusals == []
    assert net.core.board_state().live_clusters == 0
    for client in (fac, ana, bob):
        assert client.board()["clusters"] == {}


def test_a_note_made_and_deleted_offline_arrives_removed() -> None:
    net, fac, ana, _bob = board_with_note()
    ana.change(add_note("offline", SECRET, author="Ana", deleted=True))
    net.settle()
    assert net.refusals == []
    assert "offline" not in fac.notes() and "offline" not in ana.notes()
    assert SECRET.encode() not in net.stored[-1]
    assert net.core.board_state().notes_by_actor["ana"] == 1  # "n" only


@pytest.mark.parametrize("value", [False, "yes", 1.0])
def test_deleted_is_true_or_nothing(value: Any) -> None:
    net, fac, ana, _bob = board_with_note()
    ana.change(lambda d: notes(d)["n"].__setitem__("deleted", value))
    net.settle()
    assert ana.denied == ["an entry is deleted by writing deleted: true"]
    assert "deleted" not in fac.notes()["n"]


def test_a_soft_delete_passes_on_a_full_board() -> None:
    net, fac, ana, _bob = board_with_note()
    board = net.core.board_state()
    board.max_bytes = board.bytes  # full: nothing more may be stored
    ana.change(lambda d: notes(d)["n"].__setitem__("x", 5.0))
    net.settle()
    assert ana.denied == [f"the board is full: at most {board.max_bytes / 2**20:g} MiB"]
    ana.denied.clear()
    ana.change(mark_deleted("notes", "n"))
    net.settle()
    assert ana.denied == []
    assert fac.notes() == {}


def test_a_locked_board_refuses_the_authors_soft_delete() -> None:
    net, fac, ana, _bob = board_with_note()
    net.core.board_state().settings = {**net.core.board_state().settings, "locked": True}
    ana.change(mark_deleted("notes", "n"))
    net.settle()
    assert ana.denied == ["the board is locked"]
    assert "n" in fac.notes() and "deleted" not in ana.notes()["n"]


async def test_a_soft_delete_on_one_process_removes_the_note_on_the_other() -> None:
    a, b = two_processes()
    ana = a.client("participant", "ana", name="Ana")
    bob = b.client("participant", "bob", name="Bob")
    ana.change(add_note("n", SECRET, author="Ana"))
    await a.settle_async()
    assert "n" in bob.notes() and b.core.board_state().live_notes == 1
    move = bob.build(lambda d: notes(d)["n"].__setitem__("x", 9.0))
    ana.change(mark_deleted("notes", "n"))
    bob.send(protocol.Update(move))
    await a.settle_async()
    assert a.refusals == [] and b.refusals == []
    assert ana.notes() == {} and bob.notes() == {}
    assert b.core.board_state().live_notes == 0 and b.core.board_state().notes_by_actor["ana"] == 0


def test_a_hard_delete_of_anothers_note_is_undone_and_loses_what_crossed_it() -> None:
    """What a stock client that deletes the Y.Map entry gets (docs/schema.md): the note is
    re-created as a new entry, and a change built before that names the old one: lost."""
    net, fac, ana, bob = board_with_note()
    forbidden = bob.build(lambda d: notes(d).pop("n"))
    crossing = ana.build(lambda d: notes(d)["n"].__setitem__("x", 321.0))
    bob.send(protocol.Update(forbidden))
    net.commit()
    ana.send(protocol.Update(crossing))
    net.settle()
    assert bob.denied == [OWN_ONLY] and ana.denied == []
    for client in (fac, ana, bob):
        assert client.notes()["n"]["x"] == 0.0  # re-created, the crossing move lost
        assert client.notes()["n"]["text"] == "une idée"


@pytest.mark.parametrize("forbidden_wins", [True, False])
def test_two_soft_deletes_of_one_note_are_two_writes_of_one_key(forbidden_wins: bool) -> None:
    """Bob's forbidden `deleted: true` and Ana's own, concurrent: Yjs keeps the higher client
    id's write of a key. When Bob's wins, the undo leaves the key empty: the note stays (no
    refusal for Ana, who sees it back); else Ana's delete is accepted."""
    net = Net()
    low, high = 1_000_001, 2_000_002
    ana = Client(net, Actor("participant", "ana", "Ana"), low if forbidden_wins else high)
    bob = Client(net, Actor("participant", "bob", "Bob"), high if forbidden_wins else low)
    ana.connect()
    bob.connect()
    ana.change(add_note("n", "une idée", author="Ana"))
    net.settle()
    forbidden = bob.build(mark_deleted("notes", "n"))
    own = ana.build(mark_deleted("notes", "n"))
    bob.send(protocol.Update(forbidden))
    net.commit()
    ana.send(protocol.Update(own))
    net.settle()
    assert bob.denied == [OWN_ONLY] and ana.denied == []
    assert ana.board() == bob.board() == net.client("viewer", "late").board()
    assert ("n" in ana.notes()) is forbidden_wins
    if forbidden_wins:
        assert "deleted" not in ana.notes()["n"]


def test_an_old_log_replays_unchanged() -> None:
    """A log written before soft delete (hard deletes, a refused delete re-created with a
    crossing move carried over: tests/data/board_log_v1.json) gives the same board after each
    update, the same replay feed, and loads into a room that takes soft deletes."""
    log = json.loads(LOG_V1.read_text())
    updates = [base64.b64decode(u["data"]) for u in log["updates"]]
    decoder = EventDecoder()
    for i, data in enumerate(updates):
        doc: Doc[Any] = Doc()
        doc.apply_update(state_at(None, updates[: i + 1]))
        assert schema.Board(doc).to_json() == log["states"][i], i
        events = [[e.kind, e.target] for e in decoder.apply(i + 1, 0.0, "x", data)]
        assert events == log["events"][i], i
    records = [
        UpdateRecord(u["seq"], 0.0, u["actor"], data)
        for u, data in zip(log["updates"], updates, strict=True)
    ]
    net = Net()
    core = net.core
    for note_id, actor in {"n1": "ana", "n2": "ana", "n3": "bob", "n4": "bob"}.items():
        core.board_state().record_created([note_id], actor)  # the note_authors table, at load
    core.load(None, records)
    ana = net.client("participant", "ana", name="Ana")
    bob = net.client("participant", "bob", name="Bob")
    net.settle()
    assert schema.Board(core.committed_doc()).to_json() == log["states"][-1]
    # Old notes have no `deleted` field: they are live, and delete the new way.
    bob.change(mark_deleted("notes", "n1"))  # Ana's: refused
    ana.change(lambda d: notes(d)["n1"].__setitem__("x", 7.0))
    bob.change(mark_deleted("notes", "n3"))  # his own
    net.settle()
    assert bob.denied == [OWN_ONLY] and ana.denied == []
    assert set(ana.notes()) == {"n1"} and ana.notes()["n1"]["x"] == 7.0


async def test_soft_delete_over_real_sockets_and_a_restart(make_server: Any) -> None:
    """One `cobord serve` process on SQLite, real WebSockets:
    1. Bob's forbidden `deleted: true` crosses Ana's move and edit, built offline and sent when
       she reconnects after a server restart: both land (nothing was remembered);
    2. Ana's own delete crossing Bob's move, then the facilitator's delete of Bob's note crossing
       Ana's move: no refusal, gone for all, their texts in neither a fresh joiner's sync nor
       the keyframe written at shutdown."""
    server = make_server()
    board = server.create_board()
    ana_token = server.join(board["join_code"], "Ana")["token"]
    bob_token = server.join(board["join_code"], "Bob")["token"]
    url = lambda token: server.url(board["id"], token)  # noqa: E731
    ana = await YClient(url(ana_token)).connect()
    bob = await YClient(url(bob_token)).connect()
    await ana.change(add_note("n", "une idée", author="Ana"))
    await bob.wait_until(lambda: "n" in bob.notes())
    await ana.close()  # offline: her doc stays with her
    with ana.doc.transaction(origin="local"):
        notes(ana.doc)["n"]["x"] = 321.0
        notes(ana.doc)["n"]["text"] = "edited offline"
    await bob.change(mark_deleted("notes", "n"))
    await bob.wait_until(lambda: bob.denied == [OWN_ONLY] and "deleted" not in bob.notes()["n"])
    await bob.close()
    server.stop()
    server.start()
    ana = await YClient(url(ana_token), doc=ana.doc).connect()  # her sync answer carries it
    bob = await YClient(url(bob_token)).connect()
    fac = await YClient(url(board["facilitator_token"])).connect()
    landed = {"x": 321.0, "text": "edited offline"}
    for client in (ana, bob, fac):
        await client.wait_until(
            lambda c=client: landed.items() <= c.notes().get("n", {}).items()
        )
    assert ana.denied == [] and "deleted" not in fac.notes()["n"]

    async def crossing_delete(deleter: YClient, mover: YClient, note_id: str) -> None:
        for client in (ana, bob, fac):
            await client.wait_until(lambda c=client: note_id in c.notes())
        s1, s2 = deleter.doc.get_state(), mover.doc.get_state()
        with deleter.doc.transaction(origin="local"):
            mark_deleted("notes", note_id)(deleter.doc)
        with mover.doc.transaction(origin="local"):
            notes(mover.doc)[note_id]["x"] = 40.0
        await asyncio.gather(
            deleter.send(protocol.Update(deleter.doc.get_update(s1))),
            mover.send(protocol.Update(mover.doc.get_update(s2))),
        )
        for client in (ana, bob, fac):
            await client.wait_until(lambda c=client: note_id not in c.notes())

    await ana.change(add_note("m", SECRET, author="Ana"))
    await crossing_delete(ana, bob, "m")
    other = "the facilitator removes this one"
    await bob.change(add_note("k", other, author="Bob"))
    await crossing_delete(fac, ana, "k")
    for client in (ana, bob, fac):  # (Bob's refusal went to his connection before the restart)
        assert client.denied == []
    joiner = await YClient(url(board["viewer_token"])).connect()
    assert set(joiner.notes()) == {"n"}
    synced = [f for f in joiner.received if isinstance(protocol.decode(f), protocol.SyncStep2)]
    assert synced and all(SECRET.encode() not in f and other.encode() not in f for f in synced)
    for client in (ana, bob, fac, joiner):
        await client.close()
    server.stop()  # writes the board's keyframe
    database = server.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        (state,) = db.execute(
            "SELECT state FROM snapshots WHERE board_id = ? ORDER BY seq DESC LIMIT 1",
            (board["id"],),
        ).fetchone()
    assert b"edited offline" in state
    assert SECRET.encode() not in state and other.encode() not in state
