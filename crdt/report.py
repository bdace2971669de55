"""The take-home report of a board: Markdown, SVG picture and a spreadsheet-safe CSV, in FR/NL/EN.

Pure: standard library only. The server gathers a `ReportInput` (the board's JSON projection, its
participants, authors, votes, results and phase changes) and these functions render it.

Definitions used by the report:
- "backed by every group": consensus >= 1/2, i.e. in every group that voted at least half of its
  voters put a dot on the idea (and at least one group voted);
- "divisive": the results' own flag (on evidence: one group backs it, another marked "I
  disagree"; see crdt/results.py);
- participation per group: notes posted and dots cast by its members against its size, and how
  many members did neither (a count, never names).
Every share is said with the counts it comes from ("chosen by 4 of 5"); a group with no voters
says so instead of "0 %". The sentence builders (`support_clause`, `support_summary`,
`consensus_sentence`, `group_size`) are what every server-side renderer uses.
Author names appear only on boards that are not anonymous. Times are in the board's time zone.
"""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

LANGS = ("fr", "nl", "en")
BACKED_BY_ALL = 0.5
DEFAULT_TIME_ZONE = "Europe/Brussels"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "colon": ": ",
        "report": "Report",
        "date": "Date",
        "participants": "Participants per group",
        "no_group": "no group",
        "people": "{n} person|{n} people",
        "clusters": "Clusters, those chosen in every group first",
        "unclustered": "Ideas outside clusters",
        "ideas": "Ideas: dots and support per group",
        "dots": "{n} dot|{n} dots",
        "score_help": (
            "“Chosen by at least X %”: in each group that voted, at least that share of its"
            " voters gave the idea a dot. A group with no votes is left out."
        ),
        "by": "by {name}",
        "backed": "Ideas every group backs",
        "divisive": "Divisive ideas",
        "none": "None.",
        "balance": "Participation per group",
        "notes": "{n} note|{n} notes",
        "idle": "{n} did not contribute|{n} did not contribute",
        "balance_row": "{g}: {size}, {notes}, {votes}; {idle}",
        "timeline": "Timeline of the phases",
        "ideate": "Ideas",
        "cluster": "Clustering",
        "vote": "Voting",
        "results": "Results",
        "untitled": "(untitled)",
        "photo": "Photo",
        "voice": "Voice note",
        "machine": "machine",
        # branch results: sentences with numbers people can check
        "voted": "{n} voted|{n} voted",
        "group_size": "{g}: {people}, {voted}",
        "chosen_by": "{g}: chosen by {n} of {m}",
        "against": "{n} of {m} disagrees|{n} of {m} disagree",
        "silent": "{g}: no votes from this group",
        "silent_short": "no votes from this group",
        "consensus_nobody": "no group has voted",
        "consensus_zero": "not chosen in every group that voted",
        "consensus_one": "chosen by {p} of the voters of the one group that voted",
        "consensus_many": (
            "chosen by at least {p} of the voters in each of the {n} groups that voted"
        ),
        "divisive_help": (
            "An idea divides only on evidence: in one group at least 2 people, half or more of"
            " its voters, chose it, while in another group at least 2 people, half or more of its"
            " voters, marked “I disagree”. Not choosing an idea is not opposing it."
        ),
        "no_marks": "“I disagree” marks were not in use, so no idea is called divisive.",
        "times_in": "Times are in the {tz} time zone.",
        "voice_for": "voice note, {s} s",
    },
    "fr": {
        "colon": " : ",
        "report": "Rapport",
        "date": "Date",
        "participants": "Participant·es par groupe",
        "no_group": "sans groupe",
        "people": "{n} personne|{n} personnes",
        "clusters": "Groupes d'idées, ceux choisis dans tous les groupes d'abord",
        "unclustered": "Idées hors des groupes d'idées",
        "ideas": "Idées : points et soutien par groupe",
        "dots": "{n} point|{n} points",
        "score_help": (
            "« Choisie par au moins X % » : dans chaque groupe qui a voté, au moins cette part"
            " de ses votant·es a donné un point à l'idée. Un groupe sans vote n'est pas compté."
        ),
        "by": "par {name}",
        "backed": "Idées que tous les groupes soutiennent",
        "divisive": "Idées qui divisent",
        "none": "Aucune.",
        "balance": "Participation par groupe",
        "notes": "{n} idée|{n} idées",
        "idle": "{n} sans contribution|{n} sans contribution",
        "balance_row": "{g} : {size}, {notes}, {votes} ; {idle}",
        "timeline": "Déroulé des phases",
        "ideate": "Idées",
        "cluster": "Regroupement",
        "vote": "Vote",
        "results": "Résultats",
        "untitled": "(sans titre)",
        "photo": "Photo",
        "voice": "Note vocale",
        "machine": "automatique",
        # branch results: sentences with numbers people can check
        "voted": "{n} a voté|{n} ont voté",
        "group_size": "{g} : {people}, {voted}",
        "chosen_by": "{g} : choisie par {n} sur {m}",
        "against": "{n} sur {m} n'est pas d'accord|{n} sur {m} ne sont pas d'accord",
        "silent": "{g} : aucun vote de ce groupe",
        "silent_short": "aucun vote de ce groupe",
        "consensus_nobody": "aucun groupe n'a voté",
        "consensus_zero": "pas choisie dans tous les groupes qui ont voté",
        "consensus_one": "choisie par {p} des votant·es du seul groupe qui a voté",
        "consensus_many": (
            "choisie par au moins {p} des votant·es dans chacun des {n} groupes qui ont voté"
        ),
        "divisive_help": (
            "Une idée divise seulement sur des preuves : dans un groupe au moins 2 personnes, la"
            " moitié ou plus de ses votant·es, l'ont choisie, et dans un autre groupe au moins 2"
            " personnes, la moitié ou plus de ses votant·es, ont marqué « pas d'accord »."
            " Ne pas choisir une idée n'est pas s'y opposer."
        ),
        "no_marks": (
            "Les marques « pas d'accord » n'étaient pas utilisées : aucune idée n'est dite"
            " qui divise."
        ),
        "times_in": "Heures dans le fuseau horaire {tz}.",
        "voice_for": "note vocale, {s} s",
    },
    "nl": {
        "colon": ": ",
        "report": "Verslag",
        "date": "Datum",
        "participants": "Deelnemers per groep",
        "no_group": "geen groep",
        "people": "{n} persoon|{n} personen",
        "clusters": "Clusters, eerst die in elke groep gekozen zijn",
        "unclustered": "Ideeën buiten clusters",
        "ideas": "Ideeën: stippen en steun per groep",
        "dots": "{n} stip|{n} stippen",
        "score_help": (
            "„Gekozen door minstens X %”: in elke groep die stemde, gaf minstens dat deel van de"
            " stemmers het idee een stip. Een groep zonder stemmen telt niet mee."
        ),
        "by": "door {name}",
        "backed": "Ideeën die elke groep steunt",
        "divisive": "Verdeelde ideeën",
        "none": "Geen.",
        "balance": "Deelname per groep",
        "notes": "{n} notitie|{n} notities",
        "idle": "{n} droeg niet bij|{n} droegen niet bij",
        "balance_row": "{g}: {size}, {notes}, {votes}; {idle}",
        "timeline": "Verloop van de fasen",
        "ideate": "Ideeën",
        "cluster": "Clusteren",
        "vote": "Stemmen",
        "results": "Resultaten",
        "untitled": "(zonder titel)",
        "photo": "Foto",
        "voice": "Spraakbericht",
        "machine": "machine",
        # branch results: sentences with numbers people can check
        "voted": "{n} stemde|{n} stemden",
        "group_size": "{g}: {people}, {voted}",
        "chosen_by": "{g}: gekozen door {n} van {m}",
        "against": "{n} van {m} is het oneens|{n} van {m} zijn het oneens",
        "silent": "{g}: geen stemmen uit deze groep",
        "silent_short": "geen stemmen uit deze groep",
        "consensus_nobody": "nog geen enkele groep heeft gestemd",
        "consensus_zero": "niet gekozen in elke groep die stemde",
        "consensus_one": "gekozen door {p} van de stemmers in de enige groep die stemde",
        "consensus_many": (
            "gekozen door minstens {p} van de stemmers in elk van de {n} groepen die stemden"
        ),
        "divisive_help": (
            "Een idee verdeelt alleen op bewijs: in een groep kozen minstens 2 mensen, de helft of"
            " meer van de stemmers, het idee, terwijl in een andere groep minstens 2 mensen, de"
            " helft of meer van de stemmers, „niet akkoord” aanduidden. Een idee niet kiezen is"
            " er niet tegen zijn."
        ),
        "no_marks": "„Niet akkoord”-markeringen waren niet in gebruik: geen idee heet verdeeld.",
        "times_in": "Tijden in de tijdzone {tz}.",
        "voice_for": "spraakbericht, {s} s",
    },
}

