"""What one update and one joiner cost the room does not grow with what the board has seen (#17).

Judging an update reads the clocks of the clients it touches, not the board's whole state
vector (one entry per client the board has seen: hundreds on a busy board); the shadow keeps
that vector as a dict, from what each transaction adds, and it must stay exact through every
kind of transaction (parked structs integrated later included). Joiners share one encoded first
sync until the doc changes. Counted in calls, not timed: the machine's load does not change them.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import protocol, updates
from crdt import shadow as shadow_module
from crdt.shadow import Change, ShadowDoc
from tests.roomnet import Net, two_processes
from tests.support import own_update
from tests.test_updates import random_edits
from tests.yclient import add_note


def decoded(doc: Doc[Any]) -> dict[int, int]:
    """The doc's state vector, without the clients at clock 0 (yrs lists a client it parked
    structs of; absent and 0 mean the same: nothing of it is held)."""
    return {c: k for c, k in protocol.decode_state_vector(doc.get_state()).items() if k}


def held(shadow: ShadowDoc) -> dict[int, int]:
    """The shadow's clocks, checked against the doc's: never ahead, behind only for the
    server's own client (its writes), and exact when asked."""
    clocks = {c: k for c, k in shadow.state_vector().items() if k}
    exact = decoded(shadow.doc)
    assert all(k <= exact.get(c, 0) for c, k in clocks.items())
    assert {c: k for c, k in clocks.items() if c != shadow.doc.client_id} == {
        c: k for c, k in exact.items() if c != shadow.doc.client_id
    }
    assert {c: k for c, k in shadow.state_vector(exact=True).items() if k} == exact
    return exact


def test_the_shadows_clocks_follow_every_kind_of_transaction() -> None:
    rng = random.Random(17)
    writers = [Doc() for _ in range(4)]
    streams = [random_edits(rng, doc, 40) for doc in writers]
    shadow = ShadowDoc(roots=("notes", "meta"))
    trusted = ShadowDoc(roots=("notes", "meta"))
    for step in range(40):
        for stream in streams:
            before = dict(shadow.state_vector())
            shadow.apply(stream[step])
            vector = decoded(shadow.doc)
            assert held(shadow) == vector
            moved = {c: before.get(c, 0) for c, k in vector.items() if k > before.get(c, 0)}
            assert shadow.writers_before == moved
            assert sorted(shadow.writers) == sorted(moved)
        if step % 5 == 0:  # the server's own writes and undos move its own client forward
            changes = shadow.write(
                lambda doc, s=step: doc.get("notes", type=Map).__setitem__(f"s{s}", Map({"x": 1}))
            )
            assert held(shadow) == decoded(shadow.doc)
            shadow.undo(changes, lambda _root, _item: None)
            assert held(shadow) == decoded(shadow.doc)
    # Committed elsewhere and relayed out of order (each writer's updates two by two, the later
    # first): yrs parks what misses its dependencies and integrates it inside a later
    # transaction. (A full shuffle makes yrs 0.28 panic in its deep-event code, before and
    # after this change alike.)
    relayed = [u for step in range(0, 40, 2) for s in streams for u in (s[step + 1], s[step])]
    for update in relayed:
        trusted.apply_trusted(update)
        assert held(trusted) == decoded(trusted.doc)
    for doc in writers:
        assert trusted.state_vector()[doc.client_id] == shadow.state_vector()[doc.client_id]


def test_a_parked_update_counts_once_another_brings_what_it_waited_for() -> None:
    author = Doc()
    first = own_update(author, add_note("n", "une idée"))
    second = own_update(author, lambda d: d.get("notes", type=Map)["n"].__setitem__("x", 5.0))
    shadow = ShadowDoc(roots=("notes",))
    shadow.apply_trusted(second)  # parked: its first struct's clock is not held yet
    assert author.client_id not in shadow.state_vector()
    assert held(shadow) == decoded(shadow.doc)
    shadow.apply_trusted(first)  # both integrate in this transaction
    assert shadow.state_vector()[author.client_id] == decoded(author)[author.client_id]
    assert held(shadow) == decoded(shadow.doc)
    assert shadow.doc.get("notes", type=Map)["n"]["x"] == 5.0


