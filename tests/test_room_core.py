"""The room's sans-I/O core, in process: pycrdt clients talking to `RoomCore` through bytes
(tests/roomnet.py), no socket, no subprocess, no storage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import protocol
from crdt.awareness import MAX_AWARENESS_IDS, MAX_AWARENESS_STATE_BYTES
from crdt.protocol import CloseCode
from tests.roomnet import Client, Net, two_processes
from tests.test_races import (
    DELETE_RACES,
    FORBIDDEN_DELETE_RACES,
    RACES,
    REFUSED_ONLY,
    clusters,
    expected_after_forbidden,
)
from tests.yclient import add_note


def workshop(settings: dict[str, Any] | None = None) -> tuple[Net, dict[str, Client]]:
    net = Net(settings)
    clients = {
        "fac": net.client("facilitator"),
        "ana": net.client("participant", "p-ana", name="Ana"),
        "bob": net.client("participant", "p-bob", name="Bob"),
    }
    return net, clients


def fresh(net: Net) -> Client:
    return net.client("viewer")


def test_a_joiner_syncs_and_allowed_edits_reach_everyone() -> None:
    net, c = workshop()
    c["ana"].change(add_note("n", "une idée"))
    net.settle()
    c["bob"].change(lambda d: d.get("notes", type=Map)["n"].__setitem__("x", 42.0))
    net.settle()
    joiner = fresh(net)
    assert joiner.synced
    assert joiner.notes()["n"]["text"] == "une idée"
    assert joiner.notes()["n"]["x"] == 42.0
    for client in (*c.values(), joiner):
        assert client.board() == joiner.board()
        assert client.denied == []
    # One commit per settle: what was stored is what a joiner rebuilds.
    rebuilt: Doc[Any] = Doc()
    for data in net.stored:
        rebuilt.apply_update(data)
    assert rebuilt.get("notes", type=Map).to_py() == joiner.notes()


def test_a_forbidden_edit_is_undone_on_its_sender_and_never_seen_by_others() -> None:
    net, c = workshop()
    c["ana"].change(add_note("n", "une idée"))
    net.settle()
    before = {name: len(client.received) for name, client in c.items()}
    c["bob"].change(lambda d: d.get("notes", type=Map)["n"].__setitem__("text", "HIJACKED"))
    assert c["bob"].notes()["n"]["text"] == "HIJACKED"  # locally, until the server answers
    net.settle()
    assert c["bob"].denied == ["you can only change or delete notes you wrote"]
    assert c["bob"].notes()["n"]["text"] == "une idée"  # converged back by itself
    for name in ("fac", "ana"):
        assert c[name].denied == []
        assert all(b"HIJACKED" not in f for f in c[name].received[before[name] :])
    assert all(b"HIJACKED" not in data for data in net.stored)
    # Bob's later allowed edits are accepted and reach the others.
    c["bob"].change(add_note("b1", "my own idea"))
    net.settle()
    assert c["ana"].notes()["b1"]["text"] == "my own idea"
    assert c["bob"].denied == ["you can only change or delete notes you wrote"]
    assert c["bob"].board() == fresh(net).board()


def test_a_viewer_edit_is_undone_on_the_viewer_too() -> None:
    """A viewer's write is undone like any forbidden one (before, it was dropped and the
    viewer's doc kept the note the board does not have)."""
    net, c = workshop()
    viewer = fresh(net)
    viewer.change(add_note("v", "VIEWER-WROTE"))
    net.settle()
    assert viewer.denied == ["viewers cannot change the board"]
    assert "v" not in viewer.notes()
    assert "v" not in c["fac"].notes()
    assert viewer.board() == fresh(net).board()
    assert all(b"VIEWER-WROTE" not in data for data in net.stored)


def test_too_many_refusals_close_the_connection_with_4403() -> None:
    net, _ = workshop()
    viewer = fresh(net)
    for i in range(10):
        viewer.change(add_note(f"v{i}", "no"))
    assert viewer.closed == (CloseCode.FORBIDDEN, "too many refused changes")


@pytest.mark.parametrize("case", list(RACES))
@pytest.mark.parametrize("first_wins", [True, False])
def test_concurrent_pairs_of_the_race_matrix_are_never_refused(case: str, first_wins: bool) -> None:
    net, c = workshop()
    c["ana"].change(add_note("n", "une idée"))
    c["fac"].change(
        lambda d: clusters(d).__setitem__(
            "c", Map({"title": "Cluster", "x": 0.0, "y": 0.0, "color": "blue"})
        )
    )
    net.settle()
    (who1, edit1), (who2, edit2) = RACES[case] if first_wins else reversed(RACES[case])
    u1, u2 = c[who1].build(edit1), c[who2].build(edit2)  # neither has seen the other's
    c[who1].send(protocol.Update(u1))
    c[who2].send(protocol.Update(u2))
    net.settle()
    joiner = fresh(net)
    for name, client in c.items():
        assert client.denied == [], (name, client.denied)
        assert client.closed is None
        assert client.board() == joiner.board(), name