CSV_HEADERS: dict[str, dict[str, str]] = {
    # English keeps the original machine-friendly headers (and `,`): existing scripts read them.
    "en": {
        "rank": "rank",
        "note_id": "note_id",
        "text": "text",
        "cluster": "cluster",
        "total": "total_dots",
        "consensus": "consensus",
        "divisive": "divisive",
        "dots": "dots:{g}",
        "share": "share:{g}",
        "lang": "language",
        "text_in": "text:{lang}",
        "machine": "machine_translated",
        "yes": "yes",
        "no": "no",
        # branch results
        "type": "type",
        "kinds": "text|photo|voice",
        "support": "in_words",
        "voters": "voters:{g}",
        "against_g": "against:{g}",
        "against": "against_marks",
        "people_g": "people:{g}",
        "group_voters_g": "group_voters:{g}",
    },
    "fr": {
        "rank": "rang",
        "note_id": "id de l'idée",
        "text": "texte",
        "cluster": "groupe d'idées",
        "total": "points",
        "consensus": "consensus",
        "divisive": "divise",
        "dots": "points : {g}",
        "share": "soutien : {g}",
        "lang": "langue",
        "text_in": "texte : {lang}",
        "machine": "traduction automatique",
        "yes": "oui",
        "no": "non",
        # branch results
        "type": "type",
        "kinds": "texte|photo|note vocale",
        "support": "en mots",
        "voters": "votant·es pour : {g}",
        "against_g": "pas d'accord : {g}",
        "against": "marques pas d'accord",
        "people_g": "personnes : {g}",
        "group_voters_g": "votant·es du groupe : {g}",
    },
    "nl": {
        "rank": "rang",
        "note_id": "id van het idee",
        "text": "tekst",
        "cluster": "cluster",
        "total": "stippen",
        "consensus": "consensus",
        "divisive": "verdeeld",
        "dots": "stippen: {g}",
        "share": "steun: {g}",
        "lang": "taal",
        "text_in": "tekst: {lang}",
        "machine": "machinevertaling",
        "yes": "ja",
        "no": "nee",
        # branch results
        "type": "soort",
        "kinds": "tekst|foto|spraakbericht",
        "support": "in woorden",
        "voters": "stemmers voor: {g}",
        "against_g": "niet akkoord: {g}",
        "against": "niet-akkoordmarkeringen",
        "people_g": "personen: {g}",
        "group_voters_g": "stemmers van de groep: {g}",
    },
}


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    group: str | None


