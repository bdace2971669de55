"""The rules table, without a server: a shadow doc turns real updates into changes, rules decide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Map, Text

from crdt import rules, schema
from crdt.board_state import BoardState
from crdt.fields import MAX_NOTE_BYTES
from crdt.rules import Actor
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
        refusal = rules.check(actor, changes, self.state, len(update))
        if refusal is None:
            self.state.record_created(rules.created_notes(changes), actor.id)
            self.state.record_changes(changes)
            self.state.record_bytes(len(update))
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


OWN_ONLY = "you can only change or delete notes you wrote"


def test_delete_only_own_note() -> None:
    board = Board()
    allowed(board, ANA, note("n1"))
    allowed(board, ANA, note("n2"))
    assert board.attempt(BOB, lambda d: d.get("notes", type=Map).pop("n1")) == OWN_ONLY
    assert board.attempt(BOB, set_field("notes", "n1", "deleted", True)) == OWN_ONLY
    allowed(board, ANA, lambda d: d.get("notes", type=Map).pop("n1"))
    allowed(board, ANA, set_field("notes", "n2", "deleted", True))


def test_note_ids_are_never_reused() -> None:
    state = BoardState(settings=schema.DEFAULT_SETTINGS)
    state.record_created(["n1"], "ana")
    create = Change("notes", "create", "n1", None, {"text": "x"})
    assert rules.check(BOB, [create], state) == rules.Refusal("that note id was already used")


@pytest.mark.parametrize("actor", [ANA, FACILITATOR])
def test_results_belong_to_the_server(actor: Actor) -> None:
    board = Board()
    reason = board.attempt(actor, lambda d: d.get("results", type=Map).__setitem__("data", 1))
    assert reason == (
        "results are written by the server only"
        if actor is FACILITATOR
        else "participants cannot make this change"
    )
    assert rules.check(SERVER, [Change("results", "set", "data", None, 1)], board.state) is None


def test_participants_never_touch_meta() -> None:
    board = Board()
    assert (
        board.attempt(ANA, lambda d: d.get("meta", type=Map).__setitem__("phase", "vote"))
        == "participants cannot make this change"
    )
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
    assert board.attempt(ANA, note("n1")) == (
        "private writing is on: notes stay on your device until the facilitator reveals"
    )


def test_text_length_limit_on_create_and_edit() -> None:
    board = Board(max_note_length=10)
    assert board.attempt(ANA, note("n1", "x" * 11)) == "a note holds at most 10 characters"
    allowed(board, ANA, note("n2", "x" * 10))
    assert (
        board.attempt(ANA, set_field("notes", "n2", "text", "y" * 11))
        == "a note holds at most 10 characters"
    )


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
    assert (
        board.attempt(ANA, note("n1", author="Ana"))
        == "this board is anonymous: notes carry no author"
    )
    allowed(board, ANA, note("n2"))


def test_unknown_roots_and_nested_types_are_seen() -> None:
    board = Board()
    # A participant may not create other root types (storage abuse, invisible content).
    assert (
        board.attempt(ANA, lambda d: d.get("votes", type=Map).__setitem__("k", 1))
        == "participants cannot make this change"
    )
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
        "a translation holds at most 280 characters"
    )
    assert board.attempt(BOB, translate("ph", "en", Map({"text": "nested"}))) == (
        "a translation is {text, by, machine}"
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


def cluster(cluster_id: str, **fields: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        base = {"title": "Mobility", "x": 0.0, "y": 0.0, "color": "blue"}
        doc.get("clusters", type=Map)[cluster_id] = Map({**base, **fields})

    return edit


@pytest.mark.parametrize("actor", [ANA, FACILITATOR])
def test_clusters_have_a_schema(actor: Actor) -> None:
    """Known fields, types and sizes, no extra key, no nested shared type (before: any cluster
    was accepted, e.g. a 2 MiB `blob` key)."""
    board = Board()
    allowed(board, actor, cluster("c1"))
    assert board.attempt(actor, cluster("c2", blob="x" * 2_000_000)) == (
        "a cluster has no field 'blob'"
    )
    assert board.attempt(actor, cluster("c3", title=Text("nested"))) == (
        "a cluster's title has the wrong type or size"
    )
    assert board.attempt(actor, cluster("c4", x=Map({"a": 1}))) == (
        "a cluster's x has the wrong type or size"
    )
    assert board.attempt(actor, cluster("c5", title="t" * 201)) == (
        "a cluster's title has the wrong type or size"
    )
    allowed(board, actor, set_field("clusters", "c1", "title", "t" * 200))
    assert board.attempt(actor, set_field("clusters", "c1", "title", "t" * 201)) == (
        "a cluster's title is a string of at most 200 characters"
    )
    assert board.attempt(actor, set_field("clusters", "c1", "title", Text("x"))) == (
        "a cluster's title is a string of at most 200 characters"
    )
    assert board.attempt(actor, set_field("clusters", "c1", "color", "c" * 65)) == (
        "color must be a string of at most 64 characters"
    )
    expected = "participants cannot make this change"
    if actor is FACILITATOR:
        expected = "a cluster has no such field"
    assert board.attempt(actor, set_field("clusters", "c1", "blob", "x")) == expected


def test_no_nested_shared_type_hides_in_a_string_field() -> None:
    """A Y.Text reads as a plain string (to_py): before, a note created with one in `cluster`,
    `color` or `author` passed as a short string, and its content could then grow unseen."""
    board = Board()
    for key in ("cluster", "color", "lang", "text"):
        assert board.attempt(ANA, note(f"n-{key}", **{key: Text("c")})) == (
            f"a note's {key} has the wrong type or size"
        ), key
    allowed(board, ANA, note("n1"))
    assert board.attempt(BOB, set_field("notes", "n1", "cluster", Text("c"))) == (
        "cluster must be a string of at most 64 characters"
    )


def test_facilitator_edits_keep_the_note_schema() -> None:
    board = Board()
    allowed(board, ANA, note("n1"))
    allowed(board, FACILITATOR, set_field("notes", "n1", "text", "edited by the facilitator"))
    assert board.attempt(FACILITATOR, set_field("notes", "n1", "blob", "x" * 100_000)) == (
        "a note has no such field"
    )
    assert board.attempt(FACILITATOR, set_field("notes", "n1", "x", Map({"a": 1}))) == (
        "x must be a number"
    )
    assert board.attempt(FACILITATOR, set_field("notes", "n1", "text", "t" * 281)) == (
        "a note holds at most 280 characters"
    )


def test_texts_are_bounded_in_bytes_and_translations_per_language() -> None:
    board = Board(max_note_length=5000)
    allowed(board, ANA, note("ok", text="é" * 4096))  # 8 KiB of UTF-8
    assert board.attempt(ANA, note("big", text="😀" * 2049)) == (
        "a note's text is at most 8192 bytes"
    )
    allowed(board, ANA, note("n1", translations=Map({})))
    allowed(board, BOB, translate("n1", "nl", {"text": "é" * 4096, "by": "Bob"}))
    assert board.attempt(BOB, translate("n1", "en", {"text": "😀" * 2049, "by": "Bob"})) == (
        "a translation is at most 8192 bytes"
    )
    # One translation per board language: no unbounded set of made-up languages.
    assert board.attempt(BOB, translate("n1", "xx", {"text": "a", "by": "Bob"})) == (
        "a translation's language is one of fr, nl, en"
    )


def test_the_largest_note_is_within_max_note_bytes() -> None:
    """Every field at its bound, every language translated: the encoded note stays within
    MAX_NOTE_BYTES, so count x size bounds a board even before its byte bound."""
    board = Board(max_note_length=5000)
    text = "é" * 4096
    entry = {"text": text, "by": "b" * 100, "machine": False}
    fields = {
        "color": "c" * 64,
        "cluster": "k" * 64,
        "lang": "fr",
        "author": "a" * 100,
        "createdAt": 2.0**52,
        "kind": "photo",
        "media": "m" * 64,
        "translations": Map({lang: dict(entry) for lang in schema.LANGUAGES}),
    }
    before = board.client.get_state()
    allowed(board, FACILITATOR, note("max", text=text, **fields))
    size = len(board.client.get_update(before))
    assert 4 * 8192 < size <= MAX_NOTE_BYTES


def test_board_bytes_are_bounded_deletes_pass_and_a_full_board_is_measured_rarely() -> None:
    board = Board(max_note_length=5000, max_notes_per_participant=1000)
    board.state.max_bytes = 1024 * 1024
    calls = []

    def measure() -> int:
        calls.append(1)
        return len(board.shadow.doc.get_update())

    board.state.measure = measure
    refusals = []
    for i in range(300):  # 5 KB each: the bound comes first
        reason = board.attempt(ANA, note(f"b{i}", text="x" * 5000))
        if reason is not None:
            refusals.append((i, reason))
            break
    assert refusals and refusals[0][1] == "the board is full: at most 1 MiB"
    assert 190 < refusals[0][0] < 210
    assert len(board.shadow.doc.get_update()) <= 1024 * 1024
    # A storm on a full board measures the board at most once per MiB stored, not per refusal.
    for i in range(100):
        assert board.attempt(ANA, note(f"s{i}", text="x" * 5000)) == (
            "the board is full: at most 1 MiB"
        )
    assert len(calls) <= 1
    # Deleting still works, and frees room once the board is measured again.
    for i in range(refusals[0][0]):
        allowed(board, ANA, lambda d, i=i: d.get("notes", type=Map).pop(f"b{i}"))
    board.state.measured_at = 0  # as if a MiB had been stored since (or a keyframe was written)
    allowed(board, ANA, note("after", text="room again"))


def test_cluster_count_is_bounded() -> None:
    board = Board()
    board.state.live_clusters = rules.MAX_CLUSTERS_PER_BOARD
    assert board.attempt(ANA, cluster("c1")) == "a board holds at most 1000 clusters"
    assert board.attempt(FACILITATOR, cluster("c1")) == "a board holds at most 1000 clusters"
    board.state.live_clusters -= 1
    allowed(board, ANA, cluster("c1"))
    assert board.state.live_clusters == rules.MAX_CLUSTERS_PER_BOARD


@pytest.mark.parametrize("actor", [ANA, FACILITATOR])
def test_cluster_titles_per_language(actor: Actor) -> None:
    """`titles` (lang -> title) is set by whoever may set `title`, within the title's bounds, in
    the board languages only (before: refused as an unknown field, so a Dutch reader had no way
    to read a cluster in Dutch)."""
    board = Board()
    allowed(board, actor, cluster("c1", titles=Map({"nl": "Wonen"})))
    allowed(board, actor, set_field("clusters", "c1", "titles", Map({"fr": "Logement"})))

    def title(lang: str, value: Any) -> Callable[[Doc], None]:
        def edit(doc: Doc) -> None:
            doc.get("clusters", type=Map)["c1"]["titles"][lang] = value

        return edit

    allowed(board, actor, title("en", "Housing"))
    reason = "a cluster's titles map fr, nl or en to at most 200 characters"
    assert board.attempt(actor, title("de", "Wohnen")) == reason
    assert board.attempt(actor, title("nl", "t" * 201)) == reason
    assert board.attempt(actor, title("nl", 5)) == reason
    assert board.attempt(actor, cluster("c2", titles=Map({"de": "x"}))) == (
        "a cluster's titles map a board language to a title"
    )
    titles = schema.Board(board.client).to_json()["clusters"]["c1"]["titles"]
    assert titles == {"fr": "Logement", "en": "Housing"}
    assert next(schema.Board(board.client).clusters()).title_in("en") == "Housing"


def test_voice_duration_and_wanted_translations() -> None:
    board = Board()
    allowed(board, ANA, note("v", text="", kind="voice", media="m1", duration=12.4))
    assert board.attempt(ANA, note("v2", kind="voice", media="m2", duration=601)) == (
        "a note's duration has the wrong type or size"
    )
    assert board.attempt(BOB, set_field("notes", "v", "duration", 3)) == (
        "you can only change or delete notes you wrote"
    )
    # Requests for a translation are written by the server (HTTP), never by a participant.
    assert board.attempt(BOB, set_field("notes", "v", "wanted", Map({"nl": 1.0}))) == (
        "participants cannot make this change"
    )
    allowed(board, FACILITATOR, set_field("notes", "v", "wanted", Map({"nl": 1.0})))
    assert board.attempt(FACILITATOR, set_field("notes", "v", "wanted", Map({"de": 1.0}))) == (
        "a note's wanted translations map fr, nl or en to a time"
    )
    read = next(schema.Board(board.client).notes())
    assert (read.duration, read.wanted) == (12.4, ("nl",))