def setup_race(clients: dict[str, Client], settle: Any) -> Any:
    """Ana's note n and the facilitator's cluster c, as tests/test_races.py sets them up."""
    clients["ana"].change(add_note("n", "une idée"))
    clients["fac"].change(
        lambda d: clusters(d).__setitem__(
            "c", Map({"title": "Cluster", "x": 0.0, "y": 0.0, "color": "blue"})
        )
    )
    return settle()


@pytest.mark.parametrize("case", list(FORBIDDEN_DELETE_RACES))
@pytest.mark.parametrize("forbidden_first", [True, False])
def test_writes_crossing_a_refused_delete_land_in_either_order(
    case: str, forbidden_first: bool
) -> None:
    """The refused-delete half of the race matrix: the deleter alone is refused, once, with its
    reason, and the crossing write lands (over real sockets: tests/test_races.py)."""
    net, c = workshop()
    setup_race(c, net.settle)
    legit, forbidden = FORBIDDEN_DELETE_RACES[case]
    (who1, edit1), (who2, edit2) = (forbidden, legit) if forbidden_first else (legit, forbidden)
    u1, u2 = c[who1].build(edit1), c[who2].build(edit2)
    c[who1].send(protocol.Update(u1))
    c[who2].send(protocol.Update(u2))
    net.settle()
    joiner = fresh(net)
    assert c["bob"].denied == [REFUSED_ONLY[case]]
    for name, client in c.items():
        if name != "bob":
            assert client.denied == [], (name, client.denied)
        assert client.closed is None
        assert client.board() == joiner.board(), name
    assert expected_after_forbidden(case, joiner.board()), joiner.board()


def race_across_processes_cases() -> list[tuple[str, bool, str]]:
    """Every race in both orders with Bob on the second process; the races with a delete again
    with Ana (the author) there: an edit on one process while another deletes."""
    cases = [(case, first_wins, "bob") for case in RACES for first_wins in (True, False)]
    cases += [(case, first_wins, "ana") for case in DELETE_RACES for first_wins in (True, False)]
    return cases


@pytest.mark.parametrize(("case", "first_wins", "remote"), race_across_processes_cases())
async def test_the_race_matrix_across_two_processes_is_never_refused(
    case: str, first_wins: bool, remote: str
) -> None:
    """Two cores of one board linked as by the fan-out, with shared claims (the real-process
    run over PostgreSQL and Redis is tests/test_races.py)."""
    a, b = two_processes()
    c = {
        "fac": a.client("facilitator"),
        "ana": (b if remote == "ana" else a).client("participant", "p-ana", name="Ana"),
        "bob": (b if remote == "bob" else a).client("participant", "p-bob", name="Bob"),
    }
    await a.settle_async()
    await setup_race(c, a.settle_async)
    (who1, edit1), (who2, edit2) = RACES[case] if first_wins else reversed(RACES[case])
    u1, u2 = c[who1].build(edit1), c[who2].build(edit2)
    c[who1].send(protocol.Update(u1))
    c[who2].send(protocol.Update(u2))
    await a.settle_async()
    joiners = (a.client("viewer", "late-a"), b.client("viewer", "late-b"))
    await a.settle_async()
    assert joiners[0].board() == joiners[1].board()
    for name, client in c.items():
        assert client.denied == [], (name, client.denied)
        assert client.closed is None
        assert client.board() == joiners[0].board(), name


def presence(client_id: int, clock: int, state: Any) -> protocol.Awareness:
    entry = protocol.AwarenessState(client_id, clock, state)
    return protocol.Awareness(protocol.encode_awareness([entry]))


