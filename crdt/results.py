"""Results of a vote: totals, per declared group, a cross-group consensus, and divisiveness judged
on evidence ("I disagree" marks), never on a missing dot.

Pure: standard library only, no I/O. The server feeds it the store's dots and marks and the doc's
notes and clusters, and writes the output into the doc's `results` map (or serves it as JSON).

Definitions
- Groups, in output order: the facilitator's `groups`; then any group a participant declared that is
  not (or no longer) in that list, sorted, so no one's dots disappear; then "" for participants with
  no group, only if there are any.
- A dot or mark counts only if its note still exists and its author is a known participant; dot
  counts <= 0 are ignored and repeated (participant, note) entries add up; a mark counts once.
- A group's *voters*: its participants who cast at least one counted dot or mark anywhere.
- For each note, per group: its `dots`, its `voters` (members with >= 1 dot on the note: "for"),
  `against` (members with an "I disagree" mark on it) and `share` = for-voters / the group's voters,
  `null` for a group with no voters (it said nothing, so it has no share).
- `consensus` = the lowest share among groups that have voters (`null` if no group has any): an idea
  scores high only if every group that voted backs it. A group that did not vote is left out.
- `divisive` only on evidence: some group backs the idea (>= 2 of its voters chose it and they are
  >= half of its voters) while another group opposes it (>= 2 of its voters marked "I disagree" and
  they are >= half of its voters). A group that did not pick an idea has not opposed it, so
  without marks nothing is divisive.
- For each cluster, the same fields over the notes in it: a member is "for" the cluster if they
  dotted any of its notes, "against" if they marked any of them. A note whose `cluster` names no
  existing cluster belongs to none (and its `cluster` is reported as None).
- Notes and clusters are ranked by consensus (high first, `null` last), then total, then id.

Shares are computed as exact fractions, so ties and the 0.5 thresholds are decided exactly; they are
reported as floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypedDict

NO_GROUP = ""
# Evidence needed on each side before an idea is called divisive.
DIVISIVE_MIN_PEOPLE = 2
DIVISIVE_MIN_SHARE = Fraction(1, 2)


class GroupSummary(TypedDict):
    participants: int
    voters: int


class GroupTally(TypedDict):
    dots: int
    voters: int
    against: int
    share: float | None


class NoteResult(TypedDict):
    note_id: str
    text: str
    cluster: str | None
    total: int
    against: int
    by_group: dict[str, GroupTally]
    consensus: float | None
    divisive: bool


class ClusterResult(TypedDict):
    cluster_id: str
    title: str
    total: int
    against: int
    by_group: dict[str, GroupTally]
    consensus: float | None
    divisive: bool


@dataclass(frozen=True, slots=True)
class _Electorate:
    group_of: dict[str, str]  # participant -> group name
    order: list[str]  # group names, in output order
    participants: dict[str, int]  # group -> members
    voters: dict[str, int]  # group -> members with at least one counted dot or mark


@dataclass(frozen=True, slots=True)
class _Tally:
    total: int
    against: int
    by_group: dict[str, GroupTally]
    consensus: Fraction | None
    divisive: bool


def compute_results(
    participants: Iterable[tuple[str, str | None]],
    votes: Iterable[tuple[str, str, int]],
    notes: Mapping[str, Mapping[str, Any]],
    clusters: Mapping[str, Mapping[str, Any]],
    groups: Sequence[str],
    marks: Iterable[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Results of a vote; see the module docstring for the definitions.

    `marks`: (participant, note) "I disagree" marks, or None when the board does not use them (the
    output's `disagree_marks` says which, so renderers know whether "against" means anything).

    Shape: {"groups": {name: GroupSummary}, "notes": [NoteResult], "clusters": [ClusterResult],
    "disagree_marks": bool}, plain JSON-ready dicts.
    """
    group_of = {pid: group or NO_GROUP for pid, group in participants}
    dots = _count_dots(votes, group_of, notes)
    against = _count_marks(marks or (), group_of, notes)
    electorate = _electorate(group_of, groups, dots, against)

    cluster_of = {
        note_id: cluster
        for note_id, note in notes.items()
        if (cluster := note.get("cluster")) is not None and cluster in clusters
    }
    notes_in: defaultdict[str, list[str]] = defaultdict(list)
    for note_id, cluster_id in cluster_of.items():
        notes_in[cluster_id].append(note_id)
    note_results = [
        _note_result(
            note_id, note, cluster_of.get(note_id), dots[note_id], against[note_id], electorate
        )
        for note_id, note in notes.items()
    ]
    cluster_results = [
        _cluster_result(cluster_id, cluster, notes_in[cluster_id], dots, against, electorate)
        for cluster_id, cluster in clusters.items()
    ]
    group_summaries: dict[str, GroupSummary] = {
        g: {"participants": electorate.participants[g], "voters": electorate.voters[g]}
        for g in electorate.order
    }
    return {
        "groups": group_summaries,
        "notes": [r for _, r in sorted(note_results, key=lambda pair: pair[0])],
        "clusters": [r for _, r in sorted(cluster_results, key=lambda pair: pair[0])],
        "disagree_marks": marks is not None,
    }


