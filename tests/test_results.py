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


def tally(dots: int, voters: int, share: float | None, against: int = 0) -> dict[str, Any]:
    return {"dots": dots, "voters": voters, "against": against, "share": share}


ZERO = tally(0, 0, 0.0)  # a group that voted, but not for this
SILENT = tally(0, 0, None)  # a group with no voters: no share at all


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
    # consensus = min = 1/2 over the groups that voted ("" did not: share None). No marks: not
    # divisive.
    assert notes["A"] == {
        "note_id": "A",
        "text": "Bike lanes",
        "cluster": "c1",
        "total": 5,
        "against": 0,
        "by_group": {
            "resident": tally(3, 2, 2 / 3),
            "social": tally(1, 1, 1 / 2),
            "research": tally(1, 1, 1.0),
            "": SILENT,
        },
        "consensus": 0.5,
        "divisive": False,
    }
    # B: r2 1 | s1 1 + s2 2 = 4. Shares: resident 1/3, social 2/2, research 0/1.
    # consensus 0 (research voted, none on B). Social backs it and research did not pick it: the
    # old spread rule called that divisive; not picking is not opposing, and there are no marks.
    assert notes["B"]["total"] == 4
    assert notes["B"]["by_group"] == {
        "resident": tally(1, 1, 1 / 3),
        "social": tally(3, 2, 1.0),
        "research": ZERO,
        "": SILENT,
    }
    assert (notes["B"]["consensus"], notes["B"]["divisive"]) == (0.0, False)
    # C: r1 1 + r3 2 | - | x1 1 = 4. Shares 2/3, 0, 1: consensus 0, not divisive (no marks).
    assert notes["C"]["by_group"]["resident"] == tally(3, 2, 2 / 3)
    assert notes["C"]["by_group"]["research"] == tally(1, 1, 1.0)
    assert (notes["C"]["total"], notes["C"]["consensus"], notes["C"]["divisive"]) == (4, 0.0, False)
    # D: s2 1 = 1. Shares 0, 1/2, 0: consensus 0.
    assert notes["D"]["by_group"]["social"] == tally(1, 1, 0.5)
    assert (notes["D"]["total"], notes["D"]["consensus"], notes["D"]["divisive"]) == (1, 0.0, False)
    # E: no dots at all; its cluster does not exist.
    assert notes["E"]["cluster"] is None
    assert (notes["E"]["total"], notes["E"]["consensus"], notes["E"]["divisive"]) == (0, 0.0, False)
    assert notes["E"]["by_group"] == {
        "resident": ZERO, "social": ZERO, "research": ZERO, "": SILENT
    }
    assert not any(n["divisive"] for n in results["notes"])
    assert results["disagree_marks"] is False


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
        "against": 0,
        "by_group": {
            "resident": tally(4, 2, 2 / 3),
            "social": tally(4, 2, 1.0),
            "research": tally(1, 1, 1.0),
            "": SILENT,
        },
        "consensus": 2 / 3,
        "divisive": False,
    }
    # c2 = C: as note C.
    assert clusters["c2"]["total"] == 4
    assert (clusters["c2"]["consensus"], clusters["c2"]["divisive"]) == (0.0, False)
    # c3 has no notes.
    assert (clusters["c3"]["total"], clusters["c3"]["consensus"]) == (0, 0.0)
    assert clusters["c3"]["divisive"] is False
    assert [c["cluster_id"] for c in results["clusters"]] == ["c1", "c2", "c3"]


def test_no_votes_and_no_ungrouped_participants() -> None:
    results = compute_results(
        [("p1", "a")], [], {"n": {"text": "x", "cluster": None}}, {}, ["a", "b"]
    )
    # No "" group: everyone has a group. No voters: no share and no consensus (null), not 0.
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
            "against": 0,
            "by_group": {"a": SILENT, "b": SILENT},
            "consensus": None,
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
    assert n1["by_group"]["b"] == SILENT


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


# ---------------------------------------------------------------------- divisive on evidence


def _evidence_board(
    res: tuple[int, int, int], soc: tuple[int, int, int]
) -> dict[str, Any]:
    """Residents (6 people), social workers (6) and officials (2, never vote). For each voting
    group (for, against, voters): the first `for` members dot idea "n", the next `against` mark
    it "I disagree", and the rest up to `voters` dot another idea, so they are voters who did
    not pick "n"."""
    people: list[tuple[str, str | None]] = [(f"r{i}", "res") for i in range(6)]
    people += [(f"s{i}", "soc") for i in range(6)] + [("o0", "off"), ("o1", "off")]
    votes: list[tuple[str, str, int]] = []
    marks: list[tuple[str, str]] = []
    for prefix, (backers, opponents, voters) in (("r", res), ("s", soc)):
        for i in range(voters):
            if i < backers:
                votes.append((f"{prefix}{i}", "n", 1))
            elif i < backers + opponents:
                marks.append((f"{prefix}{i}", "n"))
            else:
                votes.append((f"{prefix}{i}", "other", 1))
    notes = {"n": {"text": "idea"}, "other": {"text": "other idea"}}
    return compute_results(people, votes, notes, {}, ["res", "soc", "off"], marks)


