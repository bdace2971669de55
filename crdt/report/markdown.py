"""The take-home report as Markdown (the printable page renders it), in FR/NL/EN: participants
per group, clusters ranked, ideas with their support per group, the ideas every group backs, the
divisive ones, participation per group, the timeline of the phases."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from crdt.report.escaping import md_text
from crdt.report.model import (
    Person,
    ReportInput,
    author_name,
    local_time,
    time_zone,
    translations_of,
)
from crdt.report.sentences import (
    cluster_title,
    consensus_sentence,
    group_label,
    group_size,
    support_clause,
)
from crdt.report.strings import STRINGS, pick_lang, plural

BACKED_BY_ALL = 0.5  # "backed by every group": consensus >= 1/2


def _translation_lines(data: ReportInput, note_id: str, indent: str, lang: str) -> list[str]:
    """The idea in the board's other languages: `[nl] …`, with `(machine)` for machine ones."""
    note = data.board.get("notes", {}).get(note_id, {})
    machine = f" ({STRINGS[lang]['machine']})"
    return [
        f"{indent}- [{md_text(code)}] {md_text(text)}{machine if by_machine else ''}"
        for code, text, by_machine in translations_of(note, data.languages)
    ]


def _idea_text(data: ReportInput, note: Mapping[str, Any], t: Mapping[str, str]) -> str:
    """A text note's text; a photo or voice note says what it is, then its caption."""
    board_note = data.board.get("notes", {}).get(note["note_id"], {})
    kind = board_note.get("kind")
    text = md_text(note["text"])
    if kind in ("photo", "voice"):
        label = t[kind]
        seconds = board_note.get("duration")
        if kind == "voice" and isinstance(seconds, int | float) and seconds > 0:
            label = f"{label} ({max(1, round(seconds))} s)"  # its length, as recorded
        return f"{label}{t['colon']}{text}" if text else label
    return text


def _picture_line(data: ReportInput, note: Mapping[str, Any], indent: str) -> list[str]:
    """`![caption](link)` under a photo: the printable report shows it. The link is the absolute one
    the server signed for that picture alone (`media_urls`), else the board-relative path, which
    only a token of the board opens."""
    board_note = data.board.get("notes", {}).get(note["note_id"], {})
    media = board_note.get("media")
    if board_note.get("kind") != "photo" or not data.board_id or not _linkable(data, media):
        return []
    path = data.media_urls.get(media) or (
        f"/api/boards/{quote(data.board_id, safe='')}/media/{quote(str(media), safe='')}"
    )
    return [f"{indent}![{md_text(note['text'])}]({path.replace(')', '%29')})"]


MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # (crdt/fields.py: what a note's media may be)


def _linkable(data: ReportInput, media: Any) -> bool:
    """A well-formed media id of this board (a note's `media` is the writer's string)."""
    if not isinstance(media, str) or MEDIA_ID.fullmatch(media) is None:
        return False
    return data.media_ids is None or media in data.media_ids