def cost_of_one_move(clients: int, counted: dict[str, int], monkeypatch: Any) -> int:
    """Calls made while a room judges and queues one move of a note, on a board whose state
    vector has an entry for each of `clients` Yjs clients (as after a workshop's first minutes;
    here one participant's tabs, so that the board is built quickly)."""
    net = Net({"max_notes_per_participant": 1000})
    tabs = [Doc() for _ in range(clients)]
    sender = net.client("participant", "p-ana")
    for i, tab in enumerate(tabs):
        sender.send(protocol.Update(own_update(tab, add_note(f"n{i}", "idée"))))
    net.settle()
    assert len(net.core.shadow_doc().state_vector()) == clients
    update = own_update(tabs[0], lambda d: d.get("notes", type=Map)["n0"].__setitem__("x", 3.0))
    calls = {"var_uint": 0, "decode_state_vector": 0}
    var_uint = protocol.Reader.var_uint
    decode = protocol.decode_state_vector

    def counting_var_uint(reader: protocol.Reader) -> int:
        calls["var_uint"] += 1
        return var_uint(reader)

    def counting_decode(data: bytes) -> dict[int, int]:
        calls["decode_state_vector"] += 1
        return decode(data)

    monkeypatch.setattr(protocol.Reader, "var_uint", counting_var_uint)
    monkeypatch.setattr(protocol, "decode_state_vector", counting_decode)
    sender.send(protocol.Update(update))
    monkeypatch.undo()
    assert [a.data for a in net.core.queued()] == [update]  # accepted, as is
    counted.update(calls)
    return calls["var_uint"]


def test_judging_an_update_reads_only_the_clients_it_touches(monkeypatch: Any) -> None:
    few: dict[str, int] = {}
    many: dict[str, int] = {}
    assert cost_of_one_move(5, few, monkeypatch) == cost_of_one_move(300, many, monkeypatch)
    assert few["var_uint"] > 0  # (what is counted is on the path)
    assert few["decode_state_vector"] == many["decode_state_vector"] == 0


def first_sync(client: Any) -> bytes:
    (frame,) = [f for f in client.received if isinstance(protocol.decode(f), protocol.SyncStep2)]
    return frame  # type: ignore[no-any-return]


def test_joiners_share_one_encoded_first_sync_until_the_board_changes() -> None:
    net = Net()
    author = net.client("participant", "p-ana")
    author.change(add_note("n", "une idée"))
    net.settle()
    first, second = net.client("viewer"), net.client("viewer")
    assert first_sync(first) is first_sync(second)  # the same bytes, encoded once
    assert first.notes() == second.notes() == {"n": author.notes()["n"]}
    step1 = [f for f in first.received if isinstance(protocol.decode(f), protocol.SyncStep1)]
    assert step1 == [protocol.encode(protocol.SyncStep1(net.core.committed_doc().get_state()))]
    # A hard delete of a map entry adds no struct (the state vector stays): still a change.
    vector = net.core.committed_doc().get_state()
    author.change(lambda d: d.get("notes", type=Map).__delitem__("n"))
    net.settle()
    assert net.core.committed_doc().get_state() == vector
    third = net.client("viewer")
    assert first_sync(third) is not first_sync(first)
    assert third.notes() == author.notes() == {}
    assert third.board() == first.board()


@pytest.mark.parametrize("vector", [b"\x80", b"\x01\x05"])
def test_a_malformed_state_vector_still_closes_with_4400(vector: bytes) -> None:
    net = Net()
    client = net.client("viewer")
    client.send(protocol.SyncStep1(vector))
    assert client.closed == (protocol.CloseCode.MALFORMED, "malformed state vector")


