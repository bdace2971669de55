"""The glossary's pure parts (crdt/glossary.py) and its rows in the rules table, without a
server: matching, ids, the schema and bounds of a term, and who may write what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import glossary
from crdt.board_state import BoardState
from server.live.core import RoomCore
from server.store.log import UpdateRecord
from tests.roomnet import Net
from tests.test_rules import ANA, FACILITATOR, SERVER, VIEWER, Board, allowed


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("leefloon", "Mijn Leefloon is laag", True),
        ("épicerie sociale", "l'epicerie   SOCIALE du CPAS", True),
        ("CPAS", "Le cpas, enfin", True),
        ("CPAS", "CPASSE", False),  # whole words only
        ("leef", "leefloon", False),
        ("co-design", "Un atelier de co-design.", True),
        ("empowerment", "Empowerment!", True),
        ("à", "a", True),
        ("", "anything", False),
    ],
)
def test_terms_match_whole_words_ignoring_accents_and_case(
    term: str, text: str, found: bool
) -> None:
    assert glossary.occurs(term, text) is found


def test_a_term_id_is_the_same_for_every_spelling_that_folds_alike() -> None:
    assert glossary.term_id("Épicerie  sociale") == glossary.term_id("epicerie sociale")
    assert glossary.term_id("CPAS") != glossary.term_id("OCMW")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("leefloon", True),
        ("x" * 60, True),
        ("x" * 61, False),
        ("", False),
        ("\u200b", False),
        ("  ", False),
        ("a\x00b", False),
        ("\ud800", False),
        (3, False),
    ],
)
def test_a_term_is_1_to_60_characters_of_visible_text(value: Any, ok: bool) -> None:
    assert glossary.visible_text(value, glossary.MAX_TERM_CHARS) is ok


def new_term(term_id: str, **fields: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        body = {"term": "leefloon", "lang": "nl", "createdAt": 1.0, **fields}
        doc.get("glossary", type=Map)[term_id] = Map({**body, "explanations": Map()})

    return edit


def explain(term_id: str, lang: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc.get("glossary", type=Map)[term_id]["explanations"][lang] = value

    return edit


def count(key: str, value: Any) -> Callable[[Doc], None]:
    """A write into `glossary_flags` (one server process's count of a term)."""

    def edit(doc: Doc) -> None:
        doc.get("glossary_flags", type=Map)[key] = value

    return edit


def test_participants_and_viewers_write_nothing_in_the_glossary_directly() -> None:
    board = Board()
    allowed(board, SERVER, new_term("t1"))
    allowed(board, SERVER, count("t1@p1", 1.0))
    reason = board.attempt(ANA, explain("t1", "nl", {"text": "geld", "machine": False}))
    assert reason == (
        "glossary explanations are written with "
        "PUT /api/boards/{id}/glossary/{term}/explanations/{lang}"
    )
    assert board.attempt(ANA, new_term("t2")) == reason
    assert board.attempt(VIEWER, explain("t1", "nl", {"text": "geld"})) == (
        "viewers cannot change the board"
    )
    assert board.attempt(ANA, count("t1@p1", 0.0)) == "a term's flags are counted by the server"
    assert board.attempt(VIEWER, count("t1@p1", 0.0)) == "viewers cannot change the board"


def test_the_facilitator_writes_within_the_schema_and_never_the_counts() -> None:
    board = Board()
    allowed(board, FACILITATOR, new_term("t1"))
    allowed(board, FACILITATOR, explain("t1", "fr", {"text": "revenu", "machine": False}))
    cases = [
        (
            explain("t1", "de", {"text": "Geld"}),
            "a term's explanations map fr, nl or en to an explanation",
        ),
        (
            explain("t1", "fr", {"text": "x" * 601}),
            "an explanation is a visible text of at most 600 characters",
        ),
        (
            explain("t1", "fr", {"text": "ok", "who": "Ana"}),
            "an explanation is {text, machine, example, by}",
        ),
        (
            explain("t1", "fr", {"text": "ok", "example": "x" * 201}),
            "an example is a visible text of at most 200 characters",
        ),
        (new_term("t2", term="x" * 61), "a term is 1 to 60 characters of visible text"),
        (new_term("t3", lang="de"), "a term's language is one of fr, nl, en"),
        (new_term("t4", flags=3.0), "a term's flags are counted by the server"),
        (new_term("t5", flaggers=["p-ana"]), "a glossary term has no field 'flaggers'"),
    ]
    for edit, reason in cases:
        assert board.attempt(FACILITATOR, edit) == reason

    def set_flags(doc: Doc) -> None:
        doc.get("glossary", type=Map)["t1"]["flags"] = 9.0

    assert board.attempt(FACILITATOR, set_flags) == "a glossary term has no such field"
    reason = board.attempt(FACILITATOR, count("t1@p1", 9.0))
    assert reason == "a term's flags are counted by the server"


def test_the_server_counts_flags_within_bounds() -> None:
    board = Board()
    allowed(board, SERVER, new_term("t1"))
    allowed(board, SERVER, count("t1@p1", 1.0))
    allowed(board, SERVER, count("t1@p1", 2.0))
    for value in (-1.0, 2.5, float(glossary.MAX_FLAGS + 1), "3"):
        assert (
            board.attempt(SERVER, count("t1@p1", value))
            == "a term's flags are a count from 0 to 2000"
        )
    bad_key = "a glossary flags key is '<term id>@<writer>' or 'note:<note id>@<writer>'"
    for key in ("t1", "@p1", "t1@", "t1@" + "p" * 41, "note:@p1", "note:" + "n" * 65 + "@p1"):
        assert board.attempt(SERVER, count(key, 1.0)) == bad_key, key
    assert (
        board.attempt(SERVER, new_term("t2", flags=1.0)) == "a glossary term has no field 'flags'"
    )


def _two_processes_count_at_once(
    write: Callable[[Doc, str, float], None], read: Callable[[Doc], int]
) -> list[int]:
    """Two processes' docs each write a count without having seen the other's (a flag on each at
    the same moment: the store says 1 to the first, 2 to the second), then exchange updates.
    Both client-id orders; what each order's merged doc shows (both docs agree)."""
    shown = []
    for first_id, second_id in ((1, 2), (2, 1)):
        base = Doc(client_id=99)
        new_term("t1")(base)
        first, second = Doc(client_id=first_id), Doc(client_id=second_id)
        for doc in (first, second):
            doc.apply_update(base.get_update())
        write(first, "p-first", 1.0)
        write(second, "p-second", 2.0)
        first.apply_update(second.get_update(first.get_state()))
        second.apply_update(first.get_update(second.get_state()))
        assert read(first) == read(second)
        shown.append(read(first))
    return shown


def test_two_processes_counting_at_once_never_lose_the_larger_count() -> None:
    # One shared key (the first design): whichever write Yjs orders last stays, here the 1 in
    # one of the two client-id orders: the failure this root avoids.
    def shared_key(doc: Doc, writer: str, value: float) -> None:
        doc.get("glossary", type=Map)["t1"]["flags_shared"] = value

    def read_shared(doc: Doc) -> int:
        return int(doc.get("glossary", type=Map)["t1"]["flags_shared"])

    assert sorted(_two_processes_count_at_once(shared_key, read_shared)) == [1, 2]

    # One key per process: both orders show 2.
    def own_key(doc: Doc, writer: str, value: float) -> None:
        doc.get("glossary_flags", type=Map)[glossary.flag_key("t1", writer)] = value

    def read_counted(doc: Doc) -> int:
        return glossary.terms_of(doc)[0].flags

    assert _two_processes_count_at_once(own_key, read_counted) == [2, 2]


def test_a_board_holds_at_most_300_terms() -> None:
    board = Board()
    board.state.live_terms = glossary.MAX_TERMS - 1
    allowed(board, SERVER, new_term("t1"))
    assert board.state.live_terms == glossary.MAX_TERMS
    assert board.attempt(SERVER, new_term("t2")) == "a board's glossary holds at most 300 terms"


def test_a_participant_rewriting_an_explanation_in_the_document_is_undone_for_everyone() -> None:
    """The real room core: the forbidden write reaches nobody else and its sender converges
    back to the explanation the board had."""
    net = Net()
    fac = net.client("facilitator")
    ana = net.client("participant", "p-ana", name="Ana")
    bob = net.client("participant", "p-bob", name="Bob")
    fac.change(new_term("t1"))
    fac.change(explain("t1", "nl", {"text": "geld om van te leven", "machine": False}))
    net.settle()
    good = ana.doc.get("glossary", type=Map).to_py()
    assert good["t1"]["explanations"]["nl"]["text"] == "geld om van te leven"
    bob.change(explain("t1", "nl", {"text": "HIJACKED", "machine": False}))
    net.settle()
    assert bob.denied and bob.denied[-1].startswith("glossary explanations are written with")
    for client in (fac, ana, bob):
        assert client.doc.get("glossary", type=Map).to_py() == good
    assert all(b"HIJACKED" not in data for data in net.stored)
    assert all(b"HIJACKED" not in frame for frame in ana.received)


def test_terms_are_counted_at_load() -> None:
    """A room loaded from the log knows how many terms the board holds (the 300 bound holds
    after a restart)."""
    net = Net()
    fac = net.client("facilitator")
    fac.change(new_term("t1"))
    fac.change(new_term("t2"))
    net.settle()
    assert net.core.board_state().live_terms == 2
    loaded: RoomCore[Any] = RoomCore("b", BoardState(settings={}))
    records = [UpdateRecord(i + 1, 0.0, "facilitator", d) for i, d in enumerate(net.stored)]
    loaded.load(None, records)
    assert loaded.board_state().live_terms == 2


def test_a_whole_note_flag_is_counted_apart_from_the_terms_and_only_by_the_server() -> None:
    """ "I don't understand the whole note" (any length): `note:{note id}@{writer}` in the same
    root, read by `note_flag_counts`, never mistaken for a term's count."""
    board = Board()
    allowed(board, SERVER, new_term("t1"))
    allowed(board, SERVER, count("t1@p1", 1.0))
    long_id = "n" * glossary.MAX_NOTE_ID_CHARS
    allowed(board, SERVER, count(glossary.flag_key(glossary.note_flag_id("n1"), "p1"), 2.0))
    allowed(board, SERVER, count(glossary.flag_key(glossary.note_flag_id("n1"), "p2"), 3.0))
    allowed(board, SERVER, count(glossary.flag_key(glossary.note_flag_id(long_id), "p1"), 1.0))
    for actor in (ANA, FACILITATOR):
        reason = board.attempt(actor, count("note:n1@p1", 0.0))
        assert reason == "a term's flags are counted by the server"
    assert board.attempt(VIEWER, count("note:n1@p1", 0.0)) == "viewers cannot change the board"
    entries = board.client.get("glossary_flags", type=Map).to_py() or {}
    assert glossary.note_flag_counts(entries) == {"n1": 3, long_id: 1}
    assert glossary.flag_counts(entries) == {"t1": 1}
    assert [(t.id, t.flags) for t in glossary.terms_of(board.client)] == [("t1", 1)]