def _count_dots(
    votes: Iterable[tuple[str, str, int]],
    group_of: Mapping[str, str],
    notes: Mapping[str, object],
) -> defaultdict[str, dict[str, int]]:
    """note -> participant -> dots, keeping only the dots that count."""
    dots: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for pid, note_id, count in votes:
        if count > 0 and note_id in notes and pid in group_of:
            dots[note_id][pid] = dots[note_id].get(pid, 0) + count
    return dots


def _count_marks(
    marks: Iterable[tuple[str, str]], group_of: Mapping[str, str], notes: Mapping[str, object]
) -> defaultdict[str, set[str]]:
    """note -> participants who marked it "I disagree", keeping only the marks that count."""
    against: defaultdict[str, set[str]] = defaultdict(set)
    for pid, note_id in marks:
        if note_id in notes and pid in group_of:
            against[note_id].add(pid)
    return against


def _electorate(
    group_of: Mapping[str, str],
    groups: Sequence[str],
    dots: Mapping[str, Mapping[str, int]],
    against: Mapping[str, set[str]],
) -> _Electorate:
    declared = list(dict.fromkeys(groups))
    named = set(group_of.values()) - {NO_GROUP}
    order = declared + sorted(named - set(declared))
    if NO_GROUP in group_of.values() and NO_GROUP not in order:
        order.append(NO_GROUP)
    participants = dict.fromkeys(order, 0)
    for group in group_of.values():
        participants[group] += 1
    voters = dict.fromkeys(order, 0)
    cast = {pid for by_pid in dots.values() for pid in by_pid}
    cast |= {pid for pids in against.values() for pid in pids}
    for pid in cast:
        voters[group_of[pid]] += 1
    return _Electorate(dict(group_of), order, participants, voters)


def _tally(for_pids: Mapping[str, int], against_pids: set[str], electorate: _Electorate) -> _Tally:
    """Total, per-group figures, consensus and divisiveness of one note or cluster.

    `for_pids`: participant -> dots given; `against_pids`: participants who marked it."""
    dots = dict.fromkeys(electorate.order, 0)
    backers = dict.fromkeys(electorate.order, 0)
    opponents = dict.fromkeys(electorate.order, 0)
    for pid, count in for_pids.items():
        dots[electorate.group_of[pid]] += count
        backers[electorate.group_of[pid]] += 1
    for pid in against_pids:
        opponents[electorate.group_of[pid]] += 1
    voted = [g for g in electorate.order if electorate.voters[g]]
    share = {g: Fraction(backers[g], electorate.voters[g]) for g in voted}
    against_share = {g: Fraction(opponents[g], electorate.voters[g]) for g in voted}
    backing = {
        g for g in voted if backers[g] >= DIVISIVE_MIN_PEOPLE and share[g] >= DIVISIVE_MIN_SHARE
    }
    opposing = {
        g
        for g in voted
        if opponents[g] >= DIVISIVE_MIN_PEOPLE and against_share[g] >= DIVISIVE_MIN_SHARE
    }
    # Two different groups are needed: one group split in itself is not a divide between groups.
    divisive = any(b != o for b in backing for o in opposing)
    return _Tally(
        total=sum(dots.values()),
        against=sum(opponents.values()),
        by_group={
            g: {
                "dots": dots[g],
                "voters": backers[g],
                "against": opponents[g],
                "share": float(share[g]) if g in share else None,
            }
            for g in electorate.order
        },
        consensus=min(share.values()) if share else None,
        divisive=divisive,
    )


def _rank(tally: _Tally, item_id: str) -> tuple[bool, Fraction, int, str]:
    consensus = tally.consensus if tally.consensus is not None else Fraction(0)
    return (tally.consensus is None, -consensus, -tally.total, item_id)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _note_result(
    note_id: str,
    note: Mapping[str, Any],
    cluster: str | None,
    dots_by_pid: Mapping[str, int],
    against_pids: set[str],
    electorate: _Electorate,
) -> tuple[tuple[bool, Fraction, int, str], NoteResult]:
    tally = _tally(dots_by_pid, against_pids, electorate)
    result: NoteResult = {
        "note_id": note_id,
        "text": str(note.get("text") or ""),
        "cluster": cluster,
        "total": tally.total,
        "against": tally.against,
        "by_group": tally.by_group,
        "consensus": _float(tally.consensus),
        "divisive": tally.divisive,
    }
    return _rank(tally, note_id), result


def _cluster_result(
    cluster_id: str,
    cluster: Mapping[str, Any],
    note_ids: Iterable[str],
    dots: Mapping[str, Mapping[str, int]],
    against: Mapping[str, set[str]],
    electorate: _Electorate,
) -> tuple[tuple[bool, Fraction, int, str], ClusterResult]:
    # Summing per participant over the cluster's notes makes "dotted any note" a voter for it, and
    # the union of marks "marked any note" a voter against it.
    dots_by_pid: dict[str, int] = defaultdict(int)
    against_pids: set[str] = set()
    for note_id in note_ids:
        for pid, count in dots.get(note_id, {}).items():
            dots_by_pid[pid] += count
        against_pids |= against.get(note_id, set())
    tally = _tally(dots_by_pid, against_pids, electorate)
    result: ClusterResult = {
        "cluster_id": cluster_id,
        "title": str(cluster.get("title") or ""),
        "total": tally.total,
        "against": tally.against,
        "by_group": tally.by_group,
        "consensus": _float(tally.consensus),
        "divisive": tally.divisive,
    }
    return _rank(tally, cluster_id), result
