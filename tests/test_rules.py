"""The rules table, without a server: a shadow doc turns real updates into changes, rules decide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Map, Text

from crdt import rules, schema
from crdt.rules import Actor, BoardState
from crdt.shadow import Change, PendingUpdate, ShadowDoc

ANA = Actor("participant", "ana")
BOB = Actor("participant", "bob")
FACILITATOR = Actor("facilitator", "facilitator")
VIEWER = Actor("viewer", "viewer")
SERVER = Actor("server", "server")


class Board:
    """A client doc, the server's shadow and the rules' board state, kept in step."""

    def __init__(self, **settings: Any) -> None:
        self.client = Doc()
        self.shadow = ShadowDoc(roots=schema.ROOTS)
        self.state = BoardState(settings={**schema.DEFAULT_SETTINGS, **settings})
        self.accepted: list[bytes] = []

    def attempt(self, actor: Actor, edit: Callable[[Doc], None]) -> str | None:
        before = self.client.get_state()
        with self.client.transaction():
            edit(self.client)
        update = self.client.get_update(before)
        changes = self.shadow.apply(update)
        refusal = rules.check(actor, changes, self.state)
        if refusal is None:
            self.state.record_created(rules.created_notes(changes), actor.id)
            self.accepted.append(update)
            return None
        # Refused: like the server, rebuild the shadow from what was accepted (and the client too).
        self.client = Doc()
        self.shadow = ShadowDoc(roots=schema.ROOTS)
        for accepted in self.accepted:
            self.client.apply_update(accepted)
            self.shadow.apply(accepted)
        return refusal.reason


def note(note_id: str, text: str = "idea", **fields: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc.get("notes", type=Map)[note_id] = Map({"text": text, "x": 0.0, "y": 0.0, **fields})

    return edit


def set_field(root: str, item: str, key: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc.get(root, type=Map)[item][key] = value

    return edit


def allowed(board: Board, actor: Actor, edit: Callable[[Doc], None]) -> None:
    assert board.attempt(actor, edit) is None


def test_participant_creates_and_edits_own_note_but_not_others() -> None:
    board = Board()
    allowed(board, ANA, note("n1"))
    allowed(board, ANA, set_field("notes", "n1", "text", "better idea"))
    assert board.attempt(BOB, set_field("notes", "n1", "text", "mine now")) == (
        "you can only change or delete notes you wrote"
    )


def test_anyone_moves_any_note_into_any_cluster() -> None:
    board = Board()
    allowed(board, ANA, note("n1"))
    allowed(board, BOB, set_field("notes", "n1", "x", 40.0))
    allowed(
        board,
        BOB,
        lambda d: d.get("clusters", type=Map).__setitem__(
            "c1", Map({"title": "Housing", "x": 0.0, "y": 0.0, "color": "blue"})
        ),
    )
    allowed(board, BOB, set_field("notes", "n1", "cluster", "c1"))
    allowed(board, ANA, set_field("clusters", "c1", "title", "Logement"))


def test_delete_only_own_note() -> None:
    board = Board()
    allowed(board, ANA, note("n1"))
    assert board.attempt(BOB, lambda d: d.get("notes", type=Map).pop("n1")) is not None
    allowed(board, ANA, lambda d: d.get("notes", type=Map).pop("n1"))


def test_note_ids_are_never_reused() -> None:
    state = BoardState(settings=schema.DEFAULT_SETTINGS)
    state.record_created(["n1"], "ana")
    create = Change("notes", "create", "n1", None, {"text": "x"})
    assert rules.check(BOB, [create], state) is not None


@pytest.mark.parametrize("actor", [ANA, FACILITATOR])
def test_results_belong_to_the_server(actor: Actor) -> None:
    board = Board()
    assert board.attempt(actor, lambda d: d.get("results", type=Map).__setitem__("data", 1))
    assert rules.check(SERVER, [Change("results", "set", "data", None, 1)], board.state) is None


def test_participants_never_touch_meta() -> None:
    board = Board()
    assert board.attempt(ANA, lambda d: d.get("meta", type=Map).__setitem__("phase", "vote"))
    allowed(board, FACILITATOR, lambda d: d.get("meta", type=Map).__setitem__("phase", "vote"))


def test_viewer_changes_nothing() -> None:
    board = Board()
    assert board.attempt(VIEWER, note("n1")) == "viewers cannot change the board"


def test_locked_board_refuses_participants_even_moves() -> None:
    board = Board()
    allowed(board, ANA, note("n1"))
    board.state.settings = {**board.state.settings, "locked": True}
    assert board.attempt(ANA, set_field("notes", "n1", "x", 5.0)) == "the board is locked"
    assert board.attempt(BOB, note("n2")) == "the board is locked"


def test_private_writing_keeps_new_notes_off_the_board() -> None:
    board = Board(private_writing=True)
    reason = board.attempt(ANA, note("n1"))
    assert reason is not None and reason.startswith("private writing is on")


def test_text_length_limit_on_create_and_edit() -> None:
    board = Board(max_note_length=10)
    assert board.attempt(ANA, note("n1", "x" * 11)) == "a note holds at most 10 characters"
    allowed(board, ANA, note("n2", "x" * 10))
    assert board.attempt(ANA, set_field("notes", "n2", "text", "y" * 11)) is not None


def test_notes_per_person_limit_counts_notes_in_one_update() -> None:
    board = Board(max_notes_per_participant=2)

    def two(doc: Doc) -> None:
        note("a")(doc)
        note("b")(doc)

    allowed(board, ANA, two)
    assert board.attempt(ANA, note("c")) == "at most 2 notes per person"
    allowed(board, BOB, note("d"))


def test_anonymous_board_refuses_authors() -> None:
    board = Board(anonymous=True)
    assert board.attempt(ANA, note("n1", author="Ana")) is not None
    allowed(board, ANA, note("n2"))


def test_unknown_roots_and_nested_types_are_seen() -> None:
    board = Board()
    # A participant may not create other root types (storage abuse, invisible content).
    assert board.attempt(ANA, lambda d: d.get("votes", type=Map).__setitem__("k", 1)) is not None
    allowed(board, FACILITATOR, lambda d: d.get("votes", type=Map).__setitem__("k", 1))
    # Notes have a schema: no unknown field, no nested shared type where a plain value goes.
    assert (
        board.attempt(
            ANA, lambda d: d.get("notes", type=Map).__setitem__("t1", Map({"body": Text("hi")}))
        )
        == "a note has no field 'body'"
    )
    assert (
        board.attempt(
            ANA, lambda d: d.get("notes", type=Map).__setitem__("t2", Map({"x": Map({"a": 1})}))
        )
        == "a note's x has the wrong type or size"
    )


def test_update_with_missing_dependencies_is_refused() -> None:
    source = Doc()
    notes = source.get("notes", type=Map)
    notes["n1"] = Map({"text": "a"})
    state = source.get_state()
    notes["n1"]["text"] = "b"
    second = source.get_update(state)
    shadow = ShadowDoc(roots=schema.ROOTS)
    with pytest.raises(PendingUpdate):
        shadow.apply(second)


def translate(note_id: str, lang: str, entry: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc.get("notes", type=Map)[note_id]["translations"][lang] = entry

    return edit


def test_kinds_media_and_translations() -> None:
    board = Board()
    allowed(board, ANA, note("ph", kind="photo", media="m" * 64, translations=Map({})))
    assert board.attempt(ANA, note("bad-kind", kind="video")) == (
        "a note's kind has the wrong type or size"
    )
    assert board.attempt(ANA, note("bad-media", kind="photo", media="m" * 65)) == (
        "a note's media has the wrong type or size"
    )
    # Anyone adds or corrects a translation of anyone's note; the original text stays Ana's.
    allowed(board, BOB, translate("ph", "nl", {"text": "een idee", "by": "Bob", "machine": False}))
    fac_entry = {"text": "idee", "by": "F", "machine": False}
    allowed(board, FACILITATOR, translate("ph", "nl", fac_entry))
    assert board.attempt(BOB, translate("ph", "en", {"text": "x" * 281, "by": "Bob"})) == (
        "a translation is {text, by, machine} with text within the limit"
    )
    assert board.attempt(BOB, translate("ph", "en", Map({"text": "nested"}))) == (
        "a translation is {text, by, machine} with text within the limit"
    )
    assert board.attempt(BOB, set_field("notes", "ph", "text", "hijack")) == (
        "you can only change or delete notes you wrote"
    )
    # kind and media are set by the author at creation only.
    assert board.attempt(ANA, set_field("notes", "ph", "media", "other")) == (
        "participants cannot make this change"
    )


def test_translations_map_can_be_started_by_anyone_but_not_replaced() -> None:
    board = Board()
    allowed(board, ANA, note("plain"))
    allowed(board, BOB, set_field("notes", "plain", "translations", Map({})))
    allowed(board, BOB, translate("plain", "fr", {"text": "une idée", "by": "Bob"}))
    assert board.attempt(BOB, set_field("notes", "plain", "translations", Map({}))) == (
        "you can only change or delete notes you wrote"
    )
    assert board.attempt(BOB, set_field("notes", "plain", "x", Map({"a": 1}))) == (
        "x must be a number"
    )


def test_quota_ignores_deleted_notes_and_the_board_is_bounded() -> None:
    board = Board(max_notes_per_participant=3)
    for i in range(3):
        allowed(board, ANA, note(f"q{i}"))
    assert board.attempt(ANA, note("q3")) == "at most 3 notes per person"
    for i in range(3):
        assert board.attempt(ANA, lambda d, i=i: d.get("notes", type=Map).pop(f"q{i}")) is None
        board.state.record_deleted(f"q{i}")
    allowed(board, ANA, note("q4"))
    board.state.live_notes = rules.MAX_NOTES_PER_BOARD
    assert board.attempt(BOB, note("b1")) == "a board holds at most 10000 notes"
    assert board.attempt(FACILITATOR, note("f1")) == "a board holds at most 10000 notes"


@pytest.mark.parametrize("phase", ["vote", "results"])
def test_posting_follows_the_phase(phase: str) -> None:
    ana = Actor("participant", "p-ana")
    board = Board(phase="ideate")
    allowed(board, ana, note("n1"))
    board.state.settings = {**board.state.settings, "phase": "cluster"}
    allowed(board, ana, note("n2"))
    board.state.settings = {**board.state.settings, "phase": phase}
    assert board.attempt(ana, note("n3")) == "posting is closed in the vote and results phases"
    allowed(board, ana, set_field("notes", "n1", "x", 40.0))  # moving still works
    allowed(board, Actor("facilitator", "facilitator"), note("f1"))  # the facilitator may post
