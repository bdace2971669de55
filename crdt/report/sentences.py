"""The results in plain words, for every server-side renderer (Markdown, CSV): a group's size,
one group's support for an idea ("residents: chosen by 4 of 5"), every group's in one line, the
consensus sentence; a group's and a cluster's name in the reader's language. Every share is said
with the counts it comes from; a group with no voters says so instead of "0 %"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crdt.report.strings import STRINGS, pick_lang, plural, plural_with


def group_size(t: Mapping[str, str], label: str, summary: Mapping[str, int]) -> str:
    """ "residents: 6 people, 5 voted" or "officials: 2 people, no votes from this group"."""
    people = plural(t, "people", summary.get("participants", 0))
    voters = summary.get("voters", 0)
    voted = plural(t, "voted", voters) if voters else t["silent_short"]
    return t["group_size"].format(g=label, people=people, voted=voted)


def support_clause(
    t: Mapping[str, str],
    label: str,
    tally: Mapping[str, Any],
    voters: int,
    marks: bool,
    dots: str = "",
) -> str:
    """One group on one idea: "residents: chosen by 4 of 5" (then `dots`, e.g. " (6 dots)"), and
    ", 2 of 5 disagree" when marks are in use and some were cast; or "officials: no votes from
    this group". `voters` is the group's voters (the share's denominator), so the numbers can be
    checked against the group sizes."""
    if not voters:
        return t["silent"].format(g=label)
    clause = t["chosen_by"].format(g=label, n=tally.get("voters", 0), m=voters) + dots
    against = tally.get("against", 0)
    if marks and against:
        clause += ", " + plural_with(t, "against", against, m=voters)
    return clause


def support_summary(
    t: Mapping[str, str],
    item: Mapping[str, Any],
    groups: Mapping[str, Mapping[str, int]],
    marks: bool,
    names: Mapping[str, str] | None = None,
) -> str:
    """Every group on one idea, in one line: "residents: chosen by 4 of 5; social workers: chosen
    by 0 of 4; officials: no votes from this group". `names`: group -> how it reads (see
    `group_label`); a group not in it reads as itself."""
    by_group = item.get("by_group", {})
    names = names or {}
    return "; ".join(
        support_clause(
            t,
            names.get(g) or _group_label(g, t),
            by_group.get(g, {}),
            summary.get("voters", 0),
            marks,
        )
        for g, summary in groups.items()
    )


def consensus_sentence(
    t: Mapping[str, str],
    item: Mapping[str, Any],
    groups: Mapping[str, Mapping[str, int]],
    lang: str,
) -> str:
    """The consensus in plain words, over the groups that voted only."""
    voting = sum(1 for summary in groups.values() if summary.get("voters", 0))
    consensus = item.get("consensus")
    if consensus is None or not voting:
        return t["consensus_nobody"]
    if consensus <= 0:
        return t["consensus_zero"]
    if voting == 1:
        return t["consensus_one"].format(p=percent(consensus, lang))
    return t["consensus_many"].format(p=percent(consensus, lang), n=voting)


def percent(value: float, lang: str) -> str:
    return f"{round(value * 100)}%" if lang == "en" else f"{round(value * 100)} %"


def _group_label(group: str, t: Mapping[str, str]) -> str:
    return group if group else t["no_group"]


def group_label(
    group: str, lang: str, labels: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """How a group reads in `lang`: the facilitator's label for it in that language (the board's
    `group_labels`, as the client's groups.js reads it), else the group itself; "no group" for
    people who gave none. The group string stays the key of the results: only the words change."""
    lang = pick_lang(lang)
    if not group:
        return STRINGS[lang]["no_group"]
    per_lang = (labels or {}).get(group)
    label = per_lang.get(lang) if isinstance(per_lang, Mapping) else None
    return label if isinstance(label, str) and label.strip() else group


def cluster_title(title: str, cluster: Mapping[str, Any] | None, lang: str | None) -> str:
    """A cluster's title in `lang` when someone wrote it (the board cluster's `titles`), else its
    main title; no `lang`: the main title."""
    titles = (cluster or {}).get("titles") if lang else None
    wanted = titles.get(lang) if isinstance(titles, Mapping) else None
    return wanted if isinstance(wanted, str) and wanted.strip() else title
