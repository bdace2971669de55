"""Concurrent legitimate actions are never refused (issue 7), against a real server over real
WebSockets: two participants and the facilitator each build an update before seeing the other's,
send them at once, and every client ends equal to a fresh joiner, with no permission-denied.

Each race runs on fresh clients (new random Yjs client ids), so across repetitions either side
wins the conflict. Before the rules judged what an update writes, the losing side of a write to
the same key fired an event with no keys and was refused ("participants cannot make this
change"), cascading into "update depends on changes the server does not have".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import protocol
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

REPEAT = 4
Edit = Callable[[Doc], None]


def notes(doc: Doc) -> Map[Any]:
    return doc.get("notes", type=Map)


def clusters(doc: Doc) -> Map[Any]:
    return doc.get("clusters", type=Map)


def move(x: float) -> Edit:
    return lambda d: notes(d)["n"].__setitem__("x", x)


def set_cluster(cluster: str) -> Edit:
    return lambda d: notes(d)["n"].__setitem__("cluster", cluster)


def delete_note(d: Doc) -> None:
    """As the web client deletes: by the field (the server removes the entry)."""
    notes(d)["n"]["deleted"] = True


def hard_delete_note(d: Doc) -> None:
    """As a stock client may: the Y.Map entry itself."""
    del notes(d)["n"]


def delete_cluster(d: Doc) -> None:
    clusters(d)["c"]["deleted"] = True


def rename(title: str) -> Edit:
    return lambda d: clusters(d)["c"].__setitem__("title", title)


def edit_text(d: Doc) -> None:
    notes(d)["n"]["text"] = "rewritten by its author"


# name: ((who, edit), (who, edit)); "ana" wrote note n, "fac" created cluster c.
RACES: dict[str, tuple[tuple[str, Edit], tuple[str, Edit]]] = {
    "move vs delete by the author": (("bob", move(40.0)), ("ana", delete_note)),
    "move vs hard delete by the author": (("bob", move(40.0)), ("ana", hard_delete_note)),
    "cluster vs delete": (("bob", set_cluster("c")), ("ana", delete_note)),
    "text edit vs move": (("ana", edit_text), ("bob", move(55.0))),
    "move vs move": (("ana", move(10.0)), ("bob", move(20.0))),
    "cluster vs uncluster": (("ana", set_cluster("c")), ("bob", set_cluster(""))),
    "into a cluster the facilitator deletes": (("bob", set_cluster("c")), ("fac", delete_cluster)),
    "two renames of one cluster": (("ana", rename("Mobilité")), ("bob", rename("Verkeer"))),
    "two creations at once": (
        ("ana", add_note("ana-2", "nieuw idee")),
        ("bob", add_note("bob-2", "new idea")),
    ),
    "facilitator and author edit the text": (("fac", edit_text), ("ana", edit_text)),
    "author edits the text, facilitator deletes": (("ana", edit_text), ("fac", delete_note)),
}
# Across two processes: the races where a note is edited on one process while another process
# deletes it, run again with Ana (the author) on the second process.
DELETE_RACES = [name for name, pair in RACES.items() if delete_note in (pair[0][1], pair[1][1])]
# Writes that cross a delete the rules refuse (Bob's `deleted: true` of Ana's note, a
# participant's of the facilitator's cluster) land in the same live map: the refusal goes to the
# deleter only, and the other side is never refused.
FORBIDDEN_DELETE_RACES: dict[str, tuple[tuple[str, Edit], tuple[str, Edit]]] = {
    "author's move and edit vs another's delete": (
        ("ana", lambda d: (move(12.0)(d), edit_text(d))),
        ("bob", delete_note),
    ),
    "rename vs a participant's cluster delete": (("fac", rename("Wonen")), ("bob", delete_cluster)),
}
REFUSED_ONLY = {
    "bob": [
        "you can only change or delete notes you wrote",
        "only the facilitator can delete clusters",
    ]
}


def board_of(client: YClient) -> dict[str, Any]:
    return {
        "notes": client.notes(),
        "clusters": dict(clusters(client.doc).to_py() or {}),
    }


async def race_once(
    server: ServerProcess,
    first: tuple[str, Edit],
    second: tuple[str, Edit],
    other: ServerProcess | None = None,
    remote: str = "bob",
    refused: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """`refused`: who may be refused, and the reasons they may get (else nobody is)."""
    """`other`: a second process (same database, Redis) for `remote` and the fresh joiner."""
    board = server.create_board()
    url = lambda token: server.url(board["id"], token)  # noqa: E731
    other_url = (lambda token: other.url(board["id"], token)) if other is not None else url
    tokens = {
        "fac": board["facilitator_token"],
        "ana": server.join(board["join_code"], "Ana")["token"],
        "bob": server.join(board["join_code"], "Bob")["token"],
    }
    clients = {
        who: await YClient((other_url if who == remote else url)(token)).connect()
        for who, token in tokens.items()
    }
    ana, fac = clients["ana"], clients["fac"]
    await ana.change(add_note("n", "une idée"))
    await fac.change(
        lambda d: clusters(d).__setitem__(
            "c", Map({"title": "Cluster", "x": 0.0, "y": 0.0, "color": "blue"})
        )
    )
    for client in clients.values():
        await client.wait_until(
            lambda c=client: "n" in c.notes() and "c" in board_of(c)["clusters"]
        )
    # Both updates are built before either side can see the other's (no await in between).
    (who1, edit1), (who2, edit2) = first, second
    c1, c2 = clients[who1], clients[who2]
    s1, s2 = c1.doc.get_state(), c2.doc.get_state()
    with c1.doc.transaction(origin="local"):
        edit1(c1.doc)
    with c2.doc.transaction(origin="local"):
        edit2(c2.doc)
    u1, u2 = c1.doc.get_update(s1), c2.doc.get_update(s2)
    await asyncio.gather(c1.send(protocol.Update(u1)), c2.send(protocol.Update(u2)))
    # A marker from each racer: once everyone has both, both racing updates were handled.
    await c1.change(add_note(f"after-{who1}", "marker 1"))
    await c2.change(add_note(f"after-{who2}-2", "marker 2"))
    for client in clients.values():
        await client.wait_until(
            lambda c=client: (
                {f"after-{who1}", f"after-{who2}-2"} <= set(c.notes()) or c.close_code is not None
            )
        )
    fresh = await YClient(other_url(board["viewer_token"])).connect()
    expected = board_of(fresh)
    for name, client in clients.items():
        allowed_reasons = (refused or {}).get(name, [])
        assert all(reason in allowed_reasons for reason in client.denied), (name, client.denied)
        if refused and name in refused:
            assert len(client.denied) == 1, client.denied
        assert client.close_code is None
        await client.wait_until(lambda c=client: board_of(c) == expected)
    for client in (*clients.values(), fresh):
        await client.close()
    return expected


@pytest.mark.parametrize("case", list(RACES))
async def test_concurrent_legitimate_actions_are_never_refused(
    server: ServerProcess, case: str
) -> None:
    first, second = RACES[case]
    for i in range(REPEAT):
        # Alternate which update reaches the server first.
        await race_once(server, *((first, second) if i % 2 == 0 else (second, first)))


@pytest.mark.parametrize("case", list(FORBIDDEN_DELETE_RACES))
async def test_writes_crossing_a_refused_delete_land(server: ServerProcess, case: str) -> None:
    first, second = FORBIDDEN_DELETE_RACES[case]
    for i in range(REPEAT):
        pair = (first, second) if i % 2 == 0 else (second, first)
        board = await race_once(server, *pair, refused=REFUSED_ONLY)
        if case.startswith("rename"):
            assert board["clusters"]["c"]["title"] == "Wonen", board
        else:
            note = board["notes"]["n"]
            assert (note["x"], note["text"]) == (12.0, "rewritten by its author"), board
            assert "deleted" not in note

@pytest.mark.redis
@pytest.mark.postgres
async def test_races_across_two_processes_are_never_refused(make_server: Any, pg_url: str) -> None:
    """Ana and the facilitator on one process, Bob on the other (PostgreSQL + Redis); then the
    races with a delete again with Ana on the other process: an edit of a note on one process
    while another process deletes it (the author's text edit vs the facilitator's delete, Bob's
    move or cluster vs Ana's delete, in both orders)."""
    from tests.test_fanout import REDIS_URL, redis_or_skip

    await redis_or_skip()
    first = make_server(database_url=pg_url, REDIS_URL=REDIS_URL)
    second = make_server(database_url=pg_url, REDIS_URL=REDIS_URL)
    for case, (one, two) in RACES.items():
        for i in range(2):
            pair = (one, two) if i % 2 == 0 else (two, one)
            try:
                await race_once(first, *pair, other=second)
                if case in DELETE_RACES:
                    await race_once(first, *pair, other=second, remote="ana")
            except AssertionError as exc:
                raise AssertionError(case) from exc