def test_a_write_over_the_servers_own_write_is_not_refused() -> None:
    """The server's compensation is a write of its own client, which the shadow's clocks may
    not have counted yet: the author's next edit deletes it (it overwrites the field) and must
    pass (decided again on exact clocks), not be refused as a delete of unknown clocks."""
    net = Net()
    ana = net.client("participant", "p-ana")
    bob = net.client("participant", "p-bob")
    ana.change(add_note("n", "une idée"))
    net.settle()
    bob.change(lambda d: d.get("notes", type=Map)["n"].__setitem__("text", "HIJACKED"))
    net.settle()
    assert bob.denied and ana.notes()["n"]["text"] == "une idée"
    refused = len(net.refusals)
    ana.change(lambda d: d.get("notes", type=Map)["n"].__setitem__("text", "mon idée"))
    net.settle()
    assert len(net.refusals) == refused and ana.denied == []
    assert bob.notes()["n"]["text"] == "mon idée"
    assert net.core.committed_doc().get("notes", type=Map)["n"]["text"] == "mon idée"


def test_relaying_the_servers_own_writes_is_not_writing_under_its_id() -> None:
    """A client's update may carry structs of the server's own client that the server already
    holds (relayed, e.g. in a sync reply): the server's clock may lag in the shadow's counts,
    and the sender must not be taken for a writer under the server's Yjs client id."""
    net = Net()
    ana = net.client("participant", "p-ana")
    bob = net.client("participant", "p-bob")
    ana.change(add_note("n", "une idée"))
    net.settle()
    bob.change(lambda d: d.get("notes", type=Map)["n"].__setitem__("text", "HIJACKED"))
    net.settle()  # the server's compensation: a write of its own client, now in Ana's doc
    relay = ana.doc.get_update()  # everything Ana holds, the server's write included
    ana.send(protocol.Update(relay))
    assert ana.closed is None and ana.denied == []
    assert net.core.shadow_doc().writers == []


def test_an_update_costs_one_encoding_of_the_docs_vector_and_its_net_update_stays_exact() -> None:
    """Encoding the doc's state vector is O(clients the board has seen): applying an update
    takes it once (after the update), not twice; the vector before it, which net_update and
    undo need, is rebuilt from the clocks only when asked, and it is the one the doc had."""
    writers = [Doc() for _ in range(30)]
    shadow = ShadowDoc(roots=("notes",))
    for i, doc in enumerate(writers):
        shadow.apply(own_update(doc, add_note(f"n{i}", "idea")))
    encode = shadow.doc.get_state
    calls = []

    def counted() -> bytes:
        calls.append(1)
        return encode()

    for n, doc in enumerate(writers):
        before = encode()
        update = own_update(
            doc, lambda d, n=n: d.get("notes", type=Map)[f"n{n}"].__setitem__("x", float(n))
        )
        shadow.doc.get_state = counted  # type: ignore[method-assign]
        calls.clear()
        shadow.apply(update)
        shadow.doc.get_state = encode  # type: ignore[method-assign]
        assert len(calls) == 1
        assert shadow.net_update() == shadow.doc.get_update(before)


def counting_pycrdt_events(monkeypatch: Any) -> dict[int, int]:
    """pycrdt's wrapping of deep events, counted per shadow doc (by its client id)."""
    counts: dict[int, int] = {}
    wrap = shadow_module.observe_deep_callback

    def counting(callback: Any, doc: Doc[Any], param_nb: int, events: list[Any]) -> None:
        counts[doc.client_id] = counts.get(doc.client_id, 0) + 1
        wrap(callback, doc, param_nb, events)

    monkeypatch.setattr(shadow_module, "observe_deep_callback", counting)
    return counts


def counts_of(net: Net) -> tuple[int, dict[str, int], int, set[str]]:
    board = net.core.board_state()
    return board.live_notes, board.notes_by_actor, board.live_clusters, board.deleted_notes