@pytest.mark.parametrize(
    ("res", "soc", "divisive"),
    [
        # The issue's case: 4 of 5 residents chose it, social workers voted elsewhere: not
        # picking is not opposing.
        ((4, 0, 5), (0, 0, 4), False),
        ((4, 0, 5), (0, 2, 4), True),  # 2 of 4 social workers disagree: exactly half
        ((4, 0, 5), (0, 1, 4), False),  # 1 mark is not enough evidence (>= 2 needed)
        ((4, 0, 5), (0, 2, 5), False),  # 2 of 5 disagree: 0.4 < 0.5
        ((1, 0, 1), (0, 2, 2), False),  # backed by 1 of 1: one person is not a group's backing
        ((2, 0, 4), (0, 3, 3), True),  # backing at exactly half (2 of 4)
        ((2, 0, 5), (0, 3, 3), False),  # 2 of 5 chose it: 0.4 < 0.5
        ((2, 2, 4), (0, 0, 3), False),  # one group split in itself: not a divide between groups
        ((0, 0, 0), (0, 2, 2), False),  # residents did not vote: nobody backs it
        ((0, 2, 2), (2, 0, 2), True),  # the other way round
    ],
)
def test_divisive_only_on_evidence(
    res: tuple[int, int, int], soc: tuple[int, int, int], divisive: bool
) -> None:
    results = _evidence_board(res, soc)
    note = next(n for n in results["notes"] if n["note_id"] == "n")
    assert note["divisive"] is divisive
    expected: dict[str, Any] = {}
    for group, (backers, opponents, voters) in (("res", res), ("soc", soc)):
        share = backers / voters if voters else None
        expected[group] = tally(backers, backers, share, against=opponents)
        assert results["groups"][group] == {"participants": 6, "voters": voters}
    # Officials never voted: "no votes from this group", not 0 %.
    expected["off"] = SILENT
    assert note["by_group"] == expected
    assert note["against"] == res[1] + soc[1]
    shares = [e["share"] for e in expected.values() if e["share"] is not None]
    assert note["consensus"] == (min(shares) if shares else None)
    assert results["disagree_marks"] is True


def test_issue_case_reads_as_chosen_by_some_and_silent_from_others() -> None:
    results = _evidence_board((4, 0, 5), (0, 0, 4))
    note = next(n for n in results["notes"] if n["note_id"] == "n")
    # Consensus over the groups that voted only: residents 4/5, social workers 0/4 -> 0; the
    # officials (no voters) are not counted as "0 %".
    assert note["consensus"] == 0.0
    assert note["by_group"]["off"]["share"] is None
    assert results["groups"]["off"] == {"participants": 2, "voters": 0}


def test_marks_that_do_not_count_and_a_marker_is_a_voter() -> None:
    people: list[tuple[str, str | None]] = [("p1", "g"), ("p2", "g"), ("p3", "h")]
    votes = [("p1", "n", 1)]
    # p2 only marked: a voter of g. A mark on a deleted note or by a stranger does not count;
    # a repeated mark counts once.
    marks = [("p2", "n"), ("p2", "n"), ("p3", "gone"), ("stranger", "n")]
    results = compute_results(people, votes, {"n": {"text": "t"}}, {}, ["g", "h"], marks)
    assert results["groups"] == {
        "g": {"participants": 2, "voters": 2},
        "h": {"participants": 1, "voters": 0},
    }
    note = results["notes"][0]
    assert note["by_group"] == {"g": tally(1, 1, 0.5, against=1), "h": SILENT}
    assert (note["against"], note["consensus"], note["divisive"]) == (1, 0.5, False)


def test_a_cluster_is_opposed_by_anyone_who_marked_any_of_its_notes() -> None:
    # g: g1, g2 dot n1; h: h1 marks n1, h2 marks n2 -> the cluster: g 2 of 2 for, h 2 of 2
    # against (each note alone has only 1 mark from h: not divisive).
    people: list[tuple[str, str | None]] = [("g1", "g"), ("g2", "g"), ("h1", "h"), ("h2", "h")]
    notes = {"n1": {"text": "", "cluster": "c"}, "n2": {"text": "", "cluster": "c"}}
    votes = [("g1", "n1", 1), ("g2", "n1", 2)]
    marks = [("h1", "n1"), ("h2", "n2")]
    results = compute_results(people, votes, notes, {"c": {"title": "T"}}, ["g", "h"], marks)
    assert [n["divisive"] for n in results["notes"]] == [False, False]
    cluster = results["clusters"][0]
    assert cluster["by_group"] == {"g": tally(3, 2, 1.0), "h": tally(0, 0, 0.0, against=2)}
    assert (cluster["total"], cluster["against"], cluster["divisive"]) == (3, 2, True)


def test_ranking_puts_ideas_without_consensus_last() -> None:
    # Nobody voted: consensus null for every note; ranking falls back to total then id.
    results = compute_results([("p", "g")], [], {"b": {"text": ""}, "a": {"text": ""}}, {}, ["g"])
    assert [(n["note_id"], n["consensus"]) for n in results["notes"]] == [("a", None), ("b", None)]


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
