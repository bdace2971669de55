"""crdt/judge.py alone: update bytes + board -> verdict, with no room around it (the room core's
own tests, tests/test_room_core.py, show what each verdict becomes for the clients)."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map

from crdt import schema
from crdt.board_state import BoardState
from crdt.judge import FOREIGN_CLIENT, Verdict, judge
from crdt.rules import Actor
from crdt.shadow import ShadowDoc
from tests.support import own_update
from tests.yclient import add_note

ANA = Actor("participant", "p-ana", "Ana")
BOB = Actor("participant", "p-bob", "Bob")


class Judged:
    """A shadow and a board state, as a room core keeps them, with no queue."""

    def __init__(self) -> None:
        self.shadow = ShadowDoc(roots=schema.ROOTS)
        self.board = BoardState(settings=dict(schema.DEFAULT_SETTINGS))
        self.owners: dict[int, str] = {self.shadow.doc.client_id: "server"}
        self.committed: dict[str, dict[str, Any]] = {}

    def judge(self, actor: Actor, update: bytes) -> Verdict:
        verdict = judge(
            self.shadow,
            update,
            actor,
            self.board,
            self.owners,
            lambda root, item: self.committed.get(item),
        )
        for client in verdict.new_clients:
            self.owners[client] = actor.id
        if verdict.kind == "accept":
            self.board.record_created(verdict.created, actor.id)
            self.board.record_changes(verdict.changes)
            for note_id in verdict.created:
                self.committed[note_id] = dict(verdict.values[note_id])
        return verdict


def test_a_creation_is_accepted_with_its_note_and_its_new_client() -> None:
    judged, ana = Judged(), Doc()
    verdict = judged.judge(ANA, own_update(ana, add_note("n1", "hello")))
    assert (verdict.kind, verdict.created, verdict.echo) == ("accept", ("n1",), False)
    assert verdict.new_clients == (ana.client_id,)
    assert verdict.writers_before == {ana.client_id: 0}
    assert verdict.values["n1"]["text"] == "hello"


def test_a_forbidden_write_is_compensated_not_dropped() -> None:
    judged, ana, bob = Judged(), Doc(), Doc()
    created = own_update(ana, add_note("n1", "hello"))
    judged.judge(ANA, created)
    bob.apply_update(created)

    def rewrite(doc: Doc) -> None:
        doc.get("notes", type=Map)["n1"]["text"] = "FORBIDDEN TEXT"

    verdict = judged.judge(BOB, own_update(bob, rewrite))
    assert (verdict.kind, verdict.reason, verdict.echo) == (
        "compensate",
        "you can only change or delete notes you wrote",
        True,
    )
    assert b"FORBIDDEN TEXT" not in verdict.data  # stored and sent: the content collected
    assert judged.shadow.doc.get("notes", type=Map)["n1"]["text"] == "hello"


def test_another_tokens_client_id_is_refused_from_the_bytes_alone() -> None:
    judged, ana = Judged(), Doc()
    judged.judge(ANA, own_update(ana, add_note("n1", "idea")))
    before = judged.shadow.doc.get_state()
    # Bob writes under the Yjs client id Ana used first
    verdict = judged.judge(BOB, own_update(ana, add_note("n2", "idea")))
    assert (verdict.kind, verdict.reason, verdict.rebuild) == ("refuse", FOREIGN_CLIENT, False)
    assert judged.shadow.doc.get_state() == before  # never applied: nothing to rebuild


def test_a_soft_delete_removes_the_entry_in_the_same_step() -> None:
    judged, ana = Judged(), Doc()
    judged.judge(ANA, own_update(ana, add_note("n1", "secret text")))

    def mark(doc: Doc) -> None:
        doc.get("notes", type=Map)["n1"]["deleted"] = True

    verdict = judged.judge(ANA, own_update(ana, mark))
    assert (verdict.kind, verdict.deleted, verdict.echo) == ("accept", ("n1",), True)
    assert "n1" not in judged.shadow.doc.get("notes", type=Map)
    assert b"secret text" not in verdict.data


def test_bytes_that_are_not_an_update_are_malformed() -> None:
    verdict = Judged().judge(ANA, b"\x01\x01\xff")
    assert verdict.kind == "malformed"
    assert verdict.reason == "malformed update"
