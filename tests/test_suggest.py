"""Cluster suggestions: the labelled workshops, placements, labels, bounds; the facilitator-only
API, accepting with titles per language, and one computation per board across processes."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pycrdt import Map
from redis.asyncio import Redis

from server import suggest
from server.http.suggestions import gate_scope
from server.scale.claims import KEY_PREFIX
from server.suggest import ClusterText, NoteText
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

DATA = Path(__file__).resolve().parent / "data" / "workshops.json"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def workshops() -> dict[str, dict[str, Any]]:
    return {w["id"]: w for w in json.loads(DATA.read_text())["workshops"]}


def notes_of(w: dict[str, Any]) -> list[NoteText]:
    return [NoteText(n["id"], n["text"], n["lang"], {}) for n in w["notes"]]


def seeded(w: dict[str, Any], draw: int = 0) -> tuple[list[NoteText], list[ClusterText]]:
    """Two notes per topic in the facilitator's clusters (cluster id = "c-" + topic)."""
    rng = random.Random(draw)
    by_label: dict[str, list[NoteText]] = {}
    for row, note in zip(w["notes"], notes_of(w), strict=True):
        by_label.setdefault(row["label"], []).append(note)
    clusters, seeds = [], set()
    for label, notes in sorted(by_label.items()):
        chosen = rng.sample(notes, 2)
        seeds |= {n.id for n in chosen}
        titles = w["clusters"][label]
        clusters.append(
            ClusterText("c-" + label, titles[w["facilitator_lang"]], dict(titles), chosen)
        )
    return [n for n in notes_of(w) if n.id not in seeds], clusters


def test_labelled_workshops_are_many_varied_and_trilingual() -> None:
    shops = workshops()
    new = [w for w in shops.values() if w["id"] != "neighbourhood"]
    assert len(new) >= 4
    assert sum(len(w["notes"]) for w in new) >= 150
    for w in shops.values():
        assert {n["lang"] for n in w["notes"]} == {"fr", "nl", "en"}, w["id"]
    for w in new:
        lengths = [len(n["text"]) for n in w["notes"]]
        assert min(lengths) < 30 and max(lengths) > 100, w["id"]  # short and long
        assert set(w["clusters"]) == {n["label"] for n in w["notes"]}
        assert all(w["facilitator_lang"] in t for t in w["clusters"].values())
    for w in shops.values():  # the board's translations: English for every FR/NL note
        for n in w["notes"]:
            expected = set() if n["lang"] == "en" else {"en"}
            assert set(n.get("translations", {})) == expected, n["id"]
            assert all(t.strip() and t != n["text"] for t in n.get("translations", {}).values())


def test_pairwise_f1_counts_pairs() -> None:
    labels = {"a": "x", "b": "x", "c": "y", "d": "y"}
    assert suggest.pairwise_f1([["a", "b"], ["c", "d"]], labels) == (1.0, 1.0, 1.0)
    assert suggest.pairwise_f1([["a", "b", "c", "d"]], labels) == (2 / 6, 1.0, 0.5)
    assert suggest.pairwise_f1([], labels) == (0.0, 0.0, 0.0)


def test_loose_notes_go_to_their_cluster_and_suggestions_cover_the_rest() -> None:
    """School workshop, two seed notes per cluster: most loose notes are placed right, few
    wrong (abstaining when unsure), and new-cluster suggestions hold only unplaced notes."""
    w = workshops()["school"]
    truth = {n["id"]: "c-" + n["label"] for n in w["notes"]}
    loose, clusters = seeded(w)
    result = suggest.analyse(loose, clusters)
    placed = {p["note"]: p["cluster"] for p in result["placements"]}
    assert all(0 < p["confidence"] <= 1 for p in result["placements"])
    right = sum(placed.get(n.id) == truth[n.id] for n in loose)
    wrong = sum(n.id in placed and placed[n.id] != truth[n.id] for n in loose)
    assert right >= 0.7 * len(loose), (right, len(loose))
    assert wrong <= 0.15 * len(loose), wrong
    assert len(placed) < len(loose)  # some abstentions
    in_suggestions = {i for s in result["suggestions"] for i in s["notes"]}
    assert in_suggestions and not in_suggestions & set(placed)


