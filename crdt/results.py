"""Dot-vote results: totals, per declared group, and a cross-group consensus score.

Pure: standard library only, no I/O. The server feeds it the store's votes and the doc's notes and
clusters, and writes the output into the doc's `results` map (or serves it as JSON).

Definitions
- Groups, in output order: the facilitator's `groups`; then any group a participant declared that is
  not (or no longer) in that list, sorted, so no one's dots disappear; then "" for participants with
  no group, only if there are any.
- A dot counts only if its note still exists and its voter is a known participant; counts <= 0 are
  ignored and repeated (participant, note) entries add up.
- A group's *voters*: its participants who cast at least one (counted) dot anywhere on the board.
- For each note: `total` dots; per group, its `dots`, its `voters` (members with >= 1 dot on the
  note) and `share` = voters on the note / the group's voters (0 for a group with no voters).
- `consensus` = the lowest share among groups with >= 1 voter (0 if no group has voters): a note
  scores high only if every group that voted backs it.
- `divisive` = the highest minus the lowest of those shares is more than 0.5: one group backs it,
  another does not.
- For each cluster, the same fields over the notes in it: a member is a voter on the cluster if they
  dotted any of its notes. A note whose `cluster` names no existing cluster belongs to none (and its
  `cluster` is reported as None).
- Notes and clusters are ranked by consensus (high first), then total (high first), then id.

Shares are computed as exact fractions, so ties and the 0.5 threshold are decided exactly; they are
reported as floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypedDict

NO_GROUP = ""
DIVISIVE_SPREAD = Fraction(1, 2)


class GroupSummary(TypedDict):
    participants: int
    voters: int


class GroupTally(TypedDict):
    dots: int
    voters: int
    share: float


class NoteResult(TypedDict):
    note_id: str
    text: str
    cluster: str | None
    total: int
    by_group: dict[str, GroupTally]
    consensus: float
    divisive: bool


class ClusterResult(TypedDict):
    cluster_id: str
    title: str
    total: int
    by_group: dict[str, GroupTally]
    consensus: float
    divisive: bool


@dataclass(frozen=True, slots=True)
class _Electorate:
    group_of: dict[str, str]  # participant -> group name
    order: list[str]  # group names, in output order
    participants: dict[str, int]  # group -> members
    voters: dict[str, int]  # group -> members with at least one counted dot


@dataclass(frozen=True, slots=True)
class _Tally:
    total: int
    by_group: dict[str, GroupTally]
    consensus: Fraction
    divisive: bool


def compute_results(
    participants: Iterable[tuple[str, str | None]],
    votes: Iterable[tuple[str, str, int]],
    notes: Mapping[str, Mapping[str, Any]],
    clusters: Mapping[str, Mapping[str, Any]],
    groups: Sequence[str],
) -> dict[str, Any]:
    """Results of a dot vote; see the module docstring for the definitions.

    Shape: {"groups": {name: GroupSummary}, "notes": [NoteResult], "clusters": [ClusterResult]},
    plain JSON-ready dicts (a plain dict return type, so callers can pass it on as JSON).
    """
    group_of = {pid: group or NO_GROUP for pid, group in participants}
    dots = _count_dots(votes, group_of, notes)
    electorate = _electorate(group_of, groups, dots)

    cluster_of = {
        note_id: cluster
        for note_id, note in notes.items()
        if (cluster := note.get("cluster")) is not None and cluster in clusters
    }
    notes_in: defaultdict[str, list[str]] = defaultdict(list)
    for note_id, cluster_id in cluster_of.items():
        notes_in[cluster_id].append(note_id)
    note_results = [
        _note_result(note_id, note, cluster_of.get(note_id), dots[note_id], electorate)
        for note_id, note in notes.items()
    ]
    cluster_results = [
        _cluster_result(
            cluster_id, cluster, [dots[note_id] for note_id in notes_in[cluster_id]], electorate
        )
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


def _electorate(
    group_of: Mapping[str, str], groups: Sequence[str], dots: Mapping[str, Mapping[str, int]]
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
    for pid in {pid for by_pid in dots.values() for pid in by_pid}:
        voters[group_of[pid]] += 1
    return _Electorate(dict(group_of), order, participants, voters)


def _tally(dots_by_pid: Mapping[str, int], electorate: _Electorate) -> _Tally:
    """Total, per-group figures, consensus and divisiveness of one note or cluster."""
    dots = dict.fromkeys(electorate.order, 0)
    voters = dict.fromkeys(electorate.order, 0)
    for pid, count in dots_by_pid.items():
        group = electorate.group_of[pid]
        dots[group] += count
        voters[group] += 1
    shares = {
        g: Fraction(voters[g], electorate.voters[g]) if electorate.voters[g] else Fraction(0)
        for g in electorate.order
    }
    # Groups where nobody voted say nothing about support: leave them out of the comparison.
    counted = [shares[g] for g in electorate.order if electorate.voters[g]]
    lowest = min(counted, default=Fraction(0))
    return _Tally(
        total=sum(dots.values()),
        by_group={
            g: {"dots": dots[g], "voters": voters[g], "share": float(shares[g])}
            for g in electorate.order
        },
        consensus=lowest,
        divisive=bool(counted) and max(counted) - lowest > DIVISIVE_SPREAD,
    )


def _rank(tally: _Tally, item_id: str) -> tuple[Fraction, int, str]:
    return (-tally.consensus, -tally.total, item_id)


def _note_result(
    note_id: str,
    note: Mapping[str, Any],
    cluster: str | None,
    dots_by_pid: Mapping[str, int],
    electorate: _Electorate,
) -> tuple[tuple[Fraction, int, str], NoteResult]:
    tally = _tally(dots_by_pid, electorate)
    result: NoteResult = {
        "note_id": note_id,
        "text": str(note.get("text") or ""),
        "cluster": cluster,
        "total": tally.total,
        "by_group": tally.by_group,
        "consensus": float(tally.consensus),
        "divisive": tally.divisive,
    }
    return _rank(tally, note_id), result


def _cluster_result(
    cluster_id: str,
    cluster: Mapping[str, Any],
    notes_dots: Iterable[Mapping[str, int]],
    electorate: _Electorate,
) -> tuple[tuple[Fraction, int, str], ClusterResult]:
    # Summing per participant over the cluster's notes makes "dotted any note" a voter.
    dots_by_pid: dict[str, int] = defaultdict(int)
    for note_dots in notes_dots:
        for pid, count in note_dots.items():
            dots_by_pid[pid] += count
    tally = _tally(dots_by_pid, electorate)
    result: ClusterResult = {
        "cluster_id": cluster_id,
        "title": str(cluster.get("title") or ""),
        "total": tally.total,
        "by_group": tally.by_group,
        "consensus": float(tally.consensus),
        "divisive": tally.divisive,
    }
    return _rank(tally, cluster_id), result