def test_presence_is_stamped_from_the_token_and_bounded() -> None:
    net, c = workshop()
    state = {"user": {"name": "Facilitator (official)", "role": "facilitator"}, "cursor": [1, 2]}
    update = protocol.encode_awareness([protocol.AwarenessState(7, 1, state)])
    c["bob"].send(protocol.Awareness(update))
    net.settle()
    assert c["ana"].awareness[7]["user"] == {"name": "Bob", "role": "participant"}
    assert 7 not in c["bob"].awareness  # never echoed to its sender
    # Another connection cannot speak for id 7.
    c["ana"].send(presence(7, 5, {}))
    net.settle()
    assert c["fac"].awareness[7]["user"]["name"] == "Bob"
    # Too many ids from one connection: closed.
    states = [protocol.AwarenessState(100 + i, 1, {}) for i in range(MAX_AWARENESS_IDS + 1)]
    c["ana"].send(protocol.Awareness(protocol.encode_awareness(states)))
    assert c["ana"].closed == (CloseCode.MALFORMED, "too many awareness client ids")
    # A state over the bound: closed with 4413.
    big = {"blob": "x" * MAX_AWARENESS_STATE_BYTES}
    c["bob"].send(presence(8, 1, big))
    reason = f"presence over {MAX_AWARENESS_STATE_BYTES} bytes"
    assert c["bob"].closed == (CloseCode.TOO_LARGE, reason)
    # Leaving takes a connection's presence away from the others.
    net.settle()
    assert 7 not in c["fac"].awareness


def test_presence_on_an_anonymous_board_carries_no_name_or_group() -> None:
    net, c = workshop({"anonymous": True})
    state = {"user": {"name": "Bob", "group": "voisins"}}
    c["bob"].send(presence(9, 1, state))
    net.settle()
    assert c["ana"].awareness[9] == {"user": {"role": "participant"}}
    assert json.dumps(c["fac"].awareness[9]).find("voisins") == -1


# ------------------------------------------------------------------ two processes, one board




@pytest.mark.parametrize("ana_id, bob_id", [(1000, 2000), (2000, 1000)])
async def test_a_note_id_created_at_once_on_two_processes_is_accepted_once(
    ana_id: int, bob_id: int
) -> None:
    """Both creations are accepted locally before either process hears of the other's; the
    claim goes to the first batch stored. Yjs alone would keep the higher client id's note, so
    with Bob's id higher the winner's process puts Ana's note back."""
    a, b = two_processes()
    ana = a.client("participant", "p-ana", name="Ana", client_id=ana_id)
    bob = b.client("participant", "p-bob", name="Bob", client_id=bob_id)
    await a.settle_async()
    ana.change(add_note("same", "Ana's idea"))
    bob.change(add_note("same", "BOB-TAKES-IT"))
    await a.commit_async()  # A stores first: Ana's creation wins the claim
    await a.settle_async()
    assert bob.denied == ["that note id was already used"]
    assert ana.denied == []
    for client in (ana, bob, a.client("viewer"), b.client("viewer")):
        await a.settle_async()
        assert client.notes()["same"]["text"] == "Ana's idea", client.peer.actor
    board_a, board_b = a.core.board_state(), b.core.board_state()
    assert board_a.note_authors["same"] == board_b.note_authors["same"] == "p-ana"
    assert board_a.notes_by_actor.get("p-bob", 0) == board_b.notes_by_actor["p-bob"] == 0
    # The loser's content was never stored or sent readable, on either process.
    for net in (a, b):
        assert all(b"BOB-TAKES-IT" not in data for data in net.stored)
    assert all(b"BOB-TAKES-IT" not in frame for frame in ana.received)


async def test_a_client_id_used_first_on_another_process_cannot_be_taken() -> None:
    a, b = two_processes()
    ana = a.client("participant", "p-ana", name="Ana", client_id=4242)
    await a.settle_async()
    ana.change(add_note("ana-1", "mine"))
    thief = b.client("participant", "p-bob", name="Bob", client_id=4242)  # Ana's id
    await a.settle_async()
    thief.doc = Doc(client_id=4242)
    thief.doc.apply_update(ana.doc.get_update())
    thief.change(add_note("bob-as-ana", "FORGED"))
    await a.settle_async()
    assert thief.closed == (CloseCode.FORBIDDEN, "that Yjs client id belongs to someone else")
    assert "bob-as-ana" not in ana.notes()
    assert all(b"FORGED" not in data for data in (*a.stored, *b.stored))


async def test_notes_deleted_on_another_process_leave_the_quota_there_too() -> None:
    a, b = two_processes()
    for net in (a, b):
        board = net.core.board_state()
        board.settings = {**board.settings, "max_notes_per_participant": 2}
    ana_a = a.client("participant", "p-ana", name="Ana")
    await a.settle_async()
    ana_a.change(add_note("n1", "one"))
    ana_a.change(add_note("n2", "two"))
    await a.settle_async()
    ana_a.change(lambda d: [d.get("notes", type=Map).pop(n) for n in ("n1", "n2")])
    await a.settle_async()
    ana_b = b.client("participant", "p-ana", name="Ana")  # her second tab, on process B
    await a.settle_async()
    ana_b.change(add_note("n3", "three"))
    await a.settle_async()
    assert ana_b.denied == []
    assert b.core.board_state().live_notes == a.core.board_state().live_notes == 1