@dataclass(frozen=True, slots=True)
class ReportInput:
    title: str
    created_at: float  # unix seconds
    anonymous: bool
    people: Sequence[Person]
    board: Mapping[str, Any]  # schema.Board.to_json()
    authors: Mapping[str, str]  # note id -> actor
    votes: Sequence[tuple[str, str, int]]  # (participant, note, count)
    results: Mapping[str, Any]  # compute_results()
    phases: Sequence[tuple[float, str]] = field(default_factory=list)  # (unix seconds, phase)
    board_id: str = ""  # for the paths of photos (`/api/boards/{id}/media/{media}`)
    # The media ids that exist on this board: only those are linked (None: not checked).
    media_ids: frozenset[str] | None = None
    languages: Sequence[str] = LANGS  # the board's languages: translations shown in these
    time_zone: str = DEFAULT_TIME_ZONE  # the board's: dates and times are written in it
    voice_seconds: Mapping[str, float] = field(default_factory=dict)  # note id -> length
    # The board's `group_labels` ({group: {lang: label}}): a group reads as its label in the
    # report's language where the facilitator gave one.
    group_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # media id -> absolute link that opens that picture alone (made by the server, which signs it)
    media_urls: Mapping[str, str] = field(default_factory=dict)


def plural_with(t: Mapping[str, str], key: str, n: int, **more: Any) -> str:
    """`plural`, with more fields to fill than `{n}`."""
    one, _, other = t[key].partition("|")
    singular = n == 1 or (n == 0 and t is STRINGS["fr"])
    return (one if singular else other).format(n=n, **more)


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
        return t["consensus_one"].format(p=_pct(consensus, lang))
    return t["consensus_many"].format(p=_pct(consensus, lang), n=voting)