def test_labels_are_a_few_words_per_language_not_a_note() -> None:
    w = workshops()["library"]
    texts = {n["text"] for n in w["notes"]}
    suggestions = suggest.suggest(notes_of(w))
    assert suggestions
    for s in suggestions:
        assert s["label"] and set(s["label"]) <= {"fr", "nl", "en"}
        for label in s["label"].values():
            assert label not in texts
            assert len(label) <= suggest.MAX_LABEL
            assert 1 <= len(label.split(", ")) <= suggest.MAX_LABEL_WORDS
            assert all(len(word.split()) == 1 for word in label.split(", "))


def test_label_words_come_from_the_group_not_the_board() -> None:
    board = [
        NoteText("a", "la cantine est trop chère", "fr", {"nl": "de kantine is te duur"}),
        NoteText("b", "cantine: des repas chauds svp", "fr", {}),
        NoteText("c", "l'école ferme trop tôt", "fr", {}),
        NoteText("d", "l'école: plus de bancs", "fr", {}),
    ]
    label = suggest.Background(board).label(board[:2], ["fr", "nl", "en"])
    assert label["fr"].split(", ")[0] == "Cantine"
    assert "kantine" in label["nl"].lower()
    assert "en" not in label  # nothing written in English: no English label


def test_one_request_does_bounded_work() -> None:
    """However large the board, one request embeds at most MAX_NOTES notes, each text clipped to
    MAX_TEXT characters, with at most MAX_TRANSLATIONS translations each."""
    seen: list[str] = []

    def recorder(texts: list[str]) -> np.ndarray[Any, Any]:
        seen.extend(texts)
        rng = np.random.default_rng(len(seen))
        return rng.normal(size=(len(texts), 8)).astype(np.float32)

    suggest.ENCODERS.extra["recorder"] = recorder
    try:
        long = "word " * 2000
        loose = [
            NoteText(f"n{i}", f"{i} {long}", "fr", {"nl": f"nl {i} {long}", "en": f"en {i}"})
            for i in range(3000)
        ]
        clusters = [
            ClusterText(
                f"c{k}", "t" * 5000, {}, [NoteText(f"m{k}-{j}", long, "en", {}) for j in range(500)]
            )
            for k in range(20)
        ]
        params = suggest.Params(encoder="recorder")
        suggest.analyse(loose, clusters, params=params)
    finally:
        del suggest.ENCODERS.extra["recorder"]
    titles = 20 * (1 + suggest.MAX_TRANSLATIONS)
    assert len(seen) <= suggest.MAX_NOTES * (1 + suggest.MAX_TRANSLATIONS) + titles
    assert max(len(t) for t in seen) <= suggest.MAX_TEXT


def test_a_note_is_read_with_its_translation_into_the_boards_common_language() -> None:
    """Most notes can be read in English (their text or a translation): a French note is
    embedded with its English translation, whatever order its translations come in; a note with
    no English one takes its first translation by language name."""
    board = [
        NoteText(
            "a", "la cantine est trop chère", "fr", {"nl": "kantine te duur", "en": "canteen"}
        ),
        NoteText("b", "lunch is cold", "en", {"fr": "le repas est froid"}),
        NoteText("c", "te veel huiswerk", "nl", {"en": "too much homework", "fr": "devoirs"}),
        NoteText("d", "école fermée", "fr", {"nl": "school dicht"}),
        NoteText("e", "open later", "en", {}),
        NoteText("f", "more books", "en", {}),
    ]
    assert suggest.common_language(board) == "en"  # en 5 notes, fr 4, nl 3
    assert suggest.common_language([NoteText("x", "?", None, {})]) is None
    seen: list[str] = []

    def recorder(texts: list[str]) -> np.ndarray[Any, Any]:
        seen.extend(texts)
        return np.eye(len(texts), 8, dtype=np.float32) + 0.1

    suggest.ENCODERS.extra["recorder"] = recorder
    try:
        suggest.note_vectors(board, "recorder")
    finally:
        del suggest.ENCODERS.extra["recorder"]
    assert seen == [
        "la cantine est trop chère",
        "canteen",
        "lunch is cold",
        "le repas est froid",
        "te veel huiswerk",
        "too much homework",
        "école fermée",
        "school dicht",
        "open later",
        "more books",
    ]


