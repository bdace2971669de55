"""An allowed change crossing a refused delete of its note, on two real `cobord serve` processes
sharing PostgreSQL and Redis (the in-process cases are tests/test_room_crossing.py).

Bob (a participant, on process A) deletes Ana's note: refused, and undone by re-creating the
note, a new Yjs entry. Ana (on process B) built a move or a delete of her note before she saw
that; it names the old entry, and must be carried over to the re-created note, whichever process
learns of it first. Each update is built as a y-websocket provider sends it: the transaction's
own update (its delete set is the change's, not the whole doc's). Each test fails on the code
before crdt/crossing.py (see the commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from pycrdt import Doc, Map, MapEvent

from crdt import protocol
from tests.conftest import ServerProcess
from tests.support import own_update
from tests.yclient import YClient, add_note

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

FORBIDDEN = "you can only change or delete notes you wrote"


def notes(doc: Doc[Any]) -> Map[Any]:
    return doc.get("notes", type=Map)  # type: ignore[no-any-return]


def move(doc: Doc[Any]) -> None:
    notes(doc)["n"]["x"] = 321.0
    notes(doc)["n"]["y"] = 123.0


def delete(doc: Doc[Any]) -> None:
    del notes(doc)["n"]


def build(client: YClient, edit: Callable[[Doc[Any]], None]) -> bytes:
    """The transaction's own update, unsent: what a y-websocket provider sends."""
    return own_update(client.doc, edit)


class Watched:
    """A connected client, and how many times its doc got a new entry for note `n` (the
    creation, then the re-creation: `notes["n"]` added or replaced, not a field of it).

    A state seen before the re-creation arrived (Ana's move of the old entry, say) may be
    undone by it: final states are only judged once the client has the re-created note."""

    def __init__(self, client: YClient) -> None:
        self.client = client
        self.entries = 0
        self._notes = notes(client.doc)
        self._subscription = self._notes.observe(self._on_notes)  # (kept, or it ends)

    def _on_notes(self, event: MapEvent) -> None:
        change = event.keys.get("n")  # type: ignore[attr-defined]
        if change is not None and change["action"] in ("add", "update"):
            self.entries += 1


def has_note(client: YClient) -> bool:
    return "n" in client.notes()


def holds_for(client: YClient, holds: Callable[[dict[str, Any]], bool]) -> bool:
    return holds(client.notes())


def recreated_and(w: Watched, holds: Callable[[dict[str, Any]], bool]) -> bool:
    return w.entries >= 2 and holds(w.client.notes())


async def workshop(
    first: ServerProcess, second: ServerProcess
) -> tuple[dict[str, Watched], dict[str, Any]]:
    """Ana on B (second) creates note n; Bob on A (first) and a viewer on each have it."""
    board = first.create_board()
    code = board["join_code"]
    clients = {
        "ana": YClient(second.url(board["id"], first.join(code, "Ana")["token"])),
        "bob": YClient(first.url(board["id"], first.join(code, "Bob")["token"])),
        "viewer-a": YClient(first.url(board["id"], board["viewer_token"])),
        "viewer-b": YClient(second.url(board["id"], board["viewer_token"])),
    }
    for client in clients.values():
        await client.connect()
    watched = {name: Watched(client) for name, client in clients.items()}
    await clients["ana"].change(add_note("n", "une idée"))
    for w in watched.values():
        await w.client.wait_until(partial(has_note, w.client))
    assert {name: w.entries for name, w in watched.items()} == dict.fromkeys(watched, 1)
    return watched, board


async def bob_refused_and_b_recreated(watched: dict[str, Watched]) -> None:
    """Bob got the refusal and the re-created note; process B too (its viewer has it)."""
    bob, viewer_b = watched["bob"], watched["viewer-b"]
    await bob.client.wait_until(
        lambda: FORBIDDEN in bob.client.denied and "n" in bob.client.notes()
    )
    await viewer_b.client.wait_until(
        lambda: viewer_b.entries >= 2 and "n" in viewer_b.client.notes()
    )


async def everyone_ends(
    first: ServerProcess,
    second: ServerProcess,
    board: dict[str, Any],
    watched: dict[str, Watched],
    holds: Callable[[dict[str, Any]], bool],
) -> None:
    """Every live client, once it has the re-created note, and then a fresh viewer joining each
    process, ends with `holds` true of its notes."""
    for name, w in watched.items():
        try:
            await w.client.wait_until(partial(recreated_and, w, holds))
        except TimeoutError:
            ended = {k: (v.client.notes().get("n"), v.entries) for k, v in watched.items()}
            pytest.fail(f"{name} never held; each client's n and entries of n seen: {ended}")
    for server in (first, second):
        joiner = await YClient(server.url(board["id"], board["viewer_token"])).connect()
        try:
            await joiner.wait_until(partial(holds_for, joiner, holds))
        except TimeoutError:
            pytest.fail(f"a fresh viewer on {server.http} joined to {joiner.notes()}")
        finally:
            await joiner.close()
    assert watched["bob"].client.denied == [FORBIDDEN]
    assert all(w.client.denied == [] for name, w in watched.items() if name != "bob")


def moved(n: dict[str, Any]) -> bool:
    return (
        "n" in n
        and (n["n"]["x"], n["n"]["y"]) == (321.0, 123.0)
        and n["n"]["text"] == "une idée"  # still Ana's note
    )


def gone(n: dict[str, Any]) -> bool:
    return "n" not in n


async def close_all(watched: dict[str, Watched]) -> None:
    for w in watched.values():
        await w.client.close()


async def test_a_move_sent_after_the_other_process_recreated_the_note_is_carried_over(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two
    watched, board = await workshop(first, second)
    forbidden = build(watched["bob"].client, delete)
    allowed = build(watched["ana"].client, move)  # neither has seen the other's
    await watched["bob"].client.send(protocol.Update(forbidden))
    await bob_refused_and_b_recreated(watched)
    await watched["ana"].client.send(protocol.Update(allowed))  # aimed at the old entry
    await everyone_ends(first, second, board, watched, moved)
    await close_all(watched)


async def test_the_authors_delete_sent_after_the_other_process_recreated_the_note_deletes_it(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two
    watched, board = await workshop(first, second)
    forbidden = build(watched["bob"].client, delete)
    allowed = build(watched["ana"].client, delete)
    await watched["bob"].client.send(protocol.Update(forbidden))
    await bob_refused_and_b_recreated(watched)
    await watched["ana"].client.send(protocol.Update(allowed))
    await everyone_ends(first, second, board, watched, gone)
    await close_all(watched)


async def test_a_move_and_a_forbidden_delete_sent_at_once_to_two_processes(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two
    watched, board = await workshop(first, second)
    forbidden = build(watched["bob"].client, delete)
    allowed = build(watched["ana"].client, move)
    await asyncio.gather(
        watched["ana"].client.send(protocol.Update(allowed)),  # to B, first
        watched["bob"].client.send(protocol.Update(forbidden)),  # to A, right after
    )
    await everyone_ends(first, second, board, watched, moved)
    await close_all(watched)