async def test_a_relayed_update_builds_no_pycrdt_events_and_counts_stay_exact(
    monkeypatch: Any,
) -> None:
    """The other process judged a relayed update: applying it to this process's shadow builds
    none of pycrdt's event objects (a relayed note move cost ~70 µs of them), and the board's
    bookkeeping still follows every entry created or deleted there, races included."""
    a, b = two_processes()
    fac = a.client("facilitator", "fac")
    ana = a.client("participant", "p-ana", name="Ana")
    bob = b.client("participant", "p-bob", name="Bob")
    fac_b = b.client("facilitator", "fac")
    await a.settle_async()
    bob.change(add_note("k", "la sienne"))
    await a.settle_async()
    counts = counting_pycrdt_events(monkeypatch)
    ana.change(add_note("n", "une idée"))
    ana.change(add_note("m", "une autre"))
    fac.change(lambda d: d.get("clusters", type=Map).__setitem__("c", Map({"title": "C"})))
    ana.change(lambda d: d.get("notes", type=Map)["n"].__setitem__("x", 40.0))
    await a.settle_async()
    # None on B (judging them on A does build them: what is counted is on the path).
    assert counts == {a.core.shadow_doc().doc.client_id: 4}
    assert bob.notes()["n"]["x"] == 40.0 and bob.board()["clusters"]["c"] == {"title": "C"}
    assert counts_of(b) == (3, {"p-ana": 2, "p-bob": 1}, 1, set())
    # Deleted on both processes at once (each judges its own first), a cluster deleted there.
    deletes = (
        ana.build(lambda d: d.get("notes", type=Map)["m"].__setitem__("deleted", True)),
        fac_b.build(lambda d: d.get("notes", type=Map)["m"].__setitem__("deleted", True)),
    )
    ana.send(protocol.Update(deletes[0]))
    fac_b.send(protocol.Update(deletes[1]))
    fac_b.change(lambda d: d.get("clusters", type=Map)["c"].__setitem__("deleted", True))
    bob.change(lambda d: d.get("notes", type=Map)["k"].__setitem__("deleted", True))
    await a.settle_async()
    assert ana.denied == bob.denied == fac_b.denied == []
    assert ana.notes().keys() == bob.notes().keys() == {"n"}
    expected = (1, {"p-ana": 1, "p-bob": 0}, 0, {"m", "k"})
    assert counts_of(a) == counts_of(b) == expected


def test_the_first_syncs_observer_is_dropped_after_the_commit_not_inside_it(
    monkeypatch: Any,
) -> None:
    """Joiners' frames are kept while the doc is observed; the first change drops them, and the
    observer goes after the commit's transaction: dropped inside its own callback, yrs keeps
    building a cleanup event (two state vectors, O(clients)) for every later transaction."""
    net = Net()
    author = net.client("participant", "p-ana")
    author.change(add_note("n", "une idée"))
    net.settle()
    net.client("viewer")  # its first sync is kept: the doc is observed
    doc = net.core.committed_doc()
    dropped_in_transaction: list[bool] = []
    unobserve = doc.unobserve

    def recording(subscription: Any) -> None:
        dropped_in_transaction.append(doc._txn is not None)
        unobserve(subscription)

    monkeypatch.setattr(doc, "unobserve", recording)
    author.change(lambda d: d.get("notes", type=Map)["n"].__setitem__("x", 3.0))
    net.settle()
    assert dropped_in_transaction == [False]
    late = net.client("viewer")
    assert late.notes()["n"]["x"] == 3.0


def test_a_root_the_server_creates_is_judged_from_then_on() -> None:
    """An update looks for roots it does not observe only when it names one as a parent: a
    root the server's own write created is observed at once, so that a later write into it
    that names no root (its items' parents are given by their origins) is still judged."""
    shadow = ShadowDoc(roots=("notes",))
    shadow.write(lambda doc: doc.get("extra", type=Map).__setitem__("k", Map({"a": 1})))
    writer: Doc[Any] = Doc()
    writer.apply_update(shadow.doc.get_update())
    update = own_update(writer, lambda d: d.get("extra", type=Map)["k"].__setitem__("a", 2))
    assert updates.parse(update).roots == set()  # (names no root: its origin gives its parent)
    assert shadow.apply(update) == [Change("extra", "set", "k", "a", 2, 1, True)]