def render_markdown(data: ReportInput, lang: str) -> str:
    lang = pick_lang(lang)
    t = STRINGS[lang]
    results = data.results
    groups: dict[str, Any] = dict(results.get("groups", {}))
    notes: list[dict[str, Any]] = list(results.get("notes", []))
    marks = bool(results.get("disagree_marks"))
    zone = time_zone(data.time_zone)
    c = t["colon"]

    def name(group: str) -> str:
        return md_text(group_label(group, lang, data.group_labels))

    out: list[str] = [f"# {t['report']}{c}{md_text(data.title) or t['untitled']}", ""]
    out += [f"{t['date']}{c}{local_time(data.created_at, zone, '%Y-%m-%d')}", ""]

    out += [f"## {t['participants']}", ""]
    for group, summary in groups.items():
        out.append(f"- {group_size(t, name(group), summary)}")
    if not groups:
        out.append(t["none"])
    out.append("")

    def idea_line(note: Mapping[str, Any], picture: bool = False) -> str:
        line = f"- {_idea_text(data, note, t)} ({plural(t, 'dots', note['total'])}"
        author = author_name(data, note["note_id"])
        line += f", {t['by'].format(name=md_text(author))})" if author else ")"
        more = _translation_lines(data, note["note_id"], "  ", lang)
        return "\n".join([line, *more, *(_picture_line(data, note, "  ") if picture else [])])

    def support_lines(item: Mapping[str, Any], indent: str) -> list[str]:
        lines = []
        for group, summary in groups.items():
            tally = item.get("by_group", {}).get(group, {})
            label = name(group)
            dots = f" ({plural(t, 'dots', tally.get('dots', 0))})"
            clause = support_clause(t, label, tally, summary.get("voters", 0), marks, dots)
            lines.append(f"{indent}- {clause}")
        return lines

    out += [f"## {t['clusters']}", "", t["score_help"], ""]
    clusters: list[dict[str, Any]] = list(results.get("clusters", []))
    board_clusters: Mapping[str, Any] = data.board.get("clusters", {})
    for cluster in clusters:
        # The title in the report's language when someone wrote it (`titles`), else the main one.
        board_cluster = board_clusters.get(cluster["cluster_id"])
        title = md_text(cluster_title(cluster["title"], board_cluster, lang)) or t["untitled"]
        score = consensus_sentence(t, cluster, groups, lang)
        out += [f"### {title} — {plural(t, 'dots', cluster['total'])}, {score}", ""]
        in_cluster = [n for n in notes if n.get("cluster") == cluster["cluster_id"]]
        out += [idea_line(n, picture=True) for n in in_cluster] + [""]
    loose = [n for n in notes if n.get("cluster") is None]
    if loose:
        out += [f"### {t['unclustered']}", ""] + [idea_line(n, picture=True) for n in loose] + [""]
    if not clusters and not loose:
        out += [t["none"], ""]

    out += [f"## {t['ideas']}", ""]
    for rank, note in enumerate(notes, start=1):
        score = consensus_sentence(t, note, groups, lang)
        head = f"{rank}. {_idea_text(data, note, t)} — {plural(t, 'dots', note['total'])}, {score}"
        out.append(head)
        out += _translation_lines(data, note["note_id"], "   ", lang)
        out += support_lines(note, "   ")
    if not notes:
        out.append(t["none"])
    out.append("")

    backed = [n for n in notes if n["consensus"] is not None and n["consensus"] >= BACKED_BY_ALL]
    out += [f"## {t['backed']}", ""] + ([idea_line(n) for n in backed] or [t["none"]]) + [""]
    divisive = [n for n in notes if n.get("divisive")]
    out += [f"## {t['divisive']}", "", t["divisive_help"] if marks else t["no_marks"], ""]
    for note in divisive:
        out.append(idea_line(note))
        out += support_lines(note, "  ")
    if marks and not divisive:
        out.append(t["none"])
    out.append("")

    out += [f"## {t['balance']}", ""]
    posted: dict[str, int] = {}
    for note_id in data.board.get("notes", {}):
        actor = data.authors.get(note_id)
        if actor is not None:
            posted[actor] = posted.get(actor, 0) + 1
    dots: dict[str, int] = {}
    for pid, _note, count in data.votes:
        dots[pid] = dots.get(pid, 0) + max(count, 0)
    by_group: dict[str, list[Person]] = {}
    for person in data.people:
        by_group.setdefault(person.group or "", []).append(person)
    for group in list(groups) + sorted(set(by_group) - set(groups)):
        members = by_group.get(group, [])
        row = t["balance_row"].format(
            g=name(group),
            size=plural(t, "people", len(members)),
            notes=plural(t, "notes", sum(posted.get(p.id, 0) for p in members)),
            votes=plural(t, "dots", sum(dots.get(p.id, 0) for p in members)),
            idle=plural(
                t, "idle", sum(1 for p in members if not posted.get(p.id) and not dots.get(p.id))
            ),
        )
        out.append(f"- {row}")
    if not by_group and not groups:
        out.append(t["none"])
    out.append("")

    out += [f"## {t['timeline']}", ""]
    for ts, phase in data.phases:
        out.append(f"- {local_time(ts, zone, '%H:%M')} {t.get(phase, md_text(phase))}")
    if not data.phases:
        out.append(t["none"])
    out += ["", t["times_in"].format(tz=md_text(str(zone))), ""]
    return "\n".join(out)