def plural(t: Mapping[str, str], key: str, n: int) -> str:
    """`key` holds "one|other"; French counts 0 as singular, as Intl.PluralRules("fr") does."""
    one, _, other = t[key].partition("|")
    singular = n == 1 or (n == 0 and t is STRINGS["fr"])
    return (one if singular else other).format(n=n)


def pick_lang(value: str | None) -> str:
    return value if value in LANGS else "en"


def _pct(value: float, lang: str) -> str:
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


def _author(data: ReportInput, note_id: str) -> str | None:
    if data.anonymous:
        return None
    actor = data.authors.get(note_id)
    for person in data.people:
        if person.id == actor:
            return person.name or None
    return None


def time_zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The board's zone; an unknown name (a machine without that zone) falls back to UTC."""
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return zoneinfo.ZoneInfo("UTC")


def _local(ts: float, zone: zoneinfo.ZoneInfo, pattern: str) -> str:
    return datetime.fromtimestamp(ts, zone).strftime(pattern)


def _md_text(text: str) -> str:
    # One line per idea (no newline can start a heading); characters that would start Markdown
    # structure (emphasis, links, images, autolinks, raw HTML, headings, tables) are escaped;
    # control characters are dropped.
    flat = " ".join(_printable(text).split())
    for ch in "\\`*_[]<>#|":
        flat = flat.replace(ch, "\\" + ch)
    return flat


md_text = _md_text  # (public: other report sections, e.g. crdt/glossary_report.py, escape alike)

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _printable(text: str) -> str:
    """Without the characters XML 1.0 forbids (and that no report should print): C0 controls
    other than tab/newline/CR, DEL, lone surrogates, U+FFFE/U+FFFF."""
    return _CONTROL.sub("", text)


def _xml(text: str) -> str:
    """Text for an SVG text node or attribute: well-formed XML whatever the note holds."""
    return escape(_printable(text), {'"': "&quot;"})


def translations_of(
    note: Mapping[str, Any], languages: Sequence[str]
) -> list[tuple[str, str, bool]]:
    """(lang, text, machine?) of a note in the board's other languages, in the board's order."""
    entries: Mapping[str, Any] = note.get("translations") or {}
    out = []
    for lang in languages:
        entry = entries.get(lang)
        if lang == note.get("lang") or not isinstance(entry, Mapping) or not entry.get("text"):
            continue
        out.append((lang, str(entry["text"]), bool(entry.get("machine"))))
    return out


def _translation_lines(data: ReportInput, note_id: str, indent: str, lang: str) -> list[str]:
    """The idea in the board's other languages: `[nl] …`, with `(machine)` for machine ones."""
    note = data.board.get("notes", {}).get(note_id, {})
    machine = f" ({STRINGS[lang]['machine']})"
    return [
        f"{indent}- [{_md_text(code)}] {_md_text(text)}{machine if by_machine else ''}"
        for code, text, by_machine in translations_of(note, data.languages)
    ]


def _idea_text(data: ReportInput, note: Mapping[str, Any], t: Mapping[str, str]) -> str:
    """A text note's text; a photo or voice note says what it is, then its caption."""
    board_note = data.board.get("notes", {}).get(note["note_id"], {})
    kind = board_note.get("kind")
    text = _md_text(note["text"])
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
    return [f"{indent}![{_md_text(note['text'])}]({path.replace(')', '%29')})"]


MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # (crdt/rules.py: what a note's media may be)


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
        return _md_text(group_label(group, lang, data.group_labels))

    out: list[str] = [f"# {t['report']}{c}{_md_text(data.title) or t['untitled']}", ""]
    out += [f"{t['date']}{c}{_local(data.created_at, zone, '%Y-%m-%d')}", ""]

    out += [f"## {t['participants']}", ""]
    for group, summary in groups.items():
        out.append(f"- {group_size(t, name(group), summary)}")
    if not groups:
        out.append(t["none"])
    out.append("")

    def idea_line(note: Mapping[str, Any], picture: bool = False) -> str:
        line = f"- {_idea_text(data, note, t)} ({plural(t, 'dots', note['total'])}"
        author = _author(data, note["note_id"])
        line += f", {t['by'].format(name=_md_text(author))})" if author else ")"
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
        title = _md_text(cluster_title(cluster["title"], board_cluster, lang)) or t["untitled"]
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
        out.append(f"- {_local(ts, zone, '%H:%M')} {t.get(phase, _md_text(phase))}")
    if not data.phases:
        out.append(t["none"])
    out += ["", t["times_in"].format(tz=_md_text(str(zone))), ""]
    return "\n".join(out)


# ---------------------------------------------------------------------- CSV

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def results_csv(
    results: Mapping[str, Any],
    groups: Sequence[str],
    lang: str = "en",
    notes: Mapping[str, Any] | None = None,
    languages: Sequence[str] = (),
    voice_seconds: Mapping[str, float] | None = None,
    group_labels: Mapping[str, Mapping[str, str]] | None = None,
    clusters: Mapping[str, Any] | None = None,
) -> str:
    """One row per note, ranked as in the results: type, text, cluster, dots, the support in plain
    words, and per group its size and voters (the same on every row: what "of m" counts), then on
    the idea its dots, voters for, "I disagree" marks (when in use) and share.

    `type` is text, photo or voice; a photo or voice note without a caption gets a text that says
    what it is ("photo", "voice note, 12 s" with `voice_seconds`). A group with no voters has an
    empty share (not 0). With the board's `notes` and `languages`: after the text, the note's
    language, one column per board language (the original in its own language, a translation in
    the others, empty if none) and the languages machine-translated. en: `,` and a decimal point;
    fr/nl: `;` and a decimal comma, headers in that language (what a Belgian Excel opens as
    columns). Text cells are neutralised against formula injection. Groups read as their
    `group_labels` in `lang` (headers and words), clusters as their title in `lang` (the board's
    `clusters`' `titles`) where one was written."""
    lang = pick_lang(lang)
    h = CSV_HEADERS[lang]
    t = STRINGS[lang]
    comma = lang != "en"
    marks = bool(results.get("disagree_marks"))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if comma else ",", lineterminator="\r\n")
    per_lang = list(languages) if notes is not None else []
    kind_names = dict(zip(("text", "photo", "voice"), h["kinds"].split("|"), strict=True))

    def number(value: float | None) -> str:
        if value is None:
            return ""
        text = f"{value:.3f}"
        return text.replace(".", ",") if comma else text

    def in_languages(note_id: str, text: str) -> list[str]:
        if not per_lang:
            return []
        note: Mapping[str, Any] = (notes or {}).get(note_id, {})
        found = {code: (tr, machine) for code, tr, machine in translations_of(note, per_lang)}
        cells = [note.get("lang") or ""]
        for code in per_lang:
            cells.append(text if code == note.get("lang") else found.get(code, ("", False))[0])
        cells.append(" ".join(code for code, (_t, machine) in found.items() if machine))
        return [neutralise(str(cell)) for cell in cells]

    def kind_and_text(note_id: str, text: str) -> tuple[str, str]:
        kind = (notes or {}).get(note_id, {}).get("kind")
        kind = kind if kind in ("photo", "voice") else "text"
        if text or kind == "text":
            return kind, text
        seconds = (voice_seconds or {}).get(note_id)
        if kind == "voice" and seconds is not None:
            return kind, t["voice_for"].format(s=round(seconds))
        return kind, t[kind].lower()

    cluster_titles = {
        c["cluster_id"]: cluster_title(c["title"], (clusters or {}).get(c["cluster_id"]), lang)
        for c in results.get("clusters", [])
    }
    summaries: Mapping[str, Mapping[str, int]] = results.get("groups", {})
    names = list(summaries) or list(groups)
    words = {g: group_label(g, lang, group_labels) for g in names}
    labels = [words[g] for g in names]
    language_headers = (
        [h["lang"], *(h["text_in"].format(lang=code) for code in per_lang), h["machine"]]
        if per_lang
        else []
    )

    def per_group(key: str) -> list[str]:
        return [neutralise(h[key].format(g=label)) for label in labels]

    writer.writerow(
        [
            *(h["rank"], h["note_id"], h["type"], h["text"], *language_headers, h["cluster"]),
            *(h["total"], *([h["against"]] if marks else []), h["consensus"], h["divisive"]),
            *(h["support"], *per_group("people_g"), *per_group("group_voters_g")),
            *(*per_group("dots"), *per_group("voters")),
            *(per_group("against_g") if marks else []),
            *per_group("share"),
        ]
    )
    for rank, note in enumerate(results.get("notes", []), start=1):
        by_group = note.get("by_group", {})
        kind, text = kind_and_text(note["note_id"], note["text"])
        tallies = [by_group.get(g, {}) for g in names]
        writer.writerow(
            [
                rank,
                neutralise(note["note_id"]),
                kind_names[kind],
                neutralise(text),
                *in_languages(note["note_id"], note["text"]),
                neutralise(cluster_titles.get(note.get("cluster"), "")),
                note["total"],
                *([note.get("against", 0)] if marks else []),
                number(note["consensus"]),
                h["yes"] if note["divisive"] else h["no"],
                neutralise(support_summary(t, note, summaries, marks, words)),
            ]
            + [summaries.get(g, {}).get("participants", 0) for g in names]
            + [summaries.get(g, {}).get("voters", 0) for g in names]
            + [tally.get("dots", 0) for tally in tallies]
            + [tally.get("voters", 0) for tally in tallies]
            + ([tally.get("against", 0) for tally in tallies] if marks else [])
            + [number(tally.get("share")) for tally in tallies]
        )
    return out.getvalue()


