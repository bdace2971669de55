"""crdt.results on cases computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

import crdt.results
from crdt.results import compute_results

GROUPS = ["resident", "social", "research"]

# Three declared groups, plus one participant without a group.
PARTICIPANTS: list[tuple[str, str | None]] = [
    ("r1", "resident"),
    ("r2", "resident"),
    ("r3", "resident"),
    ("r4", "resident"),  # never votes
    ("s1", "social"),
    ("s2", "social"),
    ("x1", "research"),
    ("x2", "research"),  # only dots a deleted note: not a voter
    ("u1", None),  # no group, never votes
]
VOTES: list[tuple[str, str, int]] = [
    ("r1", "A", 2),
    ("r1", "C", 1),
    ("r1", "Z", 3),  # Z was deleted: ignored
    ("r2", "A", 1),
    ("r2", "B", 1),
    ("r3", "C", 2),
    ("s1", "A", 1),
    ("s1", "B", 1),
    ("s2", "B", 2),
    ("s2", "D", 1),
    ("x1", "A", 1),
    ("x1", "C", 1),
    ("x2", "Z", 1),
    ("stranger", "A", 5),  # not a participant: ignored
]
NOTES: dict[str, dict[str, Any]] = {
    "A": {"text": "Bike lanes", "cluster": "c1"},
    "B": {"text": "Night buses", "cluster": "c1"},
    "C": {"text": "Shared gardens", "cluster": "c2"},
    "D": {"text": "Repair café", "cluster": None},
    "E": {"text": "Bench", "cluster": "ghost"},  # names no cluster: belongs to none
}
CLUSTERS = {"c1": {"title": "Mobility"}, "c2": {"title": "Housing"}, "c3": {"title": "Empty"}}


def tally(dots: int, voters: int, share: float) -> dict[str, Any]:
    return {"dots": dots, "voters": voters, "share": share}


ZERO = tally(0, 0, 0.0)


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return dict(compute_results(PARTICIPANTS, VOTES, NOTES, CLUSTERS, GROUPS))


def test_groups_count_participants_and_voters(results: dict[str, Any]) -> None:
    # resident voters: r1, r2, r3 (r4 never voted); social: s1, s2; research: x1 (x2's only dot
    # is on a deleted note); "": u1 never voted.
    assert results["groups"] == {
        "resident": {"participants": 4, "voters": 3},
        "social": {"participants": 2, "voters": 2},
        "research": {"participants": 2, "voters": 1},
        "": {"participants": 1, "voters": 0},
    }
    assert list(results["groups"]) == ["resident", "social", "research", ""]


def test_notes_by_hand(results: dict[str, Any]) -> None:
    notes = {n["note_id"]: n for n in results["notes"]}
    # A: r1 2 + r2 1 | s1 1 | x1 1 = 5. Shares: resident 2/3, social 1/2, research 1/1.
    # consensus = min = 1/2; spread = 1 - 1/2 = 0.5, not > 0.5: not divisive.
    assert notes["A"] == {
        "note_id": "A",
        "text": "Bike lanes",
        "cluster": "c1",
        "total": 5,
        "by_group": {
            "resident": tally(3, 2, 2 / 3),
            "social": tally(1, 1, 1 / 2),
            "research": tally(1, 1, 1.0),
            "": ZERO,
        },
        "consensus": 0.5,
        "divisive": False,
    }
    # B: r2 1 | s1 1 + s2 2 = 4. Shares: resident 1/3, social 2/2, research 0/1.
    # consensus 0 (research voted, none on B); spread 1 - 0 > 0.5: divisive.
    assert notes["B"]["total"] == 4
    assert notes["B"]["by_group"] == {
        "resident": tally(1, 1, 1 / 3),
        "social": tally(3, 2, 1.0),
        "research": ZERO,
        "": ZERO,
    }
    assert (notes["B"]["consensus"], notes["B"]["divisive"]) == (0.0, True)
    # C: r1 1 + r3 2 | - | x1 1 = 4. Shares 2/3, 0, 1: consensus 0, divisive.
    assert notes["C"]["by_group"]["resident"] == tally(3, 2, 2 / 3)
    assert notes["C"]["by_group"]["research"] == tally(1, 1, 1.0)
    assert (notes["C"]["total"], notes["C"]["consensus"], notes["C"]["divisive"]) == (4, 0.0, True)
    # D: s2 1 = 1. Shares 0, 1/2, 0: consensus 0, spread exactly 0.5: not divisive.
    assert notes["D"]["by_group"]["social"] == tally(1, 1, 0.5)
    assert (notes["D"]["total"], notes["D"]["consensus"], notes["D"]["divisive"]) == (1, 0.0, False)
    # E: no dots at all; its cluster does not exist.
    assert notes["E"]["cluster"] is None
    assert (notes["E"]["total"], notes["E"]["consensus"], notes["E"]["divisive"]) == (0, 0.0, False)
    assert notes["E"]["by_group"] == dict.fromkeys(["resident", "social", "research", ""], ZERO)


def test_notes_ranked_by_consensus_then_total_then_id(results: dict[str, Any]) -> None:
    # A (1/2) first; then consensus 0: B and C (4 dots, B < C by id), D (1), E (0).
    assert [n["note_id"] for n in results["notes"]] == ["A", "B", "C", "D", "E"]


def test_clusters_by_hand(results: dict[str, Any]) -> None:
    clusters = {c["cluster_id"]: c for c in results["clusters"]}
    # c1 = A + B: 5 + 4 = 9 dots. resident voters r1, r2 -> 2/3; social s1, s2 -> 2/2;
    # research x1 -> 1/1. consensus 2/3; spread 1 - 2/3 = 1/3: not divisive.
    assert clusters["c1"] == {
        "cluster_id": "c1",
        "title": "Mobility",
        "total": 9,
        "by_group": {
            "resident": tally(4, 2, 2 / 3),
            "social": tally(4, 2, 1.0),
            "research": tally(1, 1, 1.0),
            "": ZERO,
        },
        "consensus": 2 / 3,
        "divisive": False,
    }
    # c2 = C: as note C.
    assert clusters["c2"]["total"] == 4
    assert (clusters["c2"]["consensus"], clusters["c2"]["divisive"]) == (0.0, True)
    # c3 has no notes.
    assert (clusters["c3"]["total"], clusters["c3"]["consensus"]) == (0, 0.0)
    assert clusters["c3"]["divisive"] is False
    assert [c["cluster_id"] for c in results["clusters"]] == ["c1", "c2", "c3"]


def test_no_votes_and_no_ungrouped_participants() -> None:
    results = compute_results(
        [("p1", "a")], [], {"n": {"text": "x", "cluster": None}}, {}, ["a", "b"]
    )
    # No "" group: everyone has a group. No voters: every share and the consensus are 0.
    assert results["groups"] == {
        "a": {"participants": 1, "voters": 0},
        "b": {"participants": 0, "voters": 0},
    }
    assert results["notes"] == [
        {
            "note_id": "n",
            "text": "x",
            "cluster": None,
            "total": 0,
            "by_group": {"a": ZERO, "b": ZERO},
            "consensus": 0.0,
            "divisive": False,
        }
    ]
    assert results["clusters"] == []


def test_one_voting_group_its_share_is_the_consensus() -> None:
    # Group a: p1, p2, p3 all vote -> 3 voters; n1 dotted by p1, p2 -> 2/3. Group b never votes
    # and is left out of consensus and divisiveness.
    votes = [("p1", "n1", 1), ("p2", "n1", 1), ("p3", "n2", 1)]
    people: list[tuple[str, str | None]] = [("p1", "a"), ("p2", "a"), ("p3", "a"), ("q", "b")]
    notes = {"n1": {"text": "one"}, "n2": {"text": "two"}}
    results = compute_results(people, votes, notes, {}, ["a", "b"])
    n1, n2 = results["notes"]
    assert (n1["note_id"], n1["consensus"], n1["divisive"]) == ("n1", 2 / 3, False)
    assert (n2["note_id"], n2["consensus"], n2["divisive"]) == ("n2", 1 / 3, False)
    assert n1["by_group"]["b"] == ZERO


def test_repeated_entries_add_up_and_non_positive_counts_are_ignored() -> None:
    votes = [("p1", "n", 1), ("p1", "n", 2), ("p2", "n", 0), ("p3", "n", -1)]
    people: list[tuple[str, str | None]] = [("p1", "g"), ("p2", "g"), ("p3", "g")]
    results = compute_results(people, votes, {"n": {"text": "t"}}, {}, ["g"])
    assert results["groups"]["g"] == {"participants": 3, "voters": 1}
    assert results["notes"][0]["by_group"]["g"] == tally(3, 1, 1.0)


def test_undeclared_groups_come_after_declared_ones_and_empty_group_last() -> None:
    people: list[tuple[str, str | None]] = [
        ("p1", "zeta"),
        ("p2", None),
        ("p3", "alpha"),
        ("p4", "declared"),
        ("p5", ""),  # an empty group name is no group
    ]
    results = compute_results(people, [("p1", "n", 1)], {"n": {"text": "t"}}, {}, ["declared"])
    assert list(results["groups"]) == ["declared", "alpha", "zeta", ""]
    assert results["groups"][""] == {"participants": 2, "voters": 0}
    assert list(results["notes"][0]["by_group"]) == ["declared", "alpha", "zeta", ""]


def test_a_cluster_voter_is_anyone_who_dotted_any_of_its_notes() -> None:
    # g has 2 voters; p1 dots n1, p2 dots n2: each note 1/2, the cluster 2/2.
    people: list[tuple[str, str | None]] = [("p1", "g"), ("p2", "g")]
    notes = {"n1": {"text": "", "cluster": "c"}, "n2": {"text": "", "cluster": "c"}}
    votes = [("p1", "n1", 1), ("p2", "n2", 1)]
    results = compute_results(people, votes, notes, {"c": {"title": "T"}}, ["g"])
    assert [n["consensus"] for n in results["notes"]] == [0.5, 0.5]
    assert results["clusters"][0]["by_group"] == {"g": tally(2, 2, 1.0)}
    assert results["clusters"][0]["consensus"] == 1.0


def test_module_is_pure_standard_library() -> None:
    tree = ast.parse(Path(crdt.results.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0]
        if isinstance(node, ast.ImportFrom)
        else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