def test_a_topic_without_cluster_is_suggested_not_pushed_into_the_nearest_cluster() -> None:
    """Four loose notes share a topic that has no cluster yet and lean towards cluster A: without
    looking for new topics they are all placed in A (the failure); with it they stay loose and
    come back as one new-group suggestion, while A's and B's own notes are still placed."""
    basis = np.eye(8)
    lean = {"A": basis[0], "B": basis[1], "C": 0.6 * basis[0] + 0.8 * basis[2]}

    def topics(texts: list[str]) -> np.ndarray[Any, Any]:
        rows = []
        for text in texts:  # each text near its topic's direction, a little noise of its own
            rng = np.random.default_rng(sum(map(ord, text)))
            rows.append(lean[text[0]] + rng.normal(scale=0.05, size=8))
        return np.asarray(rows, dtype=np.float32)

    def note(text: str) -> NoteText:
        return NoteText(text, text, "en", {})

    clusters = [
        ClusterText("cA", "A title", {}, [note("A1"), note("A2")]),
        ClusterText("cB", "B title", {}, [note("B1"), note("B2")]),
    ]
    loose = [note(t) for t in ["A3", "A4", "B3", "C1", "C2", "C3", "C4"]]
    suggest.ENCODERS.extra["topics"] = topics
    try:
        blind = suggest.Params(encoder="topics", place_min=-1.0, new_topic_threshold=None)
        pushed = suggest.analyse(loose, clusters, params=blind)
        params = replace(blind, new_topic_threshold=0.5, new_topic_size=3)
        kept = suggest.analyse(loose, clusters, params=params)
    finally:
        del suggest.ENCODERS.extra["topics"]
    placed = {p["note"]: p["cluster"] for p in pushed["placements"]}
    assert placed == {"A3": "cA", "A4": "cA", "B3": "cB", **{f"C{i}": "cA" for i in range(1, 5)}}
    assert pushed["suggestions"] == []
    placed = {p["note"]: p["cluster"] for p in kept["placements"]}
    assert placed == {"A3": "cA", "A4": "cA", "B3": "cB"}
    assert [sorted(s["notes"]) for s in kept["suggestions"]] == [["C1", "C2", "C3", "C4"]]


def test_playground_notes_without_a_cluster_become_a_new_group() -> None:
    """The board of the panel's browser test, with the real encoder: clusters for meals and
    homework; four loose notes about each of those and four about the playground, which has no
    cluster. Placing blindly pushed all four playground notes into the two clusters; the shipped
    parameters place the meals and homework notes right and offer the playground as a new group."""

    def n(note_id: str, text: str, lang: str) -> NoteText:
        return NoteText(note_id, text, lang, {})

    clusters = [
        ClusterText(
            "c-meals",
            "Cantine",
            {},
            [
                n("m1", "la cantine est trop chère pour les familles", "fr"),
                n("m2", "warme maaltijden op school zijn te duur", "nl"),
            ],
        ),
        ClusterText(
            "c-home",
            "Devoirs",
            {},
            [
                n("h1", "trop de devoirs le soir pour les petits", "fr"),
                n("h2", "huiswerkklas na school voor kinderen", "nl"),
            ],
        ),
    ]
    loose = [
        n("l1", "les repas de la cantine sont froids", "fr"),
        n("l2", "lunch at school is too expensive", "en"),
        n("l3", "minder huiswerk in het weekend", "nl"),
        n("l4", "I cant help my kids with their homework", "en"),
        n("p1", "la cour de récré est trop petite et en béton", "fr"),
        n("p2", "meer groen en schaduw op de speelplaats", "nl"),
        n("p3", "the playground is too small, all concrete", "en"),
        n("p4", "des arbres dans la cour de récréation", "fr"),
    ]
    right = {"l1": "c-meals", "l2": "c-meals", "l3": "c-home", "l4": "c-home"}
    # No English translation here: the board is read by USE (the shipped fallback).
    blind = replace(suggest.USE_PARAMS, place_min=-1.0, new_topic_threshold=None)
    pushed = {p["note"] for p in suggest.analyse(loose, clusters, params=blind)["placements"]}
    assert {"p1", "p2", "p3", "p4"} <= pushed  # the failure: a new topic spread over old clusters
    result = suggest.analyse(loose, clusters)
    assert {p["note"]: p["cluster"] for p in result["placements"]} == right
    assert [sorted(s["notes"]) for s in result["suggestions"]] == [["p1", "p2", "p3", "p4"]]