# ---------------------------------------------------------------------- SVG

NOTE_W, NOTE_H = 200, 120
# The client's note colours (static/style.css --note-*); anything else falls back to yellow.
NOTE_COLORS = {
    "yellow": "#fff3a3",
    "pink": "#ffd6e7",
    "blue": "#cfe6ff",
    "green": "#d4f5d0",
    "orange": "#ffe0b8",
    "purple": "#e8dcff",
}
PAD = 40
LINE_CHARS = 24
MAX_LINES = 5


def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > LINE_CHARS:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:LINE_CHARS])
            word = word[LINE_CHARS:]
        if current and len(current) + 1 + len(word) > LINE_CHARS:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: LINE_CHARS - 1] + "…"
    return lines


def _clip(text: str, chars: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1] + "…"


def render_svg(
    board: Mapping[str, Any],
    results: Mapping[str, Any],
    pictures: Mapping[str, str] | None = None,
    languages: Sequence[str] = LANGS,
    lang: str | None = None,
) -> str:
    """The board as a picture: clusters as titled frames around their notes (titled in `lang`
    where a title in it was written; no `lang`: the main titles), notes with their
    text and, below it, their translations in the board's other languages (one line each, smaller,
    `[nl] …`, `*` after a machine one); a photo note shows its picture (`pictures`: media id ->
    data: URI) above its caption, a voice note "♪ voice note, 12 s" above its caption; dots as a
    count on each note. Coordinates are the board's own."""
    notes: dict[str, Any] = dict(board.get("notes", {}))
    clusters: dict[str, Any] = dict(board.get("clusters", {}))
    pictures = pictures or {}
    words = STRINGS[lang if lang in STRINGS else "en"]
    totals = {n["note_id"]: n["total"] for n in results.get("notes", [])}
    xs = [float(n["x"]) for n in notes.values()] + [float(c["x"]) for c in clusters.values()]
    ys = [float(n["y"]) for n in notes.values()] + [float(c["y"]) for c in clusters.values()]
    left, top = (min(xs) - PAD, min(ys) - PAD - 40) if xs else (0.0, 0.0)
    right = (max(xs) + NOTE_W + PAD) if xs else 400.0
    bottom = (max(ys) + NOTE_H + PAD) if ys else 200.0
    width, height = right - left, bottom - top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:g} {top:g} {width:g} {height:g}"'
        f' width="{width:g}" height="{height:g}" font-family="system-ui, sans-serif">',
        f'<rect x="{left:g}" y="{top:g}" width="{width:g}" height="{height:g}" fill="#f7f7f5"/>',
    ]
    for cid, cluster in sorted(clusters.items()):
        members = [n for n in notes.values() if n.get("cluster") == cid]
        if members:
            x0 = min(float(n["x"]) for n in members) - 16
            y0 = min(float(n["y"]) for n in members) - 48
            x1 = max(float(n["x"]) for n in members) + NOTE_W + 16
            y1 = max(float(n["y"]) for n in members) + NOTE_H + 16
        else:
            x0, y0 = float(cluster["x"]), float(cluster["y"])
            x1, y1 = x0 + NOTE_W + 32, y0 + 64
        color = "#1d3557"
        parts.append(
            f'<g class="cluster"><rect x="{x0:g}" y="{y0:g}" width="{x1 - x0:g}"'
            f' height="{y1 - y0:g}" rx="14" fill="none" stroke="{color}" stroke-width="3"/>'
            f'<text x="{x0 + 14:g}" y="{y0 + 30:g}" font-size="20" font-weight="700"'
            f' fill="#222">{_xml(cluster_title(str(cluster.get("title") or ""), cluster, lang))}'
            "</text></g>"
        )
    for nid, note in sorted(notes.items(), key=lambda kv: (kv[1]["y"], kv[1]["x"], kv[0])):
        x, y = float(note["x"]), float(note["y"])
        color = NOTE_COLORS.get(str(note.get("color")), NOTE_COLORS["yellow"])
        kind = note.get("kind")
        picture = pictures.get(str(note.get("media"))) if kind == "photo" else None
        others = translations_of(note, languages)
        text = str(note.get("text", ""))
        heading = ""  # a voice note's first line: what it is
        if kind == "voice":
            # Said in words, not only a ♪: what it is and how long (its caption after it).
            seconds = note.get("duration")
            label = (
                words["voice_for"].format(s=max(1, round(seconds)))
                if isinstance(seconds, int | float) and seconds > 0
                else words["voice"]
            )
            heading = f"♪ {label}"
        body = ""
        if picture is not None:
            # The photo fills the top of the note; the caption (then translations) below it.
            body = (
                f'<image x="{x + 8:g}" y="{y + 8:g}" width="{NOTE_W - 16}" height="64"'
                f' preserveAspectRatio="xMidYMid meet" href="{_xml(picture)}"/>'
            )
            wrapped = [_clip(text, LINE_CHARS)] if text else []  # (font 14: fits the card)
            first_y, font = y + 90, 14
            others = others[:1]
        else:
            wrapped = (([heading] if heading else []) + (_wrap(text) if text else []))[:MAX_LINES]
            if others:
                wrapped = wrapped[: max(1, MAX_LINES - len(others) - 1)]
            first_y, font = y + 28, 16
        lines = "".join(
            f'<tspan x="{x + 12:g}" dy="{20 if i else 0}">{_xml(line)}</tspan>'
            for i, line in enumerate(wrapped)
        )
        if wrapped:
            body += (
                f'<text x="{x + 12:g}" y="{first_y:g}" font-size="{font}" fill="#111">'
                f"{lines}</text>"
            )
        line_y = first_y + 20 * (len(wrapped) - 1) + 18
        for code, translated, machine in others[:2]:
            mark = "*" if machine else ""
            body += (
                f'<text class="translation" x="{x + 12:g}" y="{line_y:g}" font-size="12"'
                f' font-style="italic" fill="#333">{_xml(f"[{code}]{mark} ")}'
                f"{_xml(_clip(translated, 30))}</text>"
            )
            line_y += 15
        dots = totals.get(nid, 0)
        badge = (
            f'<circle cx="{x + NOTE_W - 20:g}" cy="{y + NOTE_H - 20:g}" r="14" fill="#d62f4b"/>'
            f'<text x="{x + NOTE_W - 20:g}" y="{y + NOTE_H - 15:g}" font-size="14"'
            f' text-anchor="middle" fill="#fff" font-weight="700">{dots}</text>'
            if dots
            else ""
        )
        parts.append(
            f'<g class="note"><rect x="{x:g}" y="{y:g}" width="{NOTE_W}" height="{NOTE_H}"'
            f' rx="8" fill="{color}" stroke="#0002"/>{body}{badge}</g>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
