"""The take-home report of a board: Markdown, SVG picture and a spreadsheet-safe CSV, in FR/NL/EN.

Pure: standard library only. The server gathers a `ReportInput` (the board's JSON projection, its
participants, authors, votes, results and phase changes) and these functions render it.

Definitions used by the report:
- "backed by every group": consensus >= 1/2, i.e. in every group that voted at least half of its
  voters put a dot on the idea (and at least one group voted);
- "divisive": the results' own flag (one group's share is more than 0.5 above another's);
- participation per group: notes posted and dots cast by its members against its size, and how
  many members did neither (a count, never names).
Author names appear only on boards that are not anonymous. Times are UTC.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

LANGS = ("fr", "nl", "en")
BACKED_BY_ALL = 0.5

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
        "consensus": "chosen by at least {p} of the voters in every group",
        "consensus_none": "not chosen in every group",
        "score_help": (
            "“Chosen by at least X % in every group”:"
            " in each group that voted, at least that share of its voters gave the idea a dot."
        ),
        "support": "{g}: {d}, {p} of its voters",
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
        "times_utc": "Times are UTC.",
        "photo": "Photo",
        "voice": "Voice note",
        "machine": "machine",
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
        "consensus": "choisie par au moins {p} des votant·es de chaque groupe",
        "consensus_none": "pas choisie dans tous les groupes",
        "score_help": (
            "« Choisie par au moins X % de chaque groupe » : dans chaque groupe qui a voté,"
            " au moins cette part de ses votant·es a donné un point à l'idée."
        ),
        "support": "{g} : {d}, {p} de ses votant·es",
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
        "times_utc": "Heures en UTC.",
        "photo": "Photo",
        "voice": "Note vocale",
        "machine": "automatique",
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
        "consensus": "gekozen door minstens {p} van de stemmers van elke groep",
        "consensus_none": "niet in elke groep gekozen",
        "score_help": (
            "„Gekozen door minstens X % van elke groep”:"
            " in elke groep die stemde, gaf minstens dat deel van de stemmers het idee een stip."
        ),
        "support": "{g}: {d}, {p} van de stemmers",
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
        "times_utc": "Tijden in UTC.",
        "photo": "Foto",
        "voice": "Spraakbericht",
        "machine": "machine",
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
    languages: Sequence[str] = LANGS  # the board's languages: translations shown in these
    # media id -> absolute link that opens that picture alone (made by the server, which signs it)
    media_urls: Mapping[str, str] = field(default_factory=dict)


def plural(t: Mapping[str, str], key: str, n: int) -> str:
    """`key` holds "one|other"; French counts 0 as singular, as Intl.PluralRules("fr") does."""
    one, _, other = t[key].partition("|")
    singular = n == 1 or (n == 0 and t is STRINGS["fr"])
    return (one if singular else other).format(n=n)


def pick_lang(value: str | None) -> str:
    return value if value in LANGS else "en"


def _score(t: dict[str, str], consensus: float, lang: str) -> str:
    """Plain words, not "consensus 40 %": the share of voters who chose it in its weakest group."""
    if consensus <= 0:
        return t["consensus_none"]
    return t["consensus"].format(p=_pct(consensus, lang))


def _pct(value: float, lang: str) -> str:
    return f"{round(value * 100)}%" if lang == "en" else f"{round(value * 100)} %"


def _group_label(group: str, t: Mapping[str, str]) -> str:
    return group if group else t["no_group"]


def _author(data: ReportInput, note_id: str) -> str | None:
    if data.anonymous:
        return None
    actor = data.authors.get(note_id)
    for person in data.people:
        if person.id == actor:
            return person.name or None
    return None


def _clock(ts: float) -> str:
    return time.strftime("%H:%M", time.gmtime(ts))


def _md_text(text: str) -> str:
    # One line per idea; characters that would start Markdown structure are escaped.
    flat = " ".join(text.split())
    for ch in "\\`*_[]<>#|":
        flat = flat.replace(ch, "\\" + ch)
    return flat


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
    kind = data.board.get("notes", {}).get(note["note_id"], {}).get("kind")
    text = _md_text(note["text"])
    if kind in ("photo", "voice"):
        label = t[kind]
        return f"{label}{t['colon']}{text}" if text else label
    return text


def _picture_line(data: ReportInput, note: Mapping[str, Any], indent: str) -> list[str]:
    """`![caption](link)` under a photo: the printable report shows it. The link is the absolute one
    the server signed for that picture alone (`media_urls`), else the board-relative path, which
    only a token of the board opens."""
    board_note = data.board.get("notes", {}).get(note["note_id"], {})
    media = board_note.get("media")
    if board_note.get("kind") != "photo" or not media or not data.board_id:
        return []
    path = data.media_urls.get(media) or f"/api/boards/{data.board_id}/media/{media}"
    return [f"{indent}![{_md_text(note['text'])}]({path.replace(')', '%29')})"]


def render_markdown(data: ReportInput, lang: str) -> str:
    lang = pick_lang(lang)
    t = STRINGS[lang]
    results = data.results
    groups: dict[str, Any] = dict(results.get("groups", {}))
    notes: list[dict[str, Any]] = list(results.get("notes", []))
    c = t["colon"]
    out: list[str] = [f"# {t['report']}{c}{_md_text(data.title) or t['untitled']}", ""]
    day = time.strftime("%Y-%m-%d", time.gmtime(data.created_at))
    out += [f"{t['date']}{c}{day}", ""]

    out += [f"## {t['participants']}", ""]
    for group, summary in groups.items():
        label = _md_text(_group_label(group, t))
        out.append(f"- {label}{c}{plural(t, 'people', summary['participants'])}")
    if not groups:
        out.append(t["none"])
    out.append("")

    def idea_line(note: Mapping[str, Any], picture: bool = False) -> str:
        line = f"- {_idea_text(data, note, t)} ({plural(t, 'dots', note['total'])}"
        author = _author(data, note["note_id"])
        line += f", {t['by'].format(name=_md_text(author))})" if author else ")"
        more = _translation_lines(data, note["note_id"], "  ", lang)
        return "\n".join([line, *more, *(_picture_line(data, note, "  ") if picture else [])])

    out += [f"## {t['clusters']}", "", t["score_help"], ""]
    clusters: list[dict[str, Any]] = list(results.get("clusters", []))
    for cluster in clusters:
        title = _md_text(cluster["title"]) or t["untitled"]
        score = _score(t, cluster["consensus"], lang)
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
        score = _score(t, note["consensus"], lang)
        head = f"{rank}. {_idea_text(data, note, t)} — {plural(t, 'dots', note['total'])}, {score}"
        out.append(head)
        out += _translation_lines(data, note["note_id"], "   ", lang)
        for group, tally in note.get("by_group", {}).items():
            label = _md_text(_group_label(group, t))
            dots_ = plural(t, "dots", tally["dots"])
            support = t["support"].format(g=label, d=dots_, p=_pct(tally["share"], lang))
            out.append(f"   - {support}")
    if not notes:
        out.append(t["none"])
    out.append("")

    voted = any(s.get("voters", 0) for s in groups.values())
    backed = [n for n in notes if voted and n["consensus"] >= BACKED_BY_ALL]
    out += [f"## {t['backed']}", ""] + ([idea_line(n) for n in backed] or [t["none"]]) + [""]
    divisive = [n for n in notes if n.get("divisive")]
    out += [f"## {t['divisive']}", ""] + ([idea_line(n) for n in divisive] or [t["none"]])
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
            g=_md_text(_group_label(group, t)),
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
        out.append(f"- {_clock(ts)} {t.get(phase, _md_text(phase))}")
    if not data.phases:
        out.append(t["none"])
    out += ["", t["times_utc"], ""]
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
) -> str:
    """One row per note, ranked as in the results: text, cluster, dots, per-group support.

    With the board's `notes` and `languages`: after the text, the note's language, one column per
    board language (the original in its own language, a translation in the others, empty if none)
    and the languages machine-translated. en: `,` and a decimal point; fr/nl: `;` and a decimal
    comma, headers in that language (what a Belgian Excel opens as columns). Text cells are
    neutralised against formula injection."""
    lang = pick_lang(lang)
    h = CSV_HEADERS[lang]
    comma = lang != "en"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if comma else ",", lineterminator="\r\n")
    per_lang = list(languages) if notes is not None else []

    def number(value: float) -> str:
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

    cluster_titles = {c["cluster_id"]: c["title"] for c in results.get("clusters", [])}
    names = list(groups) or list(results.get("groups", {}))
    language_headers = (
        [h["lang"], *(h["text_in"].format(lang=code) for code in per_lang), h["machine"]]
        if per_lang
        else []
    )
    writer.writerow(
        [h["rank"], h["note_id"], h["text"], *language_headers, h["cluster"], h["total"]]
        + [h["consensus"], h["divisive"]]
        + [neutralise(h["dots"].format(g=g)) for g in names]
        + [neutralise(h["share"].format(g=g)) for g in names]
    )
    for rank, note in enumerate(results.get("notes", []), start=1):
        by_group = note.get("by_group", {})
        writer.writerow(
            [
                rank,
                neutralise(note["note_id"]),
                neutralise(note["text"]),
                *in_languages(note["note_id"], note["text"]),
                neutralise(cluster_titles.get(note.get("cluster"), "")),
                note["total"],
                number(note["consensus"]),
                h["yes"] if note["divisive"] else h["no"],
            ]
            + [by_group.get(g, {}).get("dots", 0) for g in names]
            + [number(by_group.get(g, {}).get("share", 0.0)) for g in names]
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
) -> str:
    """The board as a picture: clusters as titled frames around their notes, notes with their
    text and, below it, their translations in the board's other languages (one line each, smaller,
    `[nl] …`, `*` after a machine one); a photo note shows its picture (`pictures`: media id ->
    data: URI) above its caption, a voice note a ♪ before its caption; dots as a count on each
    note. Coordinates are the board's own."""
    notes: dict[str, Any] = dict(board.get("notes", {}))
    clusters: dict[str, Any] = dict(board.get("clusters", {}))
    pictures = pictures or {}
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
            f' fill="#222">{escape(cluster.get("title") or "")}</text></g>'
        )
    for nid, note in sorted(notes.items(), key=lambda kv: (kv[1]["y"], kv[1]["x"], kv[0])):
        x, y = float(note["x"]), float(note["y"])
        color = NOTE_COLORS.get(str(note.get("color")), NOTE_COLORS["yellow"])
        kind = note.get("kind")
        picture = pictures.get(str(note.get("media"))) if kind == "photo" else None
        others = translations_of(note, languages)
        text = str(note.get("text", ""))
        if kind == "voice":
            text = f"♪ {text}".strip()
        body = ""
        if picture is not None:
            # The photo fills the top of the note; the caption (then translations) below it.
            body = (
                f'<image x="{x + 8:g}" y="{y + 8:g}" width="{NOTE_W - 16}" height="64"'
                f' preserveAspectRatio="xMidYMid meet" href="{escape(picture)}"/>'
            )
            wrapped = [_clip(text, LINE_CHARS + 4)] if text else []
            first_y, font = y + 90, 14
            others = others[:1]
        else:
            wrapped = _wrap(text)
            if others:
                wrapped = wrapped[: max(1, MAX_LINES - len(others) - 1)]
            first_y, font = y + 28, 16
        lines = "".join(
            f'<tspan x="{x + 12:g}" dy="{20 if i else 0}">{escape(line)}</tspan>'
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
                f' font-style="italic" fill="#333">{escape(f"[{code}]{mark} ")}'
                f"{escape(_clip(translated, 30))}</text>"
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