def test_two_clusters_never_merge_in_the_constrained_linkage() -> None:
    sim = np.array(
        [
            [1.0, 0.9, 0.8, 0.1],
            [0.9, 1.0, 0.8, 0.1],
            [0.8, 0.8, 1.0, 0.7],
            [0.1, 0.1, 0.7, 1.0],
        ]
    )
    groups = suggest.constrained_linkage(sim, [[0], [1], [2], [3]], [True, True, False, False], 0.5)
    assert sorted((sorted(g), s) for g, s in groups) == [([0, 2], True), ([1], True), ([3], False)]
    free = suggest.constrained_linkage(sim, [[0], [1], [2], [3]], [False] * 4, 0.5)
    assert sorted(sorted(g) for g, _ in free) == [[0, 1, 2], [3]]


def test_numpy_runs_one_blas_thread_while_suggesting() -> None:
    """OpenBLAS left alone runs a thread per core (spinning on a busy machine: 6x the CPU for
    200 notes); analyse() holds it to one, and gives the threads back afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads() -> list[int]:
        info = threadpoolctl.threadpool_info()
        return [i["num_threads"] for i in info if i["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert before and max(before) == 2  # the failure can happen: two threads
        seen: list[list[int]] = []

        def probe(texts: list[str]) -> np.ndarray[Any, Any]:
            seen.append(blas_threads())
            return np.eye(len(texts), 8, dtype=np.float32) + 0.1

        suggest.ENCODERS.extra["probe"] = probe
        try:
            notes = [NoteText(f"n{i}", f"note {i}", "fr", {}) for i in range(4)]
            suggest.analyse(notes, (), params=suggest.Params(encoder="probe"))
        finally:
            del suggest.ENCODERS.extra["probe"]
        assert seen == [[1] * len(before)]
        assert blas_threads() == before


async def test_suggestions_facilitator_only_placements_and_accept_with_titles(
    server: ServerProcess,
) -> None:
    w = workshops()["health"]
    board = server.create_board()
    person = server.join(board["join_code"], name="Awa", lang="fr")
    fac = auth(board["facilitator_token"])
    writer = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    loose, clusters = seeded(w)
    try:

        def setup(doc: Any) -> None:
            for c in clusters:
                doc.get("clusters", type=Map)[c.id] = Map(
                    {"title": c.title, "x": 0.0, "y": 0.0, "color": "blue"}
                )
            for row in w["notes"]:
                add_note(row["id"], row["text"], lang=row["lang"])(doc)
            for c in clusters:
                for n in c.notes:
                    doc.get("notes", type=Map)[n.id]["cluster"] = c.id

        await writer.change(setup)
        url = f"/api/boards/{board['id']}/cluster-suggestions"
        async with httpx.AsyncClient(base_url=server.http, timeout=120) as http:
            r = await http.get(url, headers=auth(person["token"]))
            assert (r.status_code, r.json()["error"]) == (403, "forbidden")
            r = await http.get(url, headers=fac)
            assert r.status_code == 200, r.text
            body = r.json()
            assert set(body) == {"placements", "suggestions"}
            truth = {n["id"]: "c-" + n["label"] for n in w["notes"]}
            placements = body["placements"]
            assert placements and all(
                set(p) == {"note", "cluster", "confidence"} for p in placements
            )
            assert {p["note"] for p in placements} <= {n.id for n in loose}
            right = sum(truth[p["note"]] == p["cluster"] for p in placements)
            assert right >= 0.75 * len(placements)
            placed = {p["note"] for p in placements}
            assert all(not placed & set(s["notes"]) for s in body["suggestions"])
            # Accepting a suggestion with a label per language: title + titles, one change.
            ids = [n.id for n in loose if n.id not in placed][:2]
            r = await http.post(
                url + "/accept",
                json={
                    "notes": ids,
                    "title": "Wachttijden",
                    "titles": {"fr": "Attente", "nl": "Wachttijden"},
                },
                headers=fac,
            )
            assert r.status_code == 201, r.text
            cluster_id = r.json()["cluster_id"]
            await writer.wait_until(
                lambda: all(writer.notes()[i].get("cluster") == cluster_id for i in ids)
            )
            made = writer.doc.get("clusters", type=Map)[cluster_id]
            assert made["title"] == "Wachttijden"
            assert dict(made["titles"]) == {"fr": "Attente", "nl": "Wachttijden"}
            r = await http.post(
                url + "/accept", json={"notes": ids, "titles": {"de": "x"}}, headers=fac
            )
            assert (r.status_code, r.json()["error"]) == (422, "bad_titles")
            r = await http.post(url + "/accept", json={"notes": ["nope"]}, headers=fac)
            assert (r.status_code, r.json()["error"]) == (404, "unknown_note")
            r = await http.post(url + "/accept", json={"notes": ids}, headers=auth(person["token"]))
            assert r.status_code == 403
    finally:
        await writer.close()


async def test_one_computation_per_board_across_processes(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    """While one process computes a board's suggestions, a request for the same board on the
    other process gets 429 suggestions_busy (before: both computed, each filling a core); once
    it is done, the board can be asked again."""
    first, second = two
    board = first.create_board()
    writer = await YClient(first.url(board["id"], board["facilitator_token"])).connect()
    rng = random.Random(7)
    words = [n["text"] for w in workshops().values() for n in w["notes"]]
    try:
        for batch in range(6):  # many long, distinct notes: the first request takes a while

            def more(doc: Any, batch: int = batch) -> None:
                for i in range(50):
                    text = " ".join(rng.sample(words, 4))[:280]
                    add_note(f"b{batch}-{i}", text, lang="fr")(doc)

            await writer.change(more)
        # The second process has the board loaded too (so both requests start together).
        reader = await YClient(second.url(board["id"], board["viewer_token"])).connect()
        await reader.wait_until(lambda: len(reader.notes()) == 300)
        await reader.close()
        url = f"/api/boards/{board['id']}/cluster-suggestions"
        fac = auth(board["facilitator_token"])
        async with httpx.AsyncClient(timeout=300) as http:
            # Both at once, on two processes: one computes, the other is told to wait.
            answers = await asyncio.gather(
                http.get(first.http + url, headers=fac), http.get(second.http + url, headers=fac)
            )
            codes = sorted((r.status_code, r.json().get("error")) for r in answers)
            assert codes == [(200, None), (429, "suggestions_busy")], codes
            assert not await redis_gate_held(board["id"])
            r = await http.get(second.http + url, headers=fac)  # done: asking again works
            assert r.status_code == 200, r.text
    finally:
        await writer.close()


async def redis_gate_held(board_id: str) -> bool:
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        return bool(await redis.exists(KEY_PREFIX + gate_scope(board_id)))
    finally:
        await redis.aclose()


@pytest.fixture(autouse=True)
def _no_leftover_encoders() -> None:
    suggest.ENCODERS.extra.pop("recorder", None)


def test_the_panels_write_of_a_cluster_with_titles_passes_the_rules() -> None:
    """What static/suggestions.js writes on accepting: a cluster with `titles` (plain JSON,
    board languages only) and its notes moved in, in one update; another language is refused."""
    from tests.test_rules import FACILITATOR, Board, note

    board = Board()
    assert board.attempt(FACILITATOR, note("n1")) is None

    def accept(titles: dict[str, str]) -> Any:
        def edit(doc: Any) -> None:
            fields = {"title": "Cantine", "x": 0.0, "y": 0.0, "color": "", "titles": titles}
            doc.get("clusters", type=Map)["c1"] = Map(fields)
            doc.get("notes", type=Map)["n1"]["cluster"] = "c1"

        return edit

    assert board.attempt(FACILITATOR, accept({"de": "Kantine"})) == (
        "a cluster's titles map a board language to a title"
    )
    assert board.attempt(FACILITATOR, accept({"fr": "Cantine", "nl": "Kantine"})) is None


def test_an_english_only_encoder_reads_each_notes_english_version_and_titles() -> None:
    """When every note has an English version (its text, or the board's English translation), an
    English-only encoder reads exactly those, and a cluster's English title if it has one: never
    the French or Dutch text, nor a title in another language."""
    seen: list[str] = []

    def english(texts: list[str]) -> np.ndarray[Any, Any]:
        seen.extend(texts)
        rng = np.random.default_rng(len(seen))
        return rng.normal(size=(len(texts), 8)).astype(np.float32)

    loose = [
        NoteText("a", "la cantine est trop chère", "fr", {"en": "the canteen is too dear"}),
        NoteText("b", "lunch is cold", "en", {"fr": "le repas est froid"}),
        NoteText("c", "te veel huiswerk", "nl", {"en": "too much homework", "fr": "devoirs"}),
    ]
    clusters = [
        ClusterText("c1", "Repas", {"fr": "Repas", "en": "Meals"}, [loose[1]]),
        ClusterText("c2", "Devoirs", {"fr": "Devoirs", "nl": "Huiswerk"}, []),
    ]
    suggest.ENCODERS.extra["minilm"] = english
    try:
        params = suggest.Params(encoder="minilm", fallback=suggest.Params(encoder="use"))
        suggest.analyse([loose[0], loose[2]], clusters, params=params)
    finally:
        del suggest.ENCODERS.extra["minilm"]
    assert sorted(seen) == sorted(
        ["the canteen is too dear", "too much homework", "lunch is cold", "Meals"]
    )


def test_an_english_only_encoder_gives_way_when_a_note_has_no_english() -> None:
    """One note with no English version: the whole board is read by the fallback encoder (one
    vector space for all notes), and the English-only one is not asked at all."""
    asked: list[str] = []

    def english(texts: list[str]) -> np.ndarray[Any, Any]:
        asked.extend(texts)
        return np.ones((len(texts), 8), dtype=np.float32)

    fallback: list[str] = []

    def other(texts: list[str]) -> np.ndarray[Any, Any]:
        fallback.extend(texts)
        return np.eye(len(texts), 8, dtype=np.float32) + 0.1

    loose = [
        NoteText("a", "la cantine est trop chère", "fr", {"en": "the canteen is too dear"}),
        NoteText("b", "école fermée le mercredi", "fr", {"nl": "school dicht op woensdag"}),
        NoteText("c", "lunch is cold", "en", {}),
    ]
    suggest.ENCODERS.extra.update(minilm=english, other=other)
    try:
        params = suggest.Params(encoder="minilm", fallback=suggest.Params(encoder="other"))
        suggest.analyse(loose, (), params=params)
        with pytest.raises(ValueError, match="needs every note in English"):
            suggest.analyse(loose, (), params=replace(params, fallback=None))
    finally:
        del suggest.ENCODERS.extra["minilm"], suggest.ENCODERS.extra["other"]
    assert asked == []
    assert "école fermée le mercredi" in fallback and "lunch is cold" in fallback


def test_the_english_encoder_is_used_only_where_installed() -> None:
    """The shipped parameters read English with all-MiniLM-L6-v2 when its optional extra is
    installed, and fall back to the multilingual USE (always installed) otherwise."""
    from server import minilm

    assert suggest.PARAMS.encoder == "minilm"
    assert suggest.PARAMS.fallback is not None and suggest.PARAMS.fallback.encoder == "use"
    assert suggest.ENCODERS.installed("use")
    assert suggest.ENCODERS.installed("minilm") == minilm.available()


def test_the_english_encoder_matches_its_float32_self() -> None:
    """With the optional extra installed: all-MiniLM-L6-v2 as shipped (bfloat16 where native)
    gives the vectors of its float32 self, and tells a paraphrase from another topic."""
    from server import minilm

    if not minilm.available():
        pytest.skip("the optional extra cobord[english] is not installed")
    texts = ["the canteen food is too expensive", "meals at school cost too much", "more books"]
    shipped = minilm.MiniLM().encode(texts)
    fp32 = minilm.MiniLM("fp32").encode(texts)
    assert shipped.shape == (3, 384)
    unit = shipped / np.linalg.norm(shipped, axis=1, keepdims=True)
    ref = fp32 / np.linalg.norm(fp32, axis=1, keepdims=True)
    assert (unit * ref).sum(axis=1).min() > 0.999
    assert unit[0] @ unit[1] > unit[0] @ unit[2] + 0.2


def test_with_the_english_encoder_translated_notes_group_by_topic() -> None:
    """With the optional extra installed, the health workshop with its English translations is read
    in English by all-MiniLM-L6-v2 and its from-scratch suggestions reach pairwise F1 0.65 (USE on
    the same notes: 0.43). A guard against regressions, not the quality: the shipped parameters
    were chosen on all six workshops, health included (docs/api.md gives the left-out figures)."""
    from server import minilm

    if not minilm.available():
        pytest.skip("the optional extra cobord[english] is not installed")
    w = workshops()["health"]
    notes = [NoteText(n["id"], n["text"], n["lang"], n.get("translations", {})) for n in w["notes"]]
    labels = {n["id"]: n["label"] for n in w["notes"]}
    seen: list[str] = []
    real = suggest.ENCODERS._raw

    def spy(name: str, texts: list[str]) -> Any:
        seen.append(name)
        return real(name, texts)

    suggest.ENCODERS._raw = spy  # type: ignore[method-assign]
    try:
        groups = [s["notes"] for s in suggest.analyse(notes)["suggestions"]]
    finally:
        del suggest.ENCODERS._raw
    assert set(seen) == {"minilm"}
    assert round(suggest.pairwise_f1(groups, labels)[2], 2) == 0.65
